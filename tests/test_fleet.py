"""The fleet over a real (embedded, loopback) MQTT broker: transport, storage, alerts."""

import json
import time

import numpy as np
import pytest

from scaledown.operate import fleet


@pytest.fixture(scope="module")
def broker():
    with fleet.EmbeddedBroker() as b:
        yield b


def test_broker_listens_on_loopback_only(broker):
    assert broker.url.startswith("mqtt://127.0.0.1:")
    assert broker.running


def test_parse_url_rejects_other_schemes():
    assert fleet.parse_url("mqtt://example.org:1884") == ("example.org", 1884)
    with pytest.raises(ValueError, match="url="):
        fleet.parse_url("http://example.org")


def test_topic_layout_round_trips():
    topic = fleet.topics.device_topic("gw0", "d1", "telemetry")
    assert topic == "scaledown/fleet/gw0/d1/telemetry"
    assert fleet.topics.parse(topic) == {"tier": "fleet", "gateway": "gw0", "device": "d1", "kind": "telemetry"}
    with pytest.raises(ValueError, match="device="):
        fleet.topics.device_topic("gw0", "a/b", "telemetry")


def test_fifty_devices_stream_at_qos1_and_every_message_is_stored(broker):
    gateways = ("gwa", "gwb")
    with (
        fleet.Gateway(broker.url, "gwa") as gwa,
        fleet.Gateway(broker.url, "gwb") as gwb,
        fleet.Fleet(broker.url, devices_per_gateway=25, gateways=gateways) as devices,
    ):
        start = time.monotonic()
        while time.monotonic() - start < 3.0:  # three seconds of real time
            devices.step()
            time.sleep(0.05)
        devices.flush()
        assert gwa.wait_for(devices.sent // 2) and gwb.wait_for(devices.sent // 2)
        assert gwa.stored + gwb.stored == devices.sent
        assert gwa.duplicates + gwb.duplicates == 0
        assert gwa.query("SELECT COUNT(*) FROM telemetry")[0][0] == 25 * devices.steps


def _run_scenario(broker, name):
    world = fleet.SensorWorld(seed=0)
    with (
        fleet.Cloud(broker.url, f"cloud-{name}") as cloud,
        fleet.Gateway(broker.url, name, reference=world.profile()) as gw,
        fleet.Fleet(broker.url, devices_per_gateway=16, gateways=(name,), world=world, seed=1) as devices,
    ):
        devices.run(60)  # five simulated minutes of clean data
        d = devices.devices
        injected_at = devices.clock.now
        d[f"{name}-d001"].inject_drift(1.5)
        d[f"{name}-d002"].fail_sensor("stuck")
        d[f"{name}-d003"].fail_sensor("noise")
        d[f"{name}-d004"].fail_sensor("out_of_range")
        d[f"{name}-d005"].battery = 0.10
        d[f"{name}-d006"].link_up = False  # store-and-forward through a neighbour
        devices.run(60)  # five more simulated minutes
        devices.crash(f"{name}-d007")
        devices.run(20)
        devices.flush()
        assert gw.wait_for(devices.sent)
        gw.check(devices.clock.now)
        cloud.wait_for_alerts(len(gw.alerts))
        return gw, devices, injected_at, list(cloud.alerts)


@pytest.fixture(scope="module")
def scenario(broker):
    return _run_scenario(broker, "gws")


def test_drift_is_flagged_within_five_simulated_minutes(scenario):
    gw, _, injected_at, _ = scenario
    drift = [a for a in gw.alerts if a["kind"] == "drift"]
    assert [a["device"] for a in drift] == ["gws-d001"]
    assert drift[0]["t"] - injected_at <= 300


def test_failed_sensors_are_flagged_within_three_heartbeats(scenario):
    gw, devices, injected_at, _ = scenario
    sensor = {a["device"]: a for a in gw.alerts if a["kind"] == "sensor"}
    assert set(sensor) == {"gws-d002", "gws-d003", "gws-d004"}
    limit = 3 * devices.heartbeat_every * devices.step_seconds
    assert all(a["t"] - injected_at <= limit for a in sensor.values())


def test_clean_devices_raise_no_alert(scenario):
    gw, *_ = scenario
    faulty = {f"gws-d00{i}" for i in range(1, 8)}
    assert gw.alerted() <= faulty


def test_battery_offline_and_missed_heartbeats(scenario):
    gw, *_ = scenario
    assert gw.alerted("low_battery") == {"gws-d005"}
    assert gw.alerted("offline") == {"gws-d007"}
    assert gw.alerted("missed_heartbeat") == {"gws-d007"}


def test_a_device_without_a_link_is_relayed_by_a_neighbour(scenario):
    gw, devices, *_ = scenario
    carriers = gw.query(
        "SELECT DISTINCT relayed_by FROM telemetry WHERE device = 'gws-d006' AND relayed_by IS NOT NULL"
    )
    assert devices.relayed > 0 and {c for (c,) in carriers} <= {"gws-d005", "gws-d007"}
    assert "gws-d006" not in gw.alerted("missed_heartbeat")


def test_alerts_reach_the_cloud(scenario):
    gw, _, _, cloud_alerts = scenario
    assert {(a["device"], a["kind"]) for a in cloud_alerts} == {(a["device"], a["kind"]) for a in gw.alerts}


def test_malformed_telemetry_is_counted_and_dropped(broker):
    from scaledown.operate.fleet.broker import connect

    world = fleet.SensorWorld()
    with fleet.Gateway(broker.url, "gwm", reference=world.profile()) as gw:
        client = connect(broker.url, "vandal")
        topic = fleet.topics.device_topic("gwm", "d0", "telemetry")
        bad = [
            b"{not json",
            b"[1, 2]",
            json.dumps({"seq": 1, "t": 0}).encode(),
            json.dumps({"seq": 2, "t": 0, "battery": 0.5, "x": "hot", "pred": 1}).encode(),
            json.dumps({"seq": 3, "t": 0, "battery": 7, "x": [1, 2, 3], "pred": 1}).encode(),
            b"\xff\xfe",
        ]
        for payload in bad:
            client.publish(topic, payload, qos=1).wait_for_publish(5)
        good = {"seq": 9, "t": 0.0, "battery": 0.9, "x": [0.1, 0.2, 0.3], "pred": 1, "conf": 0.9}
        client.publish(topic, json.dumps(good), qos=1).wait_for_publish(5)
        assert gw.wait_for(1)
        deadline = time.monotonic() + 5
        while sum(gw.malformed.values()) < len(bad) and time.monotonic() < deadline:
            time.sleep(0.02)
        client.disconnect()
        client.loop_stop()
        assert sum(gw.malformed.values()) == len(bad)
        assert gw.stored == 1 and gw.client is not None


def test_psi_and_ks_see_a_shift_but_not_noise():
    rng = np.random.default_rng(0)
    reference = rng.standard_normal(5000)
    same, shifted = rng.standard_normal(500), rng.standard_normal(500) + 1.0
    assert fleet.psi(reference, same) < 0.1 < 0.25 < fleet.psi(reference, shifted)
    assert abs(fleet.ks_statistic(reference, shifted) - fleet.ks_test(reference, shifted)[0]) < 1e-9
    assert fleet.ks_test(reference, same)[1] > 0.01 > 1e-6 > fleet.ks_test(reference, shifted)[1]


def test_sensor_checks():
    rng = np.random.default_rng(0)
    healthy = rng.standard_normal((16, 3))
    assert fleet.check_readings(healthy, normal_jitter=np.sqrt(2)) == []
    assert fleet.check_readings(np.vstack([healthy, np.ones((5, 3))]), normal_jitter=np.sqrt(2)) == ["stuck"]
    assert "out_of_range" in fleet.check_readings(np.vstack([healthy, [[99, 0, 0]]]), (-10, 10), np.sqrt(2))
    assert fleet.check_readings(10 * healthy, (-100, 100), np.sqrt(2)) == ["noise"]


def test_cli_simulate_streams_to_a_gateway(broker, capsys):
    from scaledown.cli import main

    with fleet.Gateway(broker.url, "gwcli") as gw:
        assert (
            main(
                [
                    "fleet",
                    "simulate",
                    "--url",
                    broker.url,
                    "--devices",
                    "3",
                    "--gateways",
                    "gwcli",
                    "--seconds",
                    "0.5",
                    "--rate",
                    "10",
                ]
            )
            == 0
        )
        sent = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["sent"]
        assert gw.wait_for(sent) and gw.stored == sent


def test_cli_refuses_an_unknown_drift_device(broker, capsys):
    from scaledown.cli import main

    assert main(["fleet", "simulate", "--url", broker.url, "--drift", "nobody", "--seconds", "0.1"]) == 2
    assert "--drift" in capsys.readouterr().err


def test_dashboard_draws(scenario):
    import matplotlib

    matplotlib.use("Agg")
    gw, *_ = scenario
    assert fleet.device_status(gw)["gws-d002"] == "sensor"
    fig = fleet.plot_fleet(gw, "gws-d001")
    assert len(fig.axes) == 3


def test_embedded_broker_loops_over_a_snapshot_of_its_subscriptions(broker):
    # amqtt 0.12 awaits inside `for topic in self._subscriptions`; a subscription made
    # meanwhile dropped the connecting client (seen under two test workers).
    table = broker._broker._subscriptions
    assert isinstance(table, fleet.broker._SnapshotDict)
    table["a/b"] = []
    for topic in table:
        table[topic + "/new"] = []  # a plain dict raises "changed size during iteration"
    for topic, _ in table.items():
        table.pop(topic)
    assert not table


def test_fuzzed_telemetry_is_counted_and_dropped_never_crashing_the_gateway():
    rng = np.random.default_rng(7)
    gateway = fleet.Gateway("mqtt://127.0.0.1:1", "gw0")  # never started: handle() is what a message meets
    good = {"device": "d1", "seq": 5, "t": 1.0, "x": [0.1, 0.2, 0.3], "pred": 1, "conf": 0.9, "battery": 0.8}
    topic = fleet.topics.device_topic("gw0", "d1", "telemetry")
    payloads = [
        b"{not json",
        b"\xff\xfe",
        b"[" * 100_000 + b"]" * 100_000,
        b"[" * 2000 + b"]" * 2000,
        b"null",
        b"42",
        json.dumps({**good, "seq": "5"}).encode(),
        json.dumps({**good, "seq": True}).encode(),
        json.dumps({**good, "seq": -1}).encode(),
        json.dumps({**good, "seq": 2**70}).encode(),
        json.dumps({**good, "battery": 7}).encode(),
        json.dumps({**good, "x": "0.1"}).encode(),
        json.dumps({**good, "x": []}).encode(),
        json.dumps({**good, "pred": 1.5}).encode(),
        json.dumps({**good, "t": float("nan")}).encode(),
        json.dumps({**good, "x": [float("inf"), 0, 0]}).encode(),
        json.dumps({**good, "device": "d2"}).encode(),
        b"x" * (fleet.topics.MAX_PAYLOAD_BYTES + 1),
        json.dumps({**good, "conf": []}).encode(),
        json.dumps({**good, "relayed_by": 5}).encode(),
    ]
    for _ in range(1000):  # and random bytes, truncations and field swaps of a good message
        raw = bytearray(json.dumps(good).encode())
        choice = rng.integers(0, 3)
        if choice == 0:
            raw = raw[: int(rng.integers(0, len(raw)))]
        elif choice == 1:
            raw[int(rng.integers(0, len(raw)))] = int(rng.integers(0, 256))
        else:
            raw = bytearray(rng.bytes(int(rng.integers(1, 200))))
        payloads.append(bytes(raw))
    topics = [topic, "scaledown/fleet/gw0/d1/unknown", "nonsense", "scaledown/fleet/gw0", "a/b/c/d/e/f"]
    stored = 0
    for i, payload in enumerate(payloads):
        stored += gateway.handle(topics[i % len(topics)] if i >= 21 else topic, payload)  # never raises
    counted = sum(gateway.malformed.values()) + gateway.duplicates + gateway.ignored + stored
    assert counted == len(payloads), (counted, len(payloads), dict(gateway.malformed))
    assert gateway.malformed["too large"] == 2 and gateway.malformed["not JSON"] >= 3  # two bombs, two ways
    assert gateway.query("SELECT COUNT(*) FROM telemetry")[0][0] == stored


def test_gateway_query_only_reads():
    gateway = fleet.Gateway("mqtt://127.0.0.1:1", "gw0")
    assert gateway.query("SELECT COUNT(*) FROM telemetry") == [(0,)]
    for sql in (
        "DELETE FROM telemetry",
        "DROP TABLE alerts",
        "INSERT INTO alerts VALUES (0, 'd', 'k', 'x')",
        "ATTACH DATABASE '/tmp/x.db' AS x",
        "PRAGMA writable_schema = 1",
    ):
        with pytest.raises(ValueError, match="query refused"):
            gateway.query(sql)
    assert gateway.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")[0] == ("alerts",)


def test_sequence_numbers_are_followed_across_the_wrap_around():
    gateway = fleet.Gateway("mqtt://127.0.0.1:1", "gw0")
    topic = fleet.topics.device_topic("gw0", "d1", "heartbeat")
    modulus = fleet.topics.SEQ_MODULUS
    seqs = [modulus - 2, modulus - 1, 0, 1, 1, modulus - 1, 2]  # a wrap, a redelivery, a late duplicate
    stored = [
        gateway.handle(topic, json.dumps({"seq": s, "t": float(i), "battery": 0.9}).encode())
        for i, s in enumerate(seqs)
    ]
    assert stored == [True, True, True, True, False, False, True]
    assert [row[0] for row in gateway.query("SELECT seq FROM heartbeats ORDER BY seq")] == [
        modulus - 2,
        modulus - 1,
        modulus,
        modulus + 1,
        modulus + 2,
    ]
