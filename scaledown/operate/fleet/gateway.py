"""The gateway: subscribe to a fleet, store everything in SQLite, raise alerts, report to the cloud.

Topology::

    devices ──MQTT──▶ gateway (SQLite, detectors) ──MQTT──▶ cloud (alerts and summaries of every gateway)

A :class:`Gateway` subscribes to ``scaledown/fleet/{name}/#``. Every message is checked
(:func:`validate`); a malformed one is counted under its reason and dropped, and the
gateway keeps running. A valid one is stored, then fed to the detectors:

===================  ===================================================================
alert                raised when
===================  ===================================================================
``offline``          the broker publishes the device's last will (``status = offline``)
``missed_heartbeat`` no heartbeat for ``missed_heartbeats × heartbeat_interval`` (:meth:`check`)
``low_battery``      the reported charge falls below ``low_battery``
``sensor``           stuck-at, out-of-range or excessive noise (:mod:`scaledown.operate.fleet.sensors`)
``drift``            PSI and KS on inputs, PSI on predictions (:mod:`scaledown.operate.fleet.drift`)
``accuracy``         accuracy on the labels that trickle in falls ``accuracy_drop`` below the reference
===================  ===================================================================

Each alert is raised once per device and kind, stored, and published to
``scaledown/cloud/{name}/alerts``; :class:`Cloud` collects them from every gateway.

**Acknowledged means stored.** With ``durable=True`` the gateway keeps a persistent
session (``clean_session=False``, a fixed client id), so the broker queues its messages
while it is down, and it acknowledges each QoS 1 message only after the SQLite
transaction that stores it has committed (``manual_ack``). A gateway killed at any
moment therefore loses nothing the broker considers delivered: what it had not
committed, it had not acknowledged, and the broker sends it again. Duplicates that
this produces are removed by ``(device, seq)``, with ``seq`` followed across its
wrap-around (:data:`~scaledown.operate.fleet.topics.SEQ_MODULUS`). SQLite runs in WAL mode with
``synchronous=NORMAL``: a commit survives the gateway process dying; to survive the
gateway *machine* losing power, open it with ``synchronous="FULL"`` (an fsync per commit).
"""

from __future__ import annotations

import collections
import json
import math
import sqlite3
import threading
import time
from dataclasses import dataclass

import numpy as np

from scaledown.operate.fleet import topics
from scaledown.operate.fleet.device import ReferenceProfile
from scaledown.operate.fleet.drift import DriftDetector
from scaledown.operate.fleet.sensors import check_readings

_SCHEMA = """
CREATE TABLE IF NOT EXISTS telemetry (device TEXT, seq INTEGER, t REAL, pred INTEGER, conf REAL, label INTEGER,
                                      battery REAL, x TEXT, relayed_by TEXT, PRIMARY KEY (device, seq));
CREATE TABLE IF NOT EXISTS heartbeats (device TEXT, seq INTEGER, t REAL, battery REAL, relayed_by TEXT,
                                       PRIMARY KEY (device, seq));
CREATE TABLE IF NOT EXISTS status (device TEXT, state TEXT, received REAL);
CREATE TABLE IF NOT EXISTS alerts (t REAL, device TEXT, kind TEXT, detail TEXT);
"""


@dataclass
class GatewayConfig:
    """The gateway's thresholds (simulated seconds, fractions)."""

    heartbeat_interval: float = 30.0
    missed_heartbeats: int = 3
    low_battery: float = 0.15
    drift_window: int = 60  # readings per device compared with the reference
    drift_every: int = 6  # test for drift every this many readings
    drift_false_alarm_rate: float = 1e-4  # per window: each device is checked every drift_every readings
    accuracy_window: int = 30  # labelled readings
    min_labels: int = 20
    accuracy_drop: float = 0.25
    sensor_window: int = 16


def validate(message: dict, kind: str, num_channels: int | None = None) -> str | None:
    """Why ``message`` (a decoded telemetry or heartbeat payload) is malformed, or ``None`` if it is fine."""
    if not isinstance(message, dict):
        return "not a JSON object"

    def number(key):
        v = message.get(key)
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    seq = message.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or not number("t"):
        return "missing seq or t"
    if not 0 <= seq < topics.SEQ_MODULUS:
        return "seq outside the counter's range"
    if not math.isfinite(message["t"]):
        return "t is not a finite number"
    if not number("battery") or not 0.0 <= message["battery"] <= 1.0:
        return "battery missing or outside 0..1"
    if kind == "telemetry":
        x = message.get("x")
        if (
            not isinstance(x, list)
            or not x
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in x)
        ):
            return "x is not a list of finite numbers"
        if num_channels is not None and len(x) != num_channels:
            return "x has the wrong number of channels"
        if not isinstance(message.get("pred"), int) or ("label" in message and not isinstance(message["label"], int)):
            return "pred or label is not an integer"
        if "conf" in message and not (number("conf") and 0.0 <= message["conf"] <= 1.0):
            return "conf is not a number in 0..1"
    if "relayed_by" in message and not isinstance(message["relayed_by"], str):
        return "relayed_by is not a device name"
    return None


class _DeviceState:
    def __init__(self, config: GatewayConfig):
        self.last_heartbeat: float | None = None
        self.readings = collections.deque(maxlen=max(config.drift_window, config.sensor_window))
        self.predictions = collections.deque(maxlen=config.drift_window)
        self.hits = collections.deque(maxlen=config.accuracy_window)
        self.count = 0
        self.battery = 1.0
        self.online = True
        self.last_t: float | None = None
        self.last_seq: int | None = None  # the device's counter, unwrapped (0, 1, ..., 65535, 65536, ...)


class Gateway:
    """Subscribe to gateway ``name``'s fleet on the broker at ``url``; store, detect, alert.

    Parameters
    ----------
    url : str
        The broker, ``mqtt://HOST:PORT``.
    name : str
        The gateway's name: it listens on ``scaledown/fleet/{name}/#``.
    reference : ReferenceProfile or None
        Training-time statistics (``SensorWorld.profile()``); without it only transport,
        heartbeat and battery alerts are raised.
    db : str
        SQLite file, or ``":memory:"``.
    config : GatewayConfig

    Attributes: ``stored`` (messages written), ``duplicates``, ``malformed`` (a Counter of
    reasons), ``ignored`` (messages of other gateways), ``alerts`` (list of dicts).
    """

    def __init__(
        self,
        url: str,
        name: str = "gw0",
        reference: ReferenceProfile | None = None,
        db: str = ":memory:",
        config: GatewayConfig | None = None,
        publish_alerts: bool = True,
        durable: bool = False,
        synchronous: str = "NORMAL",
    ):
        self.url, self.name, self.reference = url, name, reference
        self.config = config or GatewayConfig()
        self.publish_alerts, self.durable = publish_alerts, bool(durable)
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(
                f"synchronous={synchronous!r}: use 'NORMAL' (survives a crash of the gateway) or "
                "'FULL' (also a power cut of its machine)."
            )
        self.db = sqlite3.connect(db, check_same_thread=False)
        if db != ":memory:":
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute(f"PRAGMA synchronous={synchronous}")
        self.db.executescript(_SCHEMA)
        self.storage_errors = 0
        self._lock = threading.RLock()
        self.devices: dict[str, _DeviceState] = {}
        self.stored = 0
        self.duplicates = 0
        self.ignored = 0
        self.malformed: collections.Counter = collections.Counter()
        self.alerts: list[dict] = []
        self._raised: set = set()
        self._drift = None
        if reference is not None:
            self._drift = DriftDetector(
                reference.inputs,
                reference.predictions,
                reference.num_classes,
                false_alarm_rate=self.config.drift_false_alarm_rate,
            )
        self.client = None

    # --- life cycle --------------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> "Gateway":
        """Connect and subscribe (QoS 1); return once the broker confirmed the subscription."""
        from scaledown.operate.fleet.broker import connect

        subscribed = threading.Event()
        self.client = connect(
            self.url, f"gateway-{self.name}", loop=False, clean_session=not self.durable, manual_ack=True
        )
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.client.subscribe(topics.gateway_subscription(self.name), qos=1)
        self.client.loop_start()
        if not subscribed.wait(timeout):
            self.stop()
            raise ConnectionError(f"the broker at {self.url} did not confirm gateway {self.name!r}'s subscription.")
        return self

    def stop(self) -> None:
        """Disconnect and commit what is stored."""
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()
            self.client = None
        with self._lock:
            self.db.commit()

    def __enter__(self) -> "Gateway":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- receiving ---------------------------------------------------------------------------
    def _on_message(self, client, userdata, msg) -> None:
        try:
            self.handle(msg.topic, msg.payload)  # stored and committed, or counted as malformed
        except sqlite3.OperationalError:  # disk full, database locked: storage failed, not the message
            with self._lock:
                self.storage_errors += 1
            return  # not acknowledged: the broker will send it again
        except Exception as exc:  # noqa: BLE001 - one bad message must never stop the gateway
            with self._lock:
                self.malformed[f"error: {type(exc).__name__}"] += 1
        if msg.qos > 0:
            client.ack(msg.mid, msg.qos)  # only now may the broker forget it

    def handle(self, topic: str, payload: bytes) -> bool:
        """Process one message as if it had arrived on ``topic``; return whether it was stored."""
        parts = topics.parse(topic)
        with self._lock:
            if len(payload) > topics.MAX_PAYLOAD_BYTES:
                self.malformed["too large"] += 1
                return False
            if parts is None:
                self.malformed["unknown topic"] += 1
                return False
            if parts["tier"] != "fleet" or parts["gateway"] != self.name:
                self.ignored += 1  # another gateway's (amqtt 0.12 hands new subscribers others' retained messages)
                return False
            device, kind = parts["device"], parts["kind"]
            if kind == "status":
                state = payload.decode("utf-8", "replace")
                self.db.execute("INSERT INTO status VALUES (?, ?, ?)", (device, state, time.time()))
                self._state(device).online = state == "online"
                if state == "offline":
                    self._alert(
                        self._state(device).last_t, device, "offline", "the broker published the device's last will"
                    )
                return True
            try:
                message = json.loads(payload)
            except (ValueError, UnicodeDecodeError, RecursionError):
                self.malformed["not JSON"] += 1
                return False
            channels = self.reference.inputs.shape[1] if self.reference is not None else None
            reason = validate(message, kind, channels)
            if reason is not None:
                self.malformed[reason] += 1
                return False
            if message.get("device", device) != device:
                self.malformed["device differs from its topic"] += 1
                return False
            seq = self._unwrap(device, message["seq"])
            if not self._store(device, kind, message, seq):
                self.duplicates += 1
                return False
            self.db.commit()  # before the broker hears the acknowledgement
            self.stored += 1
            self._detect(device, kind, message)
            return True

    def _unwrap(self, device: str, seq: int) -> int:
        """The device's counter without its wrap-around: the nearest value to the last one seen that is ≡ seq."""
        state, modulus = self._state(device), topics.SEQ_MODULUS
        if state.last_seq is None:
            stored = self.db.execute(
                "SELECT MAX(seq) FROM (SELECT seq FROM telemetry WHERE device = ? UNION ALL "
                "SELECT seq FROM heartbeats WHERE device = ?)",
                (device, device),
            ).fetchone()[0]
            state.last_seq = stored if stored is not None else seq
        ahead = (seq - state.last_seq) % modulus
        unwrapped = state.last_seq + ahead if ahead < modulus // 2 else state.last_seq + ahead - modulus
        state.last_seq = max(state.last_seq, unwrapped)
        return unwrapped

    def _store(self, device: str, kind: str, m: dict, seq: int) -> bool:
        try:
            if kind == "telemetry":
                self.db.execute(
                    "INSERT INTO telemetry VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        device,
                        seq,
                        m["t"],
                        m["pred"],
                        m.get("conf"),
                        m.get("label"),
                        m["battery"],
                        json.dumps(m["x"]),
                        m.get("relayed_by"),
                    ),
                )
            else:
                self.db.execute(
                    "INSERT INTO heartbeats VALUES (?, ?, ?, ?, ?)",
                    (device, seq, m["t"], m["battery"], m.get("relayed_by")),
                )
        except sqlite3.IntegrityError:  # the same (device, seq) twice: a QoS-1 redelivery or a relayed copy
            return False
        return True

    def _state(self, device: str) -> _DeviceState:
        if device not in self.devices:
            self.devices[device] = _DeviceState(self.config)
        return self.devices[device]

    # --- detecting ---------------------------------------------------------------------------
    def _detect(self, device: str, kind: str, m: dict) -> None:
        state, cfg, now = self._state(device), self.config, m["t"]
        state.battery, state.last_t = m["battery"], now
        if m["battery"] < cfg.low_battery:
            self._alert(now, device, "low_battery", f"battery at {m['battery']:.0%}")
        if kind == "heartbeat":
            state.last_heartbeat = now
            return
        state.count += 1
        state.readings.append(m["x"])
        state.predictions.append(m["pred"])
        if "label" in m:
            state.hits.append(m["pred"] == m["label"])
        if self.reference is None:
            return
        recent = np.asarray(list(state.readings)[-cfg.sensor_window :], dtype=np.float64)
        failures = check_readings(recent, self.reference.valid_range, self.reference.normal_jitter)
        if failures:
            self._alert(now, device, "sensor", ", ".join(failures))
        if failures or (device, "sensor") in self._raised:
            return  # a broken sensor says nothing about drift or accuracy
        if len(state.readings) >= cfg.drift_window and state.count % cfg.drift_every == 0:
            evidence = self._drift.check(
                np.asarray(state.readings, dtype=np.float64)[-cfg.drift_window :], list(state.predictions)
            )
            if evidence["drifted"]:
                worst = max(evidence["channels"], key=lambda ch: ch["psi"])
                self._alert(
                    now,
                    device,
                    "drift",
                    f"input PSI {worst['psi']:.2f}, KS D {worst['ks']:.2f} "
                    f"(p={worst['p']:.1e}); prediction PSI "
                    f"{evidence['prediction_psi']:.2f}",
                )
        if len(state.hits) >= cfg.min_labels:
            acc = float(np.mean(state.hits))
            if acc < self.reference.accuracy - cfg.accuracy_drop:
                self._alert(
                    now,
                    device,
                    "accuracy",
                    f"accuracy {acc:.0%} on the last {len(state.hits)} labels, reference {self.reference.accuracy:.0%}",
                )

    def check(self, now: float) -> list[dict]:
        """Raise ``missed_heartbeat`` for devices silent for too long at simulated time ``now``; return new alerts."""
        before = len(self.alerts)
        limit = self.config.missed_heartbeats * self.config.heartbeat_interval
        with self._lock:
            for device, state in self.devices.items():
                if state.last_heartbeat is not None and now - state.last_heartbeat > limit:
                    self._alert(now, device, "missed_heartbeat", f"no heartbeat for {now - state.last_heartbeat:g} s")
        return self.alerts[before:]

    def _alert(self, t, device: str, kind: str, detail: str) -> None:
        if (device, kind) in self._raised:
            return
        self._raised.add((device, kind))
        alert = {"t": t, "gateway": self.name, "device": device, "kind": kind, "detail": detail}
        self.alerts.append(alert)
        self.db.execute("INSERT INTO alerts VALUES (?, ?, ?, ?)", (t, device, kind, detail))
        if self.publish_alerts and self.client is not None:
            self.client.publish(topics.cloud_topic(self.name, "alerts"), json.dumps(alert), qos=1)

    def clear(self, device: str, kind: str | None = None) -> None:
        """Forget raised alerts of ``device`` (one ``kind`` or all) so they can be raised again."""
        with self._lock:
            self._raised = {(d, k) for d, k in self._raised if not (d == device and kind in (None, k))}

    # --- reading back ------------------------------------------------------------------------
    def wait_for(self, count: int, timeout: float = 30.0) -> bool:
        """Wait until ``stored + duplicates`` reaches ``count`` (or ``timeout`` s pass); return whether it did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self.stored + self.duplicates >= count:
                    return True
            time.sleep(0.02)
        return False

    def query(self, sql: str, params=()) -> list[tuple]:
        """Run a read-only SQL query on the gateway's database (anything that would write is refused)."""

        def read_only(action, *args):
            allowed = (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION)
            return sqlite3.SQLITE_OK if action in allowed else sqlite3.SQLITE_DENY

        with self._lock:
            self.db.commit()
            self.db.set_authorizer(read_only)
            try:
                return self.db.execute(sql, params).fetchall()
            except sqlite3.DatabaseError as exc:
                raise ValueError(f"query refused: {exc} (Gateway.query only reads).") from None
            finally:
                self.db.set_authorizer(None)

    def alerted(self, kind: str | None = None) -> set:
        """The devices with an alert (of ``kind``, or of any kind)."""
        with self._lock:
            return {a["device"] for a in self.alerts if kind in (None, a["kind"])}

    def summary(self) -> dict:
        """Counts for the cloud: devices, stored messages, malformed, alerts by kind."""
        with self._lock:
            return {
                "gateway": self.name,
                "devices": len(self.devices),
                "stored": self.stored,
                "duplicates": self.duplicates,
                "malformed": sum(self.malformed.values()),
                "alerts": dict(collections.Counter(a["kind"] for a in self.alerts)),
                "battery_mean": (
                    float(np.mean([s.battery for s in self.devices.values()])) if self.devices else math.nan
                ),
            }

    def publish_summary(self) -> dict:
        """Send :meth:`summary` to ``scaledown/cloud/{name}/summary`` and return it."""
        summary = self.summary()
        if self.client is not None:
            self.client.publish(topics.cloud_topic(self.name, "summary"), json.dumps(summary), qos=1)
        return summary

    def __repr__(self) -> str:
        return (
            f"Gateway({self.name!r}, devices={len(self.devices)}, stored={self.stored}, "
            f"malformed={sum(self.malformed.values())}, alerts={len(self.alerts)})"
        )


class Cloud:
    """The top tier: collects alerts and summaries from every gateway (``scaledown/cloud/#``)."""

    def __init__(self, url: str, name: str = "cloud"):
        self.url, self.name = url, name
        self.alerts: list[dict] = []
        self.summaries: dict[str, dict] = {}
        self._lock = threading.Lock()
        self.client = None

    def start(self, timeout: float = 10.0) -> "Cloud":
        from scaledown.operate.fleet.broker import connect

        subscribed = threading.Event()
        self.client = connect(self.url, self.name, loop=False)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.client.subscribe(topics.CLOUD_SUBSCRIPTION, qos=1)
        self.client.loop_start()
        if not subscribed.wait(timeout):
            self.stop()
            raise ConnectionError(f"the broker at {self.url} did not confirm the cloud's subscription.")
        return self

    def _on_message(self, client, userdata, msg) -> None:
        parts = topics.parse(msg.topic)
        try:
            body = json.loads(msg.payload)
        except ValueError:
            return
        with self._lock:
            if parts and parts["kind"] == "alerts":
                self.alerts.append(body)
            elif parts and parts["kind"] == "summary":
                self.summaries[parts["gateway"]] = body

    def wait_for_alerts(self, count: int, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.alerts) < count:
            time.sleep(0.02)
        return len(self.alerts) >= count

    def stop(self) -> None:
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()
            self.client = None

    def __enter__(self) -> "Cloud":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
