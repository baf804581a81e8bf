"""The gateway on a broker that keeps sessions (Mosquitto): nothing acknowledged is lost, the dead are noticed.

* **Acknowledged means stored**: a device publishes 2,000 QoS 1 messages whose counter
  wraps around (it starts 700 below 2^16); the gateway process is killed
  with SIGKILL in the middle and started again. Every message ends up stored exactly
  once — none lost, duplicates (redeliveries, a device resending) removed by
  ``(device, seq)`` across the wrap.
* **Liveness**: a device that stops talking without a goodbye (its process frozen, as a
  board whose power regulator browned out) is reported offline through its last will.
  MQTT 3.1.1 lets the broker wait 1.5 × the keep-alive; Mosquitto 2.0 sweeps its
  clients' keep-alives every 5 s, so the bound here is 1.5 × keep-alive + 5 s (measured
  and printed). amqtt 0.12 did not publish the will at all within 4 × keep-alive.

These need the ``mosquitto`` program (``apt-get install mosquitto``; ``.ci/run`` installs
it). Without it they are skipped on a learner's machine, and fail in CI.
"""

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from scaledown.operate import fleet
from scaledown.operate.fleet import topics

HAVE_MOSQUITTO = bool(shutil.which("mosquitto") or os.path.exists("/usr/sbin/mosquitto"))
if not HAVE_MOSQUITTO and os.environ.get("CI"):
    raise RuntimeError("CI must run the durability tests: .ci/run installs mosquitto (apt-get install mosquitto).")
pytestmark = pytest.mark.skipif(not HAVE_MOSQUITTO, reason="needs Mosquitto: apt-get install mosquitto")

GATEWAY = [sys.executable, "-c", "import sys; from scaledown.cli import main; sys.exit(main())", "fleet", "gateway"]


@pytest.fixture(scope="module")
def mosquitto():
    with fleet.MosquittoBroker() as broker:
        yield broker


def start_gateway(url, db, name="gw0"):
    process = subprocess.Popen(
        [*GATEWAY, "--url", url, "--name", name, "--db", str(db), "--durable"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()  # printed once connected and subscribed
    assert line.startswith(f"gateway {name} on"), (line, process.stderr.read()[-2000:] if process.poll() else "")
    return process


def stored_rows(db) -> list:
    if not db.exists():
        return []
    with sqlite3.connect(db) as connection:
        try:
            return connection.execute("SELECT device, seq FROM telemetry ORDER BY seq").fetchall()
        except sqlite3.OperationalError:
            return []


def test_a_gateway_killed_mid_stream_loses_no_acknowledged_message(mosquitto, tmp_path):
    db, total = tmp_path / "fleet.db", 2000
    gateway = start_gateway(mosquitto.url, db)
    device = fleet.device.SimulatedDevice("d1", "gw0", fleet.device.SensorWorld(), seed=3)
    device.seq = first = topics.SEQ_MODULUS - 700  # its counter wraps to 0 after 700 messages
    publisher = fleet.connect(mosquitto.url, "device-d1", clean_session=False)
    topic = topics.device_topic("gw0", "d1", "telemetry")
    sent = []

    def publish_all():  # the device streams at a steady pace, whatever happens to the gateway
        for i in range(total):
            sent.append(device.read(float(i)))
            publisher.publish(topic, json.dumps(sent[-1]), qos=1)
            time.sleep(0.004)

    stream = threading.Thread(target=publish_all)
    killed_at = None
    try:
        stream.start()
        while len(stored_rows(db)) < 300 and stream.is_alive():
            time.sleep(0.01)
        gateway.send_signal(signal.SIGKILL)  # no goodbye, no final commit
        gateway.wait()
        killed_at = (len(stored_rows(db)), len(sent))
        while len(sent) < min(total, killed_at[1] + 600) and stream.is_alive():
            time.sleep(0.01)  # the broker queues these for the dead gateway
        gateway = start_gateway(mosquitto.url, db)
        stream.join()
        for message in sent[-50:] + sent[500:520]:  # the device resends some: duplicates
            publisher.publish(topic, json.dumps(message), qos=1)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(stored_rows(db)) < total:
            time.sleep(0.2)
        time.sleep(0.5)  # and nothing more arrives
        rows = stored_rows(db)
    finally:
        publisher.loop_stop()
        publisher.disconnect()
        gateway.send_signal(signal.SIGINT)
        gateway.wait(10)
    stored, published = killed_at
    assert 0 < stored < published < total, killed_at  # killed mid-stream, with messages in flight
    assert [seq for _, seq in rows] == list(range(first + 1, first + total + 1)), (
        f"{total - len(rows)} of {total} messages lost (killed after {stored} stored, {published} published)"
    )


MOSQUITTO_SWEEP_S = 5  # Mosquitto 2.0 checks keep-alives every 5 s, on top of MQTT's 1.5 × keep-alive


def test_a_device_that_dies_silently_is_reported_offline_through_its_last_will(mosquitto, tmp_path):
    keepalive = 2
    with fleet.Gateway(mosquitto.url, "gw1", durable=False) as gateway:
        script = (
            "import sys, time; from scaledown.operate import fleet; from scaledown.operate.fleet import topics; "
            f"c = fleet.connect({mosquitto.url!r}, 'dev-silent', keepalive={keepalive}, "
            "will=(topics.device_topic('gw1', 'silent', 'status'), b'offline')); "
            "c.publish(topics.device_topic('gw1', 'silent', 'status'), b'online', qos=1, retain=True); "
            "print('up', flush=True); time.sleep(60)"
        )
        device = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        try:
            assert device.stdout.readline().strip() == "up"
            time.sleep(keepalive + 0.5)  # it is alive: pings keep its session open
            assert "silent" not in gateway.alerted("offline")
            device.send_signal(signal.SIGSTOP)  # frozen: no packet, no FIN — the socket stays open
            died = time.monotonic()
            while "silent" not in gateway.alerted("offline") and time.monotonic() - died < 4 * keepalive + 10:
                time.sleep(0.02)
            delay = time.monotonic() - died
        finally:
            device.send_signal(signal.SIGKILL)
            device.wait()
    print(f"silent device reported offline after {delay:.2f} s (keep-alive {keepalive} s)")
    assert "silent" in gateway.alerted("offline") and delay <= 1.5 * keepalive + MOSQUITTO_SWEEP_S + 1.5, (
        delay
    )  # 1.5 s for a loaded CI machine
