"""A simulated fleet: devices that sense, infer, drain their battery, fail and drift.

Each :class:`SimulatedDevice` reads a sensor vector every step, runs the deployed model
on it (the :class:`SensorWorld`'s nearest-centroid classifier), and produces a
telemetry message; every few steps it also produces a heartbeat. A :class:`Fleet`
connects every device to a real MQTT broker (one client per device, with a last will)
and publishes what they produce at QoS 1.

Time is simulated: a :class:`SimClock` moves only when the fleet steps, so five
simulated minutes take as long as the messages take to travel, and a test is the same
every run. The transport is real.

Store-and-forward: a device whose link is down hands its messages to a neighbour (the
devices next to it in its gateway's list) that still has a link; the neighbour
publishes them on the original device's topic, marked ``"relayed_by"``. With no
neighbour in reach the messages wait in the device's outbox.
"""

from __future__ import annotations

import collections
import json
from dataclasses import dataclass

import numpy as np

from scaledown.operate.fleet import topics
from scaledown.operate.fleet.sensors import FAILURES


class SimClock:
    """Simulated time in seconds: it moves only when :meth:`advance` is called."""

    def __init__(self, start: float = 0.0):
        self.now = float(start)

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError(f"seconds={seconds!r} must be ≥ 0: simulated time only moves forward.")
        self.now += seconds
        return self.now

    def __repr__(self) -> str:
        return f"SimClock(now={self.now:g} s)"


@dataclass
class ReferenceProfile:
    """What the gateway knows about healthy devices, measured on training-time data."""

    inputs: np.ndarray  # (N, channels) sensor readings
    predictions: np.ndarray  # (N,) the model's predictions on them
    accuracy: float  # the model's accuracy on them
    normal_jitter: float  # std of consecutive-reading differences, worst channel
    valid_range: tuple  # what the sensor can physically report
    num_classes: int


class SensorWorld:
    """The environment every device senses, and the model deployed on the devices.

    Readings of class ``k`` are ``means[k] + noise · N(0, 1)`` per channel; the deployed
    model predicts the nearest class mean (a linear classifier) with a softmax confidence.
    """

    def __init__(
        self,
        num_channels: int = 3,
        num_classes: int = 3,
        noise: float = 0.8,
        spread: float = 2.5,
        valid_range=(-15.0, 15.0),
        seed: int = 0,
    ):
        rng = np.random.default_rng(seed)
        self.num_channels, self.num_classes, self.noise = num_channels, num_classes, noise
        self.valid_range = tuple(valid_range)
        self.means = np.clip(rng.normal(0.0, spread, (num_classes, num_channels)), -4, 4)

    def sample(self, rng, n: int = 1):
        """``n`` true classes (n,) and clean readings (n, channels)."""
        classes = rng.integers(0, self.num_classes, n)
        return classes, self.means[classes] + self.noise * rng.standard_normal((n, self.num_channels))

    def predict(self, x):
        """The deployed model: ``(predicted class (n,), confidence (n,))`` for readings ``x`` (n, channels)."""
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        logits = -0.5 * ((x[:, None, :] - self.means[None]) ** 2).sum(-1) / self.noise**2
        logits -= logits.max(1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(1, keepdims=True)
        return p.argmax(1), p.max(1)

    def profile(self, n: int = 2000, seed: int = 1) -> ReferenceProfile:
        """A :class:`ReferenceProfile` measured on ``n`` clean readings."""
        rng = np.random.default_rng(seed)
        classes, x = self.sample(rng, n)
        predictions, _ = self.predict(x)
        jitter = float(np.std(np.diff(x, axis=0), axis=0).max())
        return ReferenceProfile(
            x, predictions, float((predictions == classes).mean()), jitter, self.valid_range, self.num_classes
        )


class SimulatedDevice:
    """One device: a sensor, the deployed model, a battery, and what can go wrong.

    Parameters
    ----------
    device_id, gateway : str
        Its name and the gateway that manages it (they make its MQTT topics).
    world : SensorWorld
    seed : int
    battery : float
        Charge as a fraction of full, 0..1.
    drain_per_message : float
        Charge one radio transmission costs.
    label_rate : float
        Share of readings whose true label trickles back (a user confirms, a later sensor tells).
    """

    def __init__(
        self,
        device_id: str,
        gateway: str,
        world: SensorWorld,
        seed: int = 0,
        battery: float = 1.0,
        drain_per_message: float = 2e-5,
        label_rate: float = 0.2,
    ):
        self.device_id, self.gateway, self.world = device_id, gateway, world
        self.rng = np.random.default_rng(seed)
        self.battery, self.drain_per_message, self.label_rate = float(battery), drain_per_message, label_rate
        self.seq = 0
        self.shift = np.zeros(world.num_channels)
        self.failure: str | None = None
        self._stuck_value = None
        self.link_up = True
        self.outbox: collections.deque = collections.deque(maxlen=10_000)

    # --- what can go wrong -------------------------------------------------------------------
    def inject_drift(self, shift) -> None:
        """From now on every reading is offset by ``shift`` (a number or one per channel)."""
        self.shift = np.broadcast_to(np.asarray(shift, dtype=np.float64), (self.world.num_channels,)).copy()

    def fail_sensor(self, kind: str) -> None:
        """Break the sensor: ``"stuck"`` (frozen), ``"out_of_range"`` (saturated) or ``"noise"``."""
        if kind not in FAILURES:
            raise ValueError(f"kind={kind!r} is not a sensor failure; use one of {FAILURES}.")
        self.failure, self._stuck_value = kind, None

    # --- what it produces --------------------------------------------------------------------
    def read(self, now: float) -> dict:
        """Sense, infer, and return one telemetry message (a JSON-ready dict)."""
        label, x = self.world.sample(self.rng)
        label, x = int(label[0]), x[0] + self.shift
        if self.failure == "stuck":
            self._stuck_value = x if self._stuck_value is None else self._stuck_value
            x = self._stuck_value
        elif self.failure == "out_of_range":
            x = np.full_like(x, 10 * self.world.valid_range[1])
        elif self.failure == "noise":
            x = x + 10 * self.world.noise * self.rng.standard_normal(x.shape)
        prediction, confidence = self.world.predict(x)
        self.seq = (self.seq + 1) % topics.SEQ_MODULUS
        self.battery = max(0.0, self.battery - self.drain_per_message)
        message = {
            "device": self.device_id,
            "seq": self.seq,
            "t": round(now, 3),
            "x": [round(float(v), 4) for v in x],
            "pred": int(prediction[0]),
            "conf": round(float(confidence[0]), 4),
            "battery": round(self.battery, 5),
        }
        if self.rng.random() < self.label_rate:
            message["label"] = label
        return message

    def heartbeat(self, now: float) -> dict:
        """One heartbeat message: alive, at time ``now``, with this much battery."""
        self.seq = (self.seq + 1) % topics.SEQ_MODULUS
        self.battery = max(0.0, self.battery - self.drain_per_message)
        return {"device": self.device_id, "seq": self.seq, "t": round(now, 3), "battery": round(self.battery, 5)}

    def __repr__(self) -> str:
        return (
            f"SimulatedDevice({self.device_id!r}, gateway={self.gateway!r}, battery={self.battery:.2f}, "
            f"failure={self.failure}, link={'up' if self.link_up else 'down'})"
        )


class Fleet:
    """Devices spread over gateways, each with its own MQTT connection to the broker at ``url``.

    Parameters
    ----------
    url : str
        The broker, ``mqtt://HOST:PORT``.
    devices_per_gateway : int
    gateways : sequence of str
        Gateway names; device ``i`` of gateway ``g`` is called ``f"{g}-d{i:03d}"``.
    world : SensorWorld
    clock : SimClock
    step_seconds : float
        Simulated time between two readings.
    heartbeat_every : int
        A heartbeat every this many readings.

    :meth:`step` makes every device read once (and beat when due) and publishes it all.
    """

    def __init__(
        self,
        url: str,
        devices_per_gateway: int = 10,
        gateways=("gw0",),
        world: SensorWorld | None = None,
        clock: SimClock | None = None,
        step_seconds: float = 5.0,
        heartbeat_every: int = 6,
        seed: int = 0,
        qos: int = 1,
    ):
        if not isinstance(devices_per_gateway, int) or devices_per_gateway < 1:
            raise ValueError(f"devices_per_gateway={devices_per_gateway!r} must be a positive integer.")
        self.url, self.world = url, world or SensorWorld()
        self.clock = clock or SimClock()
        self.step_seconds, self.heartbeat_every, self.qos = step_seconds, heartbeat_every, qos
        rng = np.random.default_rng(seed)
        self.devices: dict[str, SimulatedDevice] = {}
        self.by_gateway: dict[str, list[str]] = {}
        for g in gateways:
            ids = [f"{g}-d{i:03d}" for i in range(devices_per_gateway)]
            self.by_gateway[g] = ids
            for device_id in ids:
                self.devices[device_id] = SimulatedDevice(
                    device_id, g, self.world, seed=int(rng.integers(2**31)), battery=float(rng.uniform(0.5, 1.0))
                )
        self.clients: dict = {}
        self.sent = 0
        self.sent_to: collections.Counter = collections.Counter()  # messages per gateway
        self.relayed = 0
        self.steps = 0
        self._pending: list = []

    def connect(self) -> "Fleet":
        """Open one MQTT connection per device, each with the last will ``status = "offline"``."""
        from scaledown.operate.fleet.broker import connect

        for device_id, device in self.devices.items():
            topic = topics.device_topic(device.gateway, device_id, "status")
            client = connect(self.url, device_id, will=(topic, b"offline"))
            client.publish(topic, b"online", qos=1, retain=True)
            self.clients[device_id] = client
        return self

    def neighbours(self, device_id: str) -> list[str]:
        """The devices in radio range: the ones before and after it in its gateway's list."""
        ids = self.by_gateway[self.devices[device_id].gateway]
        i = ids.index(device_id)
        return [ids[j] for j in (i - 1, i + 1) if 0 <= j < len(ids)]

    def _publish(self, carrier: str, device: SimulatedDevice, kind: str, message: dict) -> None:
        topic = topics.device_topic(device.gateway, device.device_id, kind)
        self._pending.append(self.clients[carrier].publish(topic, json.dumps(message), qos=self.qos))
        self.sent += 1
        self.sent_to[device.gateway] += 1

    def _carrier(self, device_id: str) -> str | None:
        if device_id in self.clients and self.devices[device_id].link_up:
            return device_id
        for n in self.neighbours(device_id):
            if n in self.clients and self.devices[n].link_up:
                return n
        return None

    def step(self) -> float:
        """Advance the clock one step; every connected device reads (and beats when due); publish."""
        now = self.clock.advance(self.step_seconds)
        beat = self.steps % self.heartbeat_every == 0
        self.steps += 1
        for device_id, device in self.devices.items():
            if device_id not in self.clients:
                continue  # crashed
            device.outbox.append(("telemetry", device.read(now)))
            if beat:
                device.outbox.append(("heartbeat", device.heartbeat(now)))
            carrier = self._carrier(device_id)
            while carrier is not None and device.outbox:
                kind, message = device.outbox.popleft()
                if carrier != device_id:
                    message = dict(message, relayed_by=carrier)
                    self.relayed += 1
                self._publish(carrier, device, kind, message)
        return now

    def run(self, steps: int) -> float:
        """:meth:`step` ``steps`` times; return the simulated time."""
        for _ in range(steps):
            self.step()
        return self.clock.now

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until the broker acknowledged every QoS-1 message published so far."""
        import time

        deadline = time.monotonic() + timeout
        for info in self._pending:
            info.wait_for_publish(max(0.01, deadline - time.monotonic()))
        self._pending = [info for info in self._pending if not info.is_published()]

    def crash(self, device_id: str) -> None:
        """Kill a device's connection without a goodbye, as a dead battery would: its last will fires."""
        client = self.clients.pop(device_id)
        client.loop_stop()
        sock = client.socket()
        if sock is not None:
            sock.close()

    def close(self) -> None:
        """Disconnect every device cleanly (no last will)."""
        for client in self.clients.values():
            client.disconnect()
            client.loop_stop()
        self.clients.clear()

    def __enter__(self) -> "Fleet":
        return self.connect()

    def __exit__(self, *exc) -> None:
        self.close()
