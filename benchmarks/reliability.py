"""Reliability under faults and hostile input: updates, power cuts, telemetry, gateway crashes, dead devices.

    .venv/bin/python benchmarks/reliability.py            # full mode (needs mosquitto for the fleet rows)
    .venv/bin/python benchmarks/reliability.py --quick    # a smaller run (or SCALEDOWN_QUICK=1)

One table, as MCUboot's simulator, TUF's and Mender's test suites count theirs:

1. **update fuzzing** — mutated updates sent to an A/B device (``scaledown.operate.updates.faults.fuzz``):
   tried / accepted / crashed / old model lost (the last three must be 0);
2. **power cuts** — one installation per flash write, power cut at that write, cleanly and
   with the write left half done (``power_cut_sweep``): tried / bricked (must be 0);
3. **telemetry fuzzing** — malformed, mistyped, oversized and misaddressed messages into a
   gateway: tried / crashed (must be 0) / counted as malformed;
4. **gateway kills** — a device streams QoS 1 telemetry through Mosquitto while its gateway
   process is killed with SIGKILL and restarted, several times: messages / lost (must be 0);
5. **death detection** — a device frozen without a goodbye, reported offline through its
   last will: the delay, against its keep-alive.
"""

import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import _results  # noqa: E402
import numpy as np  # noqa: E402

GATEWAY = [sys.executable, "-c", "import sys; from scaledown.cli import main; sys.exit(main())", "fleet", "gateway"]


def update_rows(cases: int, page_size: int) -> dict:
    from scaledown.operate import federated, updates
    from scaledown.operate.updates.faults import fuzz, power_cut_sweep

    x, y, x_test, y_test = federated.load_flat_digits()
    old, _ = federated.train_centralised(x[:600], y[:600], epochs=2)
    tuned = federated.train_local(old, x, y, epochs=1, learning_rate=0.05)
    new = {**old, "w2": tuned["w2"], "b2": tuned["b2"]}
    floor = federated.evaluate(old, x_test[:60], y_test[:60]) - 0.2

    def health_check(weights):
        return federated.evaluate(weights, x_test[:60], y_test[:60]) >= floor

    private_key, public_key = updates.generate_keypair()
    attacker_key, _ = updates.generate_keypair()
    device = updates.ABDevice(old, public_key, health_check)
    first = updates.make_update(old, new, private_key, counter=1, version="1.1")
    device.receive(first.wire())
    good = updates.make_update(new, old, private_key, counter=2, version="1.2")
    other = updates.make_update(new, old, private_key, counter=3, version="1.3")
    started = time.perf_counter()
    report = fuzz(device, good, cases, seed=2026, older=[first], other=other, attacker_key=attacker_key)
    fuzz_s = time.perf_counter() - started
    cuts = power_cut_sweep(old, new, first, public_key, health_check, page_size=page_size)
    return {
        "fuzz": {
            "tried": report.tried,
            "accepted": report.accepted,
            "crashed": len(report.crashed),
            "old_model_lost": report.old_model_lost,
            "seconds": round(fuzz_s, 2),
            "by_mutation": dict(report.by_mutation),
            "by_reason": {str(k): v for k, v in report.by_reason.items()},
        },
        "power_cuts": {
            "writes_per_update": cuts.writes,
            "tried": cuts.tried,
            "bricked": cuts.bricked,
            "booted_old": cuts.booted_old,
            "booted_new": cuts.booted_new,
            "page_bytes": page_size,
        },
    }


def telemetry_row(cases: int) -> dict:
    from scaledown.operate import fleet

    rng = np.random.default_rng(7)
    gateway = fleet.Gateway("mqtt://127.0.0.1:1", "gw0")  # handle() is what every message meets
    good = {"device": "d1", "seq": 5, "t": 1.0, "x": [0.1, 0.2, 0.3], "pred": 1, "conf": 0.9, "battery": 0.8}
    topics = [
        fleet.topics.device_topic("gw0", "d1", "telemetry"),
        "scaledown/fleet/gw0/d1/unknown",
        "nonsense",
        fleet.topics.device_topic("gw9", "d1", "telemetry"),
    ]
    crashed = stored = 0
    for i in range(cases):
        raw = bytearray(json.dumps({**good, "seq": i % fleet.topics.SEQ_MODULUS}).encode())
        choice = int(rng.integers(0, 6))
        if choice == 0:
            raw = raw[: int(rng.integers(0, len(raw)))]
        elif choice == 1:
            raw[int(rng.integers(0, len(raw)))] = int(rng.integers(0, 256))
        elif choice == 2:
            raw = bytearray(rng.bytes(int(rng.integers(1, 200))))
        elif choice == 3:
            field = str(rng.choice(sorted(good)))
            raw = bytearray(
                json.dumps({**good, field: [None, "x", -1, 1e308, [], {}][int(rng.integers(0, 6))]}).encode()
            )
        elif choice == 4:
            raw = bytearray(b"[" * int(rng.integers(500, 3000)) + b"]" * 10)
        else:
            raw = bytearray(b"x" * (fleet.topics.MAX_PAYLOAD_BYTES + int(rng.integers(1, 10_000))))
        try:
            stored += gateway.handle(topics[int(rng.integers(0, len(topics)))], bytes(raw))
        except Exception:  # noqa: BLE001 - counted: must stay 0
            crashed += 1
    malformed = sum(gateway.malformed.values())
    return {
        "tried": cases,
        "crashed": crashed,
        "malformed": malformed,
        "ignored": gateway.ignored,
        "stored": stored,
        "duplicates": gateway.duplicates,
    }


def _stored(db) -> int:
    try:
        with sqlite3.connect(db) as connection:
            return connection.execute("SELECT COUNT(*) FROM telemetry").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def _start_gateway(url, db):
    process = subprocess.Popen(
        [*GATEWAY, "--url", url, "--name", "gw0", "--db", str(db), "--durable"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    process.stdout.readline()
    return process


def gateway_kill_row(url: str, total: int, kills: int) -> dict:
    from scaledown.operate import fleet
    from scaledown.operate.fleet import topics

    with tempfile.TemporaryDirectory() as folder:
        db = os.path.join(folder, "fleet.db")
        gateway = _start_gateway(url, db)
        device = fleet.device.SimulatedDevice("d1", "gw0", fleet.device.SensorWorld(), seed=3)
        device.seq = first = topics.SEQ_MODULUS - total // 3  # its counter wraps during the run
        publisher = fleet.connect(url, "device-d1", clean_session=False)
        topic = topics.device_topic("gw0", "d1", "telemetry")
        sent = []

        def stream():
            for i in range(total):
                sent.append(device.read(float(i)))
                publisher.publish(topic, json.dumps(sent[-1]), qos=1)
                time.sleep(0.003)

        thread = threading.Thread(target=stream)
        thread.start()
        for k in range(kills):  # kill at evenly spaced points
            while len(sent) < (k + 1) * total // (kills + 1) and thread.is_alive():
                time.sleep(0.01)
            gateway.send_signal(signal.SIGKILL)
            gateway.wait()
            time.sleep(0.2)
            gateway = _start_gateway(url, db)
        thread.join()
        for message in sent[-30:]:  # resent copies: duplicates
            publisher.publish(topic, json.dumps(message), qos=1)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and _stored(db) < total:
            time.sleep(0.2)
        time.sleep(0.5)
        with sqlite3.connect(db) as connection:
            seqs = [s for (s,) in connection.execute("SELECT seq FROM telemetry ORDER BY seq")]
        publisher.loop_stop()
        publisher.disconnect()
        gateway.send_signal(signal.SIGINT)
        try:
            gateway.wait(10)
        except subprocess.TimeoutExpired:
            gateway.kill()
            gateway.wait()
    expected = list(range(first + 1, first + total + 1))
    return {
        "messages": total,
        "kills": kills,
        "stored": len(seqs),
        "lost": len(set(expected) - set(seqs)),
        "stored_twice": len(seqs) - len(set(seqs)),
        "in_order_after_unwrap": seqs == expected,
    }


def death_row(url: str, keepalive: int) -> dict:
    from scaledown.operate import fleet

    with fleet.Gateway(url, "gw1") as gateway:
        script = (
            "import time; from scaledown.operate import fleet; from scaledown.operate.fleet import topics; "
            f"c = fleet.connect({url!r}, 'dev-silent', keepalive={keepalive}, "
            "will=(topics.device_topic('gw1', 'silent', 'status'), b'offline')); print('up', flush=True); "
            "time.sleep(300)"
        )
        device = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        device.stdout.readline()
        time.sleep(keepalive + 0.5)
        device.send_signal(signal.SIGSTOP)
        died = time.monotonic()
        while "silent" not in gateway.alerted("offline") and time.monotonic() - died < 4 * keepalive + 10:
            time.sleep(0.02)
        delay = time.monotonic() - died
        device.send_signal(signal.SIGKILL)
        device.wait()
    return {
        "keepalive_s": keepalive,
        "reported": "silent" in gateway.alerted("offline"),
        "delay_s": round(delay, 2),
        "delay_over_keepalive": round(delay / keepalive, 2),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run (as SCALEDOWN_QUICK=1)")
    _results.add_option(parser)
    args = parser.parse_args(argv)
    if args.quick:
        os.environ["SCALEDOWN_QUICK"] = "1"
    import scaledown
    from scaledown.operate import fleet

    quick = scaledown.quick_mode()
    started = time.time()
    results = update_rows(cases=scaledown.pick(full=10_000, quick=1_000), page_size=scaledown.pick(full=128, quick=256))
    results["telemetry"] = telemetry_row(cases=scaledown.pick(full=10_000, quick=1_000))
    if shutil.which("mosquitto") or os.path.exists("/usr/sbin/mosquitto"):
        with fleet.MosquittoBroker() as broker:
            results["gateway_kills"] = gateway_kill_row(
                broker.url, total=scaledown.pick(full=5_000, quick=1_500), kills=scaledown.pick(full=5, quick=1)
            )
            results["death"] = death_row(broker.url, keepalive=scaledown.pick(full=10, quick=2))
    else:
        print("mosquitto is not installed (apt-get install mosquitto): the gateway rows are skipped")
    f, p, t = results["fuzz"], results["power_cuts"], results["telemetry"]
    rows = [
        (
            "update fuzzing",
            f"{f['tried']:,} mutated updates",
            f"{f['accepted']} accepted, {f['crashed']} crashed, {f['old_model_lost']} lost the old model",
        ),
        (
            "power cuts",
            f"{p['tried']:,} cuts ({p['writes_per_update']} writes × clean/torn)",
            f"{p['bricked']} bricked ({p['booted_old']} old, {p['booted_new']} new)",
        ),
        (
            "telemetry fuzzing",
            f"{t['tried']:,} messages",
            f"{t['crashed']} crashed, {t['malformed']:,} counted malformed, {t['ignored']} ignored",
        ),
    ]
    if "gateway_kills" in results:
        g, d = results["gateway_kills"], results["death"]
        rows += [
            (
                "gateway kills",
                f"{g['kills']} SIGKILLs in {g['messages']:,} QoS 1 messages",
                f"{g['lost']} lost, {g['stored_twice']} stored twice",
            ),
            (
                "death detection",
                f"keep-alive {d['keepalive_s']} s",
                f"reported offline after {d['delay_s']} s ({d['delay_over_keepalive']} × keep-alive)",
            ),
        ]
    print(f"reliability benchmark — {'quick' if quick else 'full'} mode\n")
    print(f"| {'what':18} | {'tried':42} | {'outcome':60} |")
    print(f"|{'-' * 20}|{'-' * 44}|{'-' * 62}|")
    for what, tried, outcome in rows:
        print(f"| {what:18} | {tried:42} | {outcome:60} |")
    _results.save("reliability", results, path=args.results, quick=quick, seconds=time.time() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
