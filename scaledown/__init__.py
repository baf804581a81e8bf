"""scaledown: the companion package of the ScaleDown TinyML / TinyMLOps course.

    import scaledown
    scaledown.profile(model, target="nano33ble")   # fits? ops? latency?

Subpackages: ``datasets``, ``models``, ``hardware``, ``training``, ``labs``.
TensorFlow and PyTorch are imported only when a model of theirs is used.
"""
__version__ = "0.1.0"

from scaledown.config import pick, quick_mode  # noqa: F401
from scaledown.hardware import get_target, list_targets, profile  # noqa: F401
from scaledown.deploy import create_deployment_package, wrap  # noqa: F401  (numpy only; frameworks load on use)


def __getattr__(name):
    # scaledown.quantize is imported on first use, so `import scaledown` stays free of TensorFlow and PyTorch.
    if name == "quantize":
        from scaledown.quantization import quantize

        return quantize
    raise AttributeError(f"module 'scaledown' has no attribute {name!r}")
