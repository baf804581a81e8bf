"""Soak test: 200 simulated devices stream for 60 s of real time through the broker at QoS 1.

    .venv/bin/python benchmarks/fleet.py                       # embedded amqtt on loopback
    .venv/bin/python benchmarks/fleet.py --url mqtt://localhost:1883 --seconds 60 --devices 200

Four gateways of 50 devices each; every device sends one telemetry message per step
(and a heartbeat every sixth). At the end every gateway must have stored every message
it was sent: the script prints the counts and exits 1 if any was lost. A full-mode run
writes ``benchmarks/results/fleet.json``, which chapter 7 quotes.
"""

import argparse
import json
import sys
import time

import _results

import scaledown
from scaledown.operate import fleet


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=None, help="an external broker; default: start amqtt on 127.0.0.1")
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--gateways", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=1.0, help="readings per device per second")
    _results.add_option(parser)
    args = parser.parse_args(argv)
    started = time.monotonic()
    broker = None if args.url else fleet.EmbeddedBroker().start()
    url = args.url or broker.url
    names = [f"gw{i}" for i in range(args.gateways)]
    world = fleet.SensorWorld()
    gateways = [fleet.Gateway(url, n, reference=world.profile()).start() for n in names]
    devices = fleet.Fleet(url, devices_per_gateway=args.devices // args.gateways, gateways=names, world=world)
    t0 = time.monotonic()
    devices.connect()
    connect_s = time.monotonic() - t0
    start = time.monotonic()
    while time.monotonic() - start < args.seconds:
        tick = time.monotonic()
        devices.step()
        time.sleep(max(0.0, 1.0 / args.rate - (time.monotonic() - tick)))
    streamed_s = time.monotonic() - start
    devices.flush(60)
    expected = devices.sent
    deadline = time.monotonic() + 60
    while sum(g.stored + g.duplicates for g in gateways) < expected and time.monotonic() < deadline:
        time.sleep(0.1)
    drain_s = time.monotonic() - start - streamed_s
    stored = sum(g.stored for g in gateways)
    result = {
        "broker": "external " + url if args.url else "embedded amqtt",
        "devices": len(devices.devices),
        "gateways": len(gateways),
        "qos": 1,
        "seconds": round(streamed_s, 1),
        "connect_s": round(connect_s, 2),
        "sent": expected,
        "stored": stored,
        "lost": expected - stored,
        "duplicates": sum(g.duplicates for g in gateways),
        "malformed": sum(sum(g.malformed.values()) for g in gateways),
        "messages_per_s": round(expected / streamed_s, 1),
        "drain_after_s": round(drain_s, 2),
        "alerts": sum(len(g.alerts) for g in gateways),
    }
    devices.close()
    for g in gateways:
        g.stop()
    if broker:
        broker.stop()
    print(json.dumps(result, indent=2))
    _results.save("fleet", result, path=args.results, quick=scaledown.quick_mode(), seconds=time.monotonic() - started)
    return 0 if result["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
