"""Tiny image classifiers: MobileNet v1, MobileNet v2 and EfficientNet-lite, in Keras and in PyTorch.

An architecture is data (``spec.py``); ``build_keras`` and ``build_torch`` turn
the same spec into the same network, with the same parameter count and output
shape. Both output logits (no softmax).

>>> from scaledown.foundations.models import mobilenet_v1_spec, build
>>> spec = mobilenet_v1_spec(width=0.5)
>>> print(spec.describe())                      # doctest: +SKIP
>>> model = build(spec, framework="torch")      # doctest: +SKIP

TensorFlow and PyTorch are imported only when a model of that framework is built.
"""

from scaledown.foundations.models.spec import (  # noqa: F401
    ArchitectureSpec,
    BlockSpec,
    LayerSpec,
    efficientnet_lite_spec,
    make_divisible,
    mobilenet_v1_spec,
    mobilenet_v2_spec,
)
from scaledown.foundations.models.untrained import randomize_batchnorm  # noqa: F401

FRAMEWORKS = ("keras", "torch")


def build(spec, framework="keras"):
    """Build ``spec`` as a ``keras.Model`` (``framework="keras"``) or a ``torch.nn.Module`` (``"torch"``).

    Keras models take ``(batch, height, width, channels)``, PyTorch models
    ``(batch, channels, height, width)``; both return ``(batch, num_classes)`` logits.
    """
    _check_framework(framework)
    if framework == "keras":
        from scaledown.foundations.models.keras_builder import build_keras

        return build_keras(spec)
    from scaledown.foundations.models.torch_builder import build_torch

    return build_torch(spec)


def _check_framework(framework):
    # Checked before the spec is built so a typo fails first, and fast.
    if framework not in FRAMEWORKS:
        raise ValueError(f"framework={framework!r} is not supported; use one of {FRAMEWORKS}.")


def mobilenet_v1(input_shape=(32, 32, 1), num_classes=10, width=1.0, depth=1.0, kernel_size=3, framework="keras"):
    """MobileNet v1 model; see ``mobilenet_v1_spec`` for the arguments and ``build`` for the result."""
    _check_framework(framework)
    return build(mobilenet_v1_spec(input_shape, num_classes, width, depth, kernel_size), framework)


def mobilenet_v2(
    input_shape=(32, 32, 1), num_classes=10, width=1.0, depth=1.0, expansion=6, kernel_size=3, framework="keras"
):
    """MobileNet v2 model; see ``mobilenet_v2_spec`` for the arguments and ``build`` for the result."""
    _check_framework(framework)
    return build(mobilenet_v2_spec(input_shape, num_classes, width, depth, expansion, kernel_size), framework)


def efficientnet_lite(input_shape=(32, 32, 1), num_classes=10, width=1.0, depth=1.0, framework="keras"):
    """EfficientNet-lite model; see ``efficientnet_lite_spec`` for the arguments and ``build`` for the result."""
    _check_framework(framework)
    return build(efficientnet_lite_spec(input_shape, num_classes, width, depth), framework)


def baseline_spec():
    """Chapter 1's hand-designed baseline for ``digits``: MobileNet v1, width 1.0, 32×32×1 input, 10 classes.

    Later chapters (quantization, pruning, distillation, search) start from this model.
    """
    return mobilenet_v1_spec(input_shape=(32, 32, 1), num_classes=10, width=1.0)


def baseline(framework="keras"):
    """Chapter 1's baseline model (see ``baseline_spec``), untrained, in Keras or PyTorch."""
    return build(baseline_spec(), framework)
