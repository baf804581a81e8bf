"""The fleet's MQTT topic layout, in one place.

::

    scaledown/fleet/{gateway}/{device}/telemetry   device → gateway   QoS 1   one reading + prediction (JSON)
    scaledown/fleet/{gateway}/{device}/heartbeat   device → gateway   QoS 1   "I am alive" + battery (JSON)
    scaledown/fleet/{gateway}/{device}/status      broker → gateway   QoS 1   retained "online" / "offline";
                                                                               "offline" is the device's last will
    scaledown/cloud/{gateway}/alerts               gateway → cloud    QoS 1   one alert (JSON)
    scaledown/cloud/{gateway}/summary              gateway → cloud    QoS 1   fleet counts (JSON)

A gateway subscribes to ``scaledown/fleet/{gateway}/#``; the cloud to ``scaledown/cloud/#``.
Every device message carries ``seq``, the device's message counter modulo
:data:`SEQ_MODULUS`: the gateway removes duplicates (QoS 1 redeliveries, relayed copies)
by ``(device, seq)`` and follows the counter across its wrap-around.
A message relayed for a neighbour without a link keeps the neighbour's own topic and
says who carried it (``"relayed_by"`` in the payload).
"""

from __future__ import annotations

ROOT = "scaledown"
SEQ_MODULUS = 2**16  # a device numbers its messages 0..65535 and wraps, as a uint16 counter on an MCU
MAX_PAYLOAD_BYTES = 4096  # a gateway drops (and counts) any larger message unread
DEVICE_KINDS = ("telemetry", "heartbeat", "status")
CLOUD_KINDS = ("alerts", "summary")


def _check_name(name: str, value) -> str:
    if not isinstance(value, str) or not value or any(ch in value for ch in "/+#"):
        raise ValueError(f"{name}={value!r} must be a non-empty string without '/', '+' or '#'.")
    return value


def device_topic(gateway: str, device: str, kind: str) -> str:
    """``scaledown/fleet/{gateway}/{device}/{kind}`` with ``kind`` one of :data:`DEVICE_KINDS`."""
    if kind not in DEVICE_KINDS:
        raise ValueError(f"kind={kind!r} is not a device topic; use one of {DEVICE_KINDS}.")
    return f"{ROOT}/fleet/{_check_name('gateway', gateway)}/{_check_name('device', device)}/{kind}"


def cloud_topic(gateway: str, kind: str) -> str:
    """``scaledown/cloud/{gateway}/{kind}`` with ``kind`` one of :data:`CLOUD_KINDS`."""
    if kind not in CLOUD_KINDS:
        raise ValueError(f"kind={kind!r} is not a cloud topic; use one of {CLOUD_KINDS}.")
    return f"{ROOT}/cloud/{_check_name('gateway', gateway)}/{kind}"


def gateway_subscription(gateway: str) -> str:
    """The filter a gateway subscribes to: every topic of its own fleet."""
    return f"{ROOT}/fleet/{_check_name('gateway', gateway)}/#"


CLOUD_SUBSCRIPTION = f"{ROOT}/cloud/#"


def parse(topic: str) -> dict | None:
    """Split a fleet or cloud topic into its parts, or return ``None`` for any other topic.

    >>> parse("scaledown/fleet/gw0/dev3/telemetry")
    {'tier': 'fleet', 'gateway': 'gw0', 'device': 'dev3', 'kind': 'telemetry'}
    """
    parts = topic.split("/")
    if len(parts) == 5 and parts[:2] == [ROOT, "fleet"] and parts[4] in DEVICE_KINDS:
        return {"tier": "fleet", "gateway": parts[2], "device": parts[3], "kind": parts[4]}
    if len(parts) == 4 and parts[:2] == [ROOT, "cloud"] and parts[3] in CLOUD_KINDS:
        return {"tier": "cloud", "gateway": parts[2], "kind": parts[3]}
    return None
