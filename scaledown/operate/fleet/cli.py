"""``scaledown fleet ...``: run a broker, a simulated fleet and a gateway from the shell.

    scaledown fleet broker --port 1883                           # amqtt on 127.0.0.1:1883 until Ctrl-C
    scaledown fleet gateway --url mqtt://127.0.0.1:1883 --name gw0 --db fleet.db --seconds 120 [--durable]
    scaledown fleet simulate --url mqtt://127.0.0.1:1883 --devices 20 --gateways gw0 --seconds 60

Any MQTT 3.1.1 broker works in place of the embedded one, e.g. ``mosquitto -p 1883``.
"""

from __future__ import annotations

import json
import time


def add_parser(sub) -> None:
    """Add the ``fleet`` command and its subcommands to an argparse ``sub``-parsers object."""
    fleet = sub.add_parser("fleet", help="simulated fleet over MQTT").add_subparsers(
        dest="fleet_command", required=True
    )
    b = fleet.add_parser("broker", help="run the embedded amqtt broker on loopback")
    b.add_argument("--host", default="127.0.0.1")
    b.add_argument("--port", type=int, default=1883)
    b.add_argument("--seconds", type=float, default=None, help="stop after this long (default: until Ctrl-C)")
    b.set_defaults(run=broker)
    s = fleet.add_parser("simulate", help="stream simulated devices to a broker")
    s.add_argument("--url", default="mqtt://127.0.0.1:1883")
    s.add_argument("--devices", type=int, default=10, help="devices per gateway")
    s.add_argument("--gateways", default="gw0", help="comma-separated gateway names")
    s.add_argument("--seconds", type=float, default=30.0, help="real seconds to stream")
    s.add_argument("--rate", type=float, default=1.0, help="readings per device per real second")
    s.add_argument("--drift", default="", help="comma-separated device ids to drift halfway through")
    s.set_defaults(run=simulate)
    g = fleet.add_parser("gateway", help="store a gateway's fleet in SQLite and print alerts")
    g.add_argument("--url", default="mqtt://127.0.0.1:1883")
    g.add_argument("--name", default="gw0")
    g.add_argument("--db", default="fleet.db")
    g.add_argument("--seconds", type=float, default=None, help="stop after this long (default: until Ctrl-C)")
    g.add_argument(
        "--durable",
        action="store_true",
        help="persistent session, acknowledge each message only once stored (needs a broker that keeps "
        "sessions, e.g. Mosquitto)",
    )
    g.set_defaults(run=gateway)


def _wait(seconds) -> None:
    try:
        if seconds is None:
            while True:
                time.sleep(1)
        time.sleep(seconds)
    except KeyboardInterrupt:
        pass


def broker(args) -> int:
    from scaledown.operate.fleet.broker import EmbeddedBroker

    with EmbeddedBroker(args.host, args.port) as b:
        print(f"broker listening on {b.url} (Ctrl-C to stop)", flush=True)
        _wait(args.seconds)
    return 0


def simulate(args) -> int:
    from scaledown.operate.fleet.device import Fleet, SensorWorld

    names = [n for n in args.gateways.split(",") if n]
    if args.rate <= 0:
        raise ValueError(f"--rate {args.rate} must be > 0 readings per second.")
    devices = Fleet(args.url, devices_per_gateway=args.devices, gateways=names, world=SensorWorld())
    drift = [d for d in args.drift.split(",") if d]
    unknown = sorted(set(drift) - set(devices.devices))
    if unknown:
        raise ValueError(f"--drift names unknown devices {unknown}; ids look like {next(iter(devices.devices))!r}.")
    with devices:
        start = time.monotonic()
        drifted = False
        while time.monotonic() - start < args.seconds:
            tick = time.monotonic()
            if not drifted and tick - start > args.seconds / 2:
                for d in drift:
                    devices.devices[d].inject_drift(1.5)
                drifted = True
            devices.step()
            time.sleep(max(0.0, 1.0 / args.rate - (time.monotonic() - tick)))
        devices.flush()
    print(json.dumps({"devices": len(devices.devices), "sent": devices.sent, "simulated_s": devices.clock.now}))
    return 0


def gateway(args) -> int:
    from scaledown.operate.fleet.device import SensorWorld
    from scaledown.operate.fleet.gateway import Gateway

    gw = Gateway(args.url, args.name, reference=SensorWorld().profile(), db=args.db, durable=args.durable)
    gw.start()
    print(f"gateway {args.name} on {args.url}, storing to {args.db} (Ctrl-C to stop)", flush=True)
    seen = 0
    start = time.monotonic()
    try:
        while args.seconds is None or time.monotonic() - start < args.seconds:
            time.sleep(0.5)
            for alert in gw.alerts[seen:]:
                print(json.dumps(alert), flush=True)
            seen = len(gw.alerts)
    except KeyboardInterrupt:
        pass
    gw.stop()
    print(json.dumps(gw.summary()))
    return 0
