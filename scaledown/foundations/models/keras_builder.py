"""Build an ``ArchitectureSpec`` as a Keras 3 functional model.

The model outputs logits (no softmax): train it with
``keras.losses.SparseCategoricalCrossentropy(from_logits=True)``.

The classifier is a 1x1 convolution on the pooled 1x1 feature map, then a flatten: the
same weights and arithmetic as a ``Dense`` layer, but the int8 ``.tflite`` gets a
``CONV_2D`` instead of a ``FULLY_CONNECTED``. LiteRT's int8 ``FULLY_CONNECTED`` rounds
once where TFLite Micro's rounds twice, so on a rounding tie the two runtimes differ by
one step; their ``CONV_2D`` kernels agree bit for bit, so the file the board runs can be
checked on the desktop exactly.
"""

import keras
from keras import layers

# Batch norm's moving averages: new = momentum * old + (1 - momentum) * batch. Keras's default,
# 0.99, averages over about 100 steps and needs many hundreds to forget its start (mean 0,
# variance 1); a short training on digits (45 steps an epoch) then evaluates with statistics
# that are still wrong (the chapter-3 lab's 10-epoch baseline scored 11% in inference mode).
# 0.9 is PyTorch's own default (``momentum=0.1`` there). The PyTorch builder keeps 0.01, the
# equivalent of Keras's 0.99 (see torch_builder.py): the two builds of a spec differ here.
BN_MOMENTUM = 0.9


def _conv_bn(x, filters, kernel_size, stride, name, activation=True, depthwise=False):
    """Conv (no bias, "same" padding) + BN (+ ReLU6)."""
    if depthwise:
        x = layers.DepthwiseConv2D(kernel_size, stride, padding="same", use_bias=False, name=f"{name}_conv")(x)
    else:
        x = layers.Conv2D(filters, kernel_size, stride, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    if activation:
        x = layers.ReLU(max_value=6.0, name=f"{name}_relu6")(x)
    return x


def _separable(x, block, name):
    x = _conv_bn(x, None, block.kernel_size, block.stride, f"{name}_depthwise", depthwise=True)
    return _conv_bn(x, block.out_channels, 1, 1, f"{name}_pointwise")


def _inverted_residual(x, block, name):
    in_channels = x.shape[-1]
    inputs = x
    if block.expansion != 1:
        x = _conv_bn(x, block.hidden_channels(in_channels), 1, 1, f"{name}_expand")
    x = _conv_bn(x, None, block.kernel_size, block.stride, f"{name}_depthwise", depthwise=True)
    x = _conv_bn(x, block.out_channels, 1, 1, f"{name}_project", activation=False)  # linear bottleneck
    if block.uses_residual(in_channels):
        x = layers.Add(name=f"{name}_add")([inputs, x])
    return x


def build_keras(spec, name=None):
    """Build ``spec`` as a ``keras.Model``.

    Parameters
    ----------
    spec : ArchitectureSpec
    name : str, optional
        Model name; ``spec.name`` by default.

    Returns
    -------
    keras.Model
        Input ``(batch, height, width, channels)`` float32 (channels-last,
        ``spec.input_shape``); output ``(batch, num_classes)`` logits.
    """
    inputs = keras.Input(shape=spec.input_shape, name="input")
    x = _conv_bn(inputs, spec.stem.out_channels, spec.stem.kernel_size, spec.stem.stride, "stem")
    for index, block in enumerate(spec.blocks):
        build_block = _separable if block.kind == "separable" else _inverted_residual
        x = build_block(x, block, f"block{index}")
    if spec.head_channels is not None:
        x = _conv_bn(x, spec.head_channels, 1, 1, "head")
    x = layers.GlobalAveragePooling2D(keepdims=True, name="pool")(x)  # (batch, 1, 1, channels)
    if spec.dropout > 0:
        x = layers.Dropout(spec.dropout, name="dropout")(x)
    x = layers.Conv2D(spec.num_classes, 1, name="logits")(x)  # a dense layer, as a 1x1 conv (see above)
    outputs = layers.Flatten(name="flatten")(x)
    return keras.Model(inputs, outputs, name=name or spec.name)
