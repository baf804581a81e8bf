"""Fleet telemetry: simulated devices → MQTT broker → gateways (SQLite, alerts) → cloud.

    from scaledown.operate import fleet
    with fleet.EmbeddedBroker() as broker:
        world = fleet.SensorWorld()
        with fleet.Gateway(broker.url, "gw0", reference=world.profile()) as gw, \\
             fleet.Fleet(broker.url, devices_per_gateway=10, world=world) as devices:
            devices.run(60)                      # 60 readings each, 5 simulated minutes
            devices.flush(); gw.wait_for(devices.sent)
            print(gw.summary(), gw.alerts)

Modules: ``broker`` (embedded amqtt or an external broker by URL), ``topics`` (the
topic layout), ``device`` (simulator and simulated clock), ``gateway`` (SQLite and
alerts; the cloud tier), ``drift`` (PSI, KS, calibrated on the reference),
``multivariate`` (PCA reconstruction drift), ``streaming`` (river's ADWIN and
Page-Hinkley), ``performance`` (CBPE: accuracy from confidences), ``sensors`` (stuck-at, out-of-range,
noise), ``dashboard`` (ipywidgets + matplotlib).
"""

from scaledown.operate.fleet import topics  # noqa: F401
from scaledown.operate.fleet.broker import EmbeddedBroker, MosquittoBroker, connect, parse_url, start_broker  # noqa: F401
from scaledown.operate.fleet.dashboard import device_status, fleet_dashboard, plot_fleet  # noqa: F401
from scaledown.operate.fleet.device import Fleet, ReferenceProfile, SensorWorld, SimClock, SimulatedDevice  # noqa: F401
from scaledown.operate.fleet.drift import DriftDetector, categorical_psi, ks_statistic, ks_test, psi  # noqa: F401
from scaledown.operate.fleet.gateway import Cloud, Gateway, GatewayConfig, validate  # noqa: F401
from scaledown.operate.fleet.multivariate import ReconstructionDriftDetector  # noqa: F401
from scaledown.operate.fleet.performance import estimate_accuracy  # noqa: F401
from scaledown.operate.fleet.sensors import FAILURES, check_readings  # noqa: F401
from scaledown.operate.fleet.streaming import change_detector, detect_changes  # noqa: F401
