"""Build an ``ArchitectureSpec`` as a PyTorch ``nn.Module`` with the same layers as the Keras model.

Differences from Keras, none of which change shapes or parameter counts:

* Input is NCHW: ``(batch, channels, height, width)``.
* Padding: every kernel is odd and padded by ``k // 2`` on each side, which gives
  ``ceil(H / stride)`` rows, the same as Keras ``padding="same"``. With stride 2
  Keras pads asymmetrically (the extra row and column go to the bottom and right)
  so the two sample slightly different pixels; weights copied from one framework
  to the other would not give identical outputs.
* BatchNorm uses Keras's default ``eps=1e-3`` and ``momentum=0.01``, the equivalent of
  Keras's default 0.99 (PyTorch's momentum weighs the new batch, Keras's the running
  average). The Keras builder uses 0.9 instead (see keras_builder.py), so a short PyTorch
  training keeps its batch-norm statistics closer to their start than the same Keras one.

The model outputs logits (no softmax): train it with ``nn.CrossEntropyLoss``.
"""

from collections import OrderedDict

from torch import nn

BN_EPS = 1e-3
BN_MOMENTUM = 0.01  # = 1 - Keras's 0.99


def _conv_bn(in_channels, out_channels, kernel_size, stride, activation=True, depthwise=False):
    """Conv (no bias, padding ``k // 2``) + BN (+ ReLU6)."""
    groups = in_channels if depthwise else 1
    layers = [
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_channels, eps=BN_EPS, momentum=BN_MOMENTUM),
    ]
    if activation:
        layers.append(nn.ReLU6())
    return nn.Sequential(*layers)


def _separable(in_channels, block):
    return nn.Sequential(
        OrderedDict(
            depthwise=_conv_bn(in_channels, in_channels, block.kernel_size, block.stride, depthwise=True),
            pointwise=_conv_bn(in_channels, block.out_channels, 1, 1),
        )
    )


class InvertedResidual(nn.Module):
    """Expand 1x1 (if ``expansion > 1``), depthwise k x k, linear project 1x1, plus the input when shapes allow.

    Input ``(batch, in_channels, H, W)``; output ``(batch, out_channels, ceil(H / stride), ceil(W / stride))``.
    """

    def __init__(self, in_channels, block):
        super().__init__()
        hidden = block.hidden_channels(in_channels)
        layers = OrderedDict()
        if block.expansion != 1:
            layers["expand"] = _conv_bn(in_channels, hidden, 1, 1)
        layers["depthwise"] = _conv_bn(hidden, hidden, block.kernel_size, block.stride, depthwise=True)
        layers["project"] = _conv_bn(hidden, block.out_channels, 1, 1, activation=False)
        self.layers = nn.Sequential(layers)
        self.use_residual = block.uses_residual(in_channels)

    def forward(self, x):
        return x + self.layers(x) if self.use_residual else self.layers(x)


def build_torch(spec):
    """Build ``spec`` as a PyTorch ``nn.Sequential``.

    Parameters
    ----------
    spec : ArchitectureSpec

    Returns
    -------
    torch.nn.Sequential
        Input ``(batch, channels, height, width)`` float32 (the spec's
        ``input_shape`` is ``(height, width, channels)``); output
        ``(batch, num_classes)`` logits.
    """
    channels = spec.input_shape[2]
    modules = OrderedDict(stem=_conv_bn(channels, spec.stem.out_channels, spec.stem.kernel_size, spec.stem.stride))
    channels = spec.stem.out_channels
    for index, block in enumerate(spec.blocks):
        build_block = _separable if block.kind == "separable" else InvertedResidual
        modules[f"block{index}"] = build_block(channels, block)
        channels = block.out_channels
    if spec.head_channels is not None:
        modules["head"] = _conv_bn(channels, spec.head_channels, 1, 1)
        channels = spec.head_channels
    modules["pool"] = nn.AdaptiveAvgPool2d(1)
    modules["flatten"] = nn.Flatten()
    if spec.dropout > 0:
        modules["dropout"] = nn.Dropout(spec.dropout)
    modules["logits"] = nn.Linear(channels, spec.num_classes)
    return nn.Sequential(modules)
