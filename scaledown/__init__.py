"""scaledown: the companion package of the ScaleDown TinyML / TinyMLOps course.

    import scaledown
    scaledown.profile(model, target="nano33ble")   # fits? ops? latency?

The folders follow the course's four parts; each imports only from the parts before it:

``foundations``  datasets, models, hardware targets and the profiler, training (chapters 0-1)
``compress``     quantization, pruning, distillation, architecture search (chapters 2-5)
``deploy``       packages for the Pi and microcontrollers, deployment architectures, power (chapter 6)
``operate``      fleet monitoring and drift, over-the-air updates, federated learning, robustness (chapter 7)
``labs``         the lab framework (checks, hints, grading); ``cli`` the ``scaledown`` command

TensorFlow and PyTorch are imported only when a model of theirs is used.
"""

__version__ = "0.1.0"

from scaledown.deploy import create_deployment_package, wrap  # noqa: F401  (numpy only; frameworks load on use)
from scaledown.foundations.config import pick, quick_mode  # noqa: F401
from scaledown.foundations.hardware import get_target, list_targets, profile  # noqa: F401


def __getattr__(name):
    # scaledown.quantize is imported on first use, so `import scaledown` stays free of TensorFlow and PyTorch.
    if name == "quantize":
        from scaledown.compress.quantization import quantize

        return quantize
    raise AttributeError(f"module 'scaledown' has no attribute {name!r}")
