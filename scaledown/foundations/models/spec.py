"""An architecture is data: the spec that both the Keras and the PyTorch builders read.

A spec is a stem convolution, a list of blocks, an optional 1x1 head convolution
and a classifier (global average pooling, dropout, dense; Keras builds the dense
layer as an equivalent 1x1 conv, see ``keras_builder``). Two block kinds cover
the course's models:

``"separable"`` (MobileNet v1)
    depthwise k x k + BN + ReLU6, then pointwise 1x1 + BN + ReLU6.
``"inverted_residual"`` (MobileNet v2, EfficientNet-lite MBConv)
    1x1 expand to ``in_channels * expansion`` + BN + ReLU6 (skipped when
    ``expansion == 1``), depthwise k x k + BN + ReLU6, 1x1 project + BN with no
    activation ("linear bottleneck"); the input is added back when
    ``stride == 1`` and ``in_channels == out_channels``.

Every convolution has no bias (BN follows it) and "same" padding, so a layer of
stride ``s`` turns ``H`` rows into ``ceil(H / s)``. This module imports no
framework, so ``describe()``, ``count_parameters()`` and ``count_macs()`` work
without TensorFlow or PyTorch installed.

The stage tables are sized for small inputs (32x32 digits up to 96x96 images):
the stem has stride 2 and three stages of stride 2 follow, so the network
downsamples by 16 (32x32 -> 2x2, 96x96 -> 6x6).
"""

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Optional, Tuple

BLOCK_KINDS = ("separable", "inverted_residual")


def make_divisible(value, divisor=8, min_value=None):
    """Round a channel count to the nearest multiple of ``divisor``.

    The rule used by MobileNet v2 / EfficientNet: never below ``min_value``
    (``divisor`` by default) and never more than 10% below ``value``. Multiples
    of 8 map well onto SIMD lanes and the kernels of TFLite Micro / CMSIS-NN.

    Parameters
    ----------
    value : float
        Channel count before rounding, e.g. ``64 * width``.
    divisor : int
    min_value : int, optional

    Returns
    -------
    int

    Examples
    --------
    >>> make_divisible(64 * 0.5), make_divisible(64 * 0.25), make_divisible(16 * 0.25)
    (32, 16, 8)
    """
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:  # rounding down lost more than 10%: go one step up
        rounded += divisor
    return rounded


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_positive_int(name, value):
    if not _is_int(value) or value <= 0:
        raise ValueError(f"{name}={value!r} is not valid; use a positive integer.")


def _check_kernel(name, value):
    if not _is_int(value) or value <= 0 or value % 2 == 0:
        raise ValueError(f"{name}={value!r} is not valid; use an odd positive integer such as 3 or 5.")


def _check_multiplier(name, value):
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not value > 0:
        raise ValueError(f"{name}={value!r} is not valid; use a number greater than 0, e.g. 0.5 or 1.0.")


@dataclass(frozen=True)
class LayerSpec:
    """A conv + BN + ReLU6 layer (used for the stem): ``out_channels`` filters of ``kernel_size`` x ``kernel_size``."""

    out_channels: int
    kernel_size: int = 3
    stride: int = 1

    def __post_init__(self):
        _check_positive_int("out_channels", self.out_channels)
        _check_kernel("kernel_size", self.kernel_size)
        if self.stride not in (1, 2):
            raise ValueError(f"stride={self.stride!r} is not valid; use 1 or 2.")


@dataclass(frozen=True)
class BlockSpec:
    """One block: ``kind`` is ``"separable"`` or ``"inverted_residual"``.

    ``expansion`` is the inverted residual's hidden-width factor ``t``
    (hidden channels = ``in_channels * t``); separable blocks ignore it.
    """

    kind: str
    out_channels: int
    stride: int = 1
    kernel_size: int = 3
    expansion: int = 1

    def __post_init__(self):
        if self.kind not in BLOCK_KINDS:
            raise ValueError(f"kind={self.kind!r} is not a block kind; use one of {BLOCK_KINDS}.")
        _check_positive_int("out_channels", self.out_channels)
        _check_kernel("kernel_size", self.kernel_size)
        _check_positive_int("expansion", self.expansion)
        if self.stride not in (1, 2):
            raise ValueError(f"stride={self.stride!r} is not valid; use 1 or 2.")

    def hidden_channels(self, in_channels):
        """Channels of the depthwise convolution: ``in_channels * expansion`` (``in_channels`` for separable)."""
        return in_channels * self.expansion if self.kind == "inverted_residual" else in_channels

    def uses_residual(self, in_channels):
        """True when the block adds its input to its output (inverted residual, stride 1, same channels)."""
        return self.kind == "inverted_residual" and self.stride == 1 and in_channels == self.out_channels


@dataclass(frozen=True)
class ArchitectureSpec:
    """A whole network as data; build it with ``build_keras`` or ``build_torch``.

    Parameters
    ----------
    input_shape : tuple of 3 int
        ``(height, width, channels)``, channels-last as in Keras; PyTorch models
        take ``(channels, height, width)``.
    num_classes : int
        Size of the output logits.
    stem : LayerSpec
    blocks : tuple of BlockSpec
    head_channels : int, optional
        Channels of a 1x1 conv + BN + ReLU6 after the blocks; ``None`` for none.
    dropout : float
        Dropout rate before the classifier, in ``[0, 1)``; ``0`` adds no layer.
    name : str
    """

    input_shape: Tuple[int, int, int]
    num_classes: int
    stem: LayerSpec
    blocks: Tuple[BlockSpec, ...]
    head_channels: Optional[int] = None
    dropout: float = 0.0
    name: str = "convnet"

    def __post_init__(self):
        shape = self.input_shape
        if not (isinstance(shape, (tuple, list)) and len(shape) == 3 and all(_is_int(d) and d > 0 for d in shape)):
            raise ValueError(
                f"input_shape={shape!r} is not valid; use 3 positive integers (height, width, channels), e.g. (32, 32, 1)."
            )
        object.__setattr__(self, "input_shape", tuple(int(d) for d in shape))
        object.__setattr__(self, "blocks", tuple(self.blocks))
        _check_positive_int("num_classes", self.num_classes)
        if self.head_channels is not None:
            _check_positive_int("head_channels", self.head_channels)
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout={self.dropout!r} is not valid; use a rate in [0, 1).")

    def with_changes(self, **changes):
        """A copy with some fields replaced, e.g. ``spec.with_changes(num_classes=2, dropout=0.1)``."""
        return dataclasses.replace(self, **changes)

    def layers(self):
        """One row per layer group (stem, each block, head, classifier), as dicts.

        Each row has ``name, kind, kernel, stride, expansion, in_channels,
        out_channels, output_hw, residual, params, bn_statistics, macs``.
        ``params`` counts trainable weights (conv kernels, BN gamma and beta,
        dense kernel and bias); ``bn_statistics`` counts BN's non-trainable
        moving mean and variance; ``macs`` counts the multiply-accumulates of
        convolutions and the dense layer for one input (BN, ReLU6, add and
        pooling are left out).
        """
        height, width, channels = self.input_shape
        rows = []

        def conv(cin, cout, kernel, stride, groups=1):
            # One conv + BN: returns (params, bn_statistics, macs) and moves the feature map along.
            nonlocal height, width
            height, width = math.ceil(height / stride), math.ceil(width / stride)
            weights = kernel * kernel * (cin // groups) * cout
            return weights + 2 * cout, 2 * cout, weights * height * width

        def add_row(name, kind, kernel, stride, expansion, cin, cout, parts, residual=False):
            params, bn_statistics, macs = (sum(values) for values in zip(*parts))
            rows.append(
                dict(
                    name=name,
                    kind=kind,
                    kernel=kernel,
                    stride=stride,
                    expansion=expansion,
                    in_channels=cin,
                    out_channels=cout,
                    output_hw=(height, width),
                    residual=residual,
                    params=params,
                    bn_statistics=bn_statistics,
                    macs=macs,
                )
            )

        stem = self.stem
        add_row(
            "stem",
            "conv",
            stem.kernel_size,
            stem.stride,
            None,
            channels,
            stem.out_channels,
            [conv(channels, stem.out_channels, stem.kernel_size, stem.stride)],
        )
        channels = stem.out_channels
        for index, block in enumerate(self.blocks):
            hidden = block.hidden_channels(channels)
            parts = []
            if block.kind == "inverted_residual" and block.expansion != 1:
                parts.append(conv(channels, hidden, 1, 1))
            parts.append(conv(hidden, hidden, block.kernel_size, block.stride, groups=hidden))
            parts.append(conv(hidden, block.out_channels, 1, 1))
            expansion = block.expansion if block.kind == "inverted_residual" else None
            add_row(
                f"block{index}",
                block.kind,
                block.kernel_size,
                block.stride,
                expansion,
                channels,
                block.out_channels,
                parts,
                residual=block.uses_residual(channels),
            )
            channels = block.out_channels
        if self.head_channels is not None:
            add_row(
                "head", "conv", 1, 1, None, channels, self.head_channels, [conv(channels, self.head_channels, 1, 1)]
            )
            channels = self.head_channels
        height = width = 1  # global average pooling
        dense = channels * self.num_classes
        add_row(
            "classifier", "dense", None, None, None, channels, self.num_classes, [(dense + self.num_classes, 0, dense)]
        )
        return rows

    def count_parameters(self, include_bn_statistics=False):
        """Number of trainable parameters; with ``include_bn_statistics`` also BN's moving mean and variance.

        Keras ``model.count_params()`` equals ``count_parameters(include_bn_statistics=True)``.
        """
        rows = self.layers()
        return sum(r["params"] for r in rows) + (sum(r["bn_statistics"] for r in rows) if include_bn_statistics else 0)

    def count_macs(self):
        """Multiply-accumulates for one input (convolutions and the dense layer)."""
        return sum(row["macs"] for row in self.layers())

    def describe(self):
        """A text table of the layers with output size, parameters and MACs, and a total line."""
        header = f"{'layer':<11}{'kind':<18}{'k':>2}{'s':>3}{'t':>3}{'in->out':>10}{'output':>9}{'res':>5}{'params':>9}{'MACs':>11}"
        lines = [f"{self.name}: input {self.input_shape}, {self.num_classes} classes", header, "-" * len(header)]
        for row in self.layers():
            dash = lambda v: "-" if v is None else v  # noqa: E731
            channels = f"{row['in_channels']}->{row['out_channels']}"
            output = "{}x{}".format(*row["output_hw"])
            lines.append(
                f"{row['name']:<11}{row['kind']:<18}{dash(row['kernel']):>2}{dash(row['stride']):>3}"
                f"{dash(row['expansion']):>3}{channels:>10}{output:>9}{'yes' if row['residual'] else '':>5}"
                f"{row['params']:>9,}{row['macs']:>11,}"
            )
        lines.append("-" * len(header))
        lines.append(f"{'total':<63}{self.count_parameters():>9,}{self.count_macs():>11,}")
        return "\n".join(lines)


def _stages_to_blocks(stages, width, depth):
    """Expand ``(kind, expansion, channels, repeats, stride, kernel)`` stages into blocks.

    Channels are multiplied by ``width`` and rounded with ``make_divisible``;
    repeats by ``depth`` and rounded up. Only a stage's first block has its stride.
    """
    blocks = []
    for kind, expansion, channels, repeats, stride, kernel in stages:
        out_channels = make_divisible(channels * width)
        for i in range(math.ceil(repeats * depth)):
            blocks.append(BlockSpec(kind, out_channels, stride if i == 0 else 1, kernel, expansion))
    return tuple(blocks)


def _check_multipliers(width, depth):
    # input_shape and num_classes are checked by ArchitectureSpec itself.
    _check_multiplier("width", width)
    _check_multiplier("depth", depth)


def mobilenet_v1_spec(input_shape=(32, 32, 1), num_classes=10, width=1.0, depth=1.0, kernel_size=3):
    """MobileNet v1 (Howard et al., 2017) sized for small inputs.

    Stem: 3x3 conv, 16 channels, stride 2. Stages of separable blocks
    (channels, stride, repeats): (16, 1, 1), (32, 2, 1), (64, 2, 2), (128, 2, 2);
    no head conv, no dropout. The paper's network starts at 32 channels and goes
    to 1024 for 224x224 images; this one is about a quarter as wide and shallower.

    Parameters
    ----------
    input_shape : tuple of 3 int
        ``(height, width, channels)``, e.g. ``(32, 32, 1)`` for digits.
    num_classes : int
    width : float
        Width multiplier (the paper's alpha): every layer's channels times
        ``width``, rounded to a multiple of 8. Parameters and MACs scale about
        as ``width ** 2``.
    depth : float
        Depth multiplier: every stage's repeat count times ``depth``, rounded up.
        (The paper's "depth multiplier" is a different thing, the depthwise
        channel multiplier; here depth means number of blocks, as in EfficientNet.)
    kernel_size : int
        Odd depthwise kernel size.

    Returns
    -------
    ArchitectureSpec
    """
    _check_multipliers(width, depth)
    _check_kernel("kernel_size", kernel_size)
    stages = [("separable", 1, c, n, s, kernel_size) for c, s, n in [(16, 1, 1), (32, 2, 1), (64, 2, 2), (128, 2, 2)]]
    return ArchitectureSpec(
        input_shape=input_shape,
        num_classes=num_classes,
        stem=LayerSpec(make_divisible(16 * width), 3, 2),
        blocks=_stages_to_blocks(stages, width, depth),
        name="mobilenet_v1",
    )


def mobilenet_v2_spec(input_shape=(32, 32, 1), num_classes=10, width=1.0, depth=1.0, expansion=6, kernel_size=3):
    """MobileNet v2 (Sandler et al., 2018) sized for small inputs.

    Stem: 3x3 conv, 16 channels, stride 2. Stages of inverted residuals
    (t, c, n, s) = (expansion, channels, repeats, stride): (1, 16, 1, 1),
    (t, 24, 2, 2), (t, 32, 2, 2), (t, 64, 2, 2); then a 1x1 head conv to 128
    channels and dropout 0.2. The second block of each stage has a residual add.

    Parameters
    ----------
    input_shape : tuple of 3 int
        ``(height, width, channels)``.
    num_classes : int
    width : float
        Width multiplier; scales every layer, stem and head included.
    depth : float
        Repeat count multiplier (rounded up).
    expansion : int
        Hidden-width factor ``t`` of all stages but the first (the paper uses 6).
    kernel_size : int
        Odd depthwise kernel size.

    Returns
    -------
    ArchitectureSpec
    """
    _check_multipliers(width, depth)
    _check_kernel("kernel_size", kernel_size)
    _check_positive_int("expansion", expansion)
    table = [(1, 16, 1, 1), (expansion, 24, 2, 2), (expansion, 32, 2, 2), (expansion, 64, 2, 2)]
    stages = [("inverted_residual", t, c, n, s, kernel_size) for t, c, n, s in table]
    return ArchitectureSpec(
        input_shape=input_shape,
        num_classes=num_classes,
        stem=LayerSpec(make_divisible(16 * width), 3, 2),
        blocks=_stages_to_blocks(stages, width, depth),
        head_channels=make_divisible(128 * width),
        dropout=0.2,
        name="mobilenet_v2",
    )


def efficientnet_lite_spec(input_shape=(32, 32, 1), num_classes=10, width=1.0, depth=1.0):
    """EfficientNet-lite (Tan & Le, 2019; the "lite" variant for mobile and MCU) sized for small inputs.

    The MBConv blocks are inverted residuals with ReLU6 and no squeeze-excite:
    "lite" removed squeeze-excite and swish because they quantize poorly and are
    missing or slow on many accelerators and microcontrollers. Stem: 3x3 conv,
    16 channels, stride 2. Stages (t, c, n, s, k): (1, 16, 1, 1, 3),
    (6, 24, 2, 2, 3), (6, 40, 2, 2, 5), (6, 64, 2, 2, 3), (6, 80, 1, 1, 5);
    1x1 head conv to 160 channels, dropout 0.2. Unlike the original lite models,
    which keep stem and head fixed, width scales them too so small widths stay small.
    EfficientNet's third scaling axis, resolution, is ``input_shape``.

    Parameters
    ----------
    input_shape : tuple of 3 int
        ``(height, width, channels)``.
    num_classes : int
    width : float
        Width multiplier.
    depth : float
        Repeat count multiplier (rounded up).

    Returns
    -------
    ArchitectureSpec
    """
    _check_multipliers(width, depth)
    table = [(1, 16, 1, 1, 3), (6, 24, 2, 2, 3), (6, 40, 2, 2, 5), (6, 64, 2, 2, 3), (6, 80, 1, 1, 5)]
    stages = [("inverted_residual", t, c, n, s, k) for t, c, n, s, k in table]
    return ArchitectureSpec(
        input_shape=input_shape,
        num_classes=num_classes,
        stem=LayerSpec(make_divisible(16 * width), 3, 2),
        blocks=_stages_to_blocks(stages, width, depth),
        head_channels=make_divisible(160 * width),
        dropout=0.2,
        name="efficientnet_lite",
    )
