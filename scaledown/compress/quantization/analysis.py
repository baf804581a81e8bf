"""How much does quantization hurt, and where? SQNR and per-layer sensitivity.

The signal-to-quantization-noise ratio compares a tensor with its quantized copy::

    SQNR = 10 · log10( ‖x‖² / ‖x − x̂‖² )   dB

Each bit adds about 6 dB; int8 weights usually sit around 30–45 dB. A layer
whose SQNR is much lower than the others is where accuracy goes.

``layer_sensitivity`` quantizes one layer at a time, the way an int8 runtime
stores it (batch norm folded in, symmetric int8, per tensor or per channel),
leaves every other layer in float, and records the layer's weight SQNR, the
model output's SQNR and the accuracy. Depthwise convolutions with per-tensor
scales are the classic culprits: folding BN gives their channels very
different ranges, and one scale cannot fit them all.
"""

import numpy as np

from scaledown.compress.quantization.arithmetic import fake_quantize, quantization_params, tensor_range


def sqnr_db(x, x_hat):
    """``10·log10(‖x‖² / ‖x − x̂‖²)`` in dB for arrays of the same shape; ``inf`` when they are equal."""
    x, x_hat = np.asarray(x, np.float64), np.asarray(x_hat, np.float64)
    noise = np.sum((x - x_hat) ** 2)
    return float("inf") if noise == 0 else float(10 * np.log10(np.sum(x**2) / noise))


class _Layer:
    """A weight tensor to quantize: how to read and write it, its channel axis, and its BN fold factor."""

    def __init__(self, name, kind, get, put, axis, fold):
        self.name, self.kind, self.get, self.put, self.axis, self.fold = name, kind, get, put, axis, fold


def _bn_factor(gamma, var, eps):
    return gamma / np.sqrt(var + eps)


def _keras_layers(model):
    import keras

    bn_after = {id(layer.input): layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)}
    layers = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            kind, axis = "depthwise", 2
        elif isinstance(layer, keras.layers.Conv2D):
            kind, axis = ("pointwise" if tuple(layer.kernel_size) == (1, 1) else "conv"), 3
        elif isinstance(layer, keras.layers.Dense):
            kind, axis = "dense", 1
        else:
            continue
        bn = bn_after.get(id(layer.output))
        fold = None if bn is None else _bn_factor(bn.gamma.numpy(), bn.moving_variance.numpy(), bn.epsilon)
        layers.append(
            _Layer(
                layer.name, kind, lambda v=layer.kernel: v.numpy(), lambda w, v=layer.kernel: v.assign(w), axis, fold
            )
        )
    return layers


def _torch_layers(model):
    import torch
    from torch import nn

    modules = dict(model.named_modules())
    layers = []
    for name, module in modules.items():
        if not isinstance(module, (nn.Conv2d, nn.Linear)):
            continue
        if isinstance(module, nn.Linear):
            kind = "dense"
        elif module.groups > 1 and module.groups == module.in_channels:
            kind = "depthwise"
        else:
            kind = "pointwise" if module.kernel_size == (1, 1) else "conv"
        parent_name, _, child = name.rpartition(".")
        siblings = (
            list(modules[parent_name]._modules.items()) if isinstance(modules.get(parent_name), nn.Sequential) else []
        )
        names = [n for n, _ in siblings]
        following = siblings[names.index(child) + 1][1] if child in names[:-1] else None
        fold = None
        if isinstance(following, nn.BatchNorm2d):
            fold = _bn_factor(following.weight.detach().numpy(), following.running_var.numpy(), following.eps)

        def put(w, parameter=module.weight):
            with torch.no_grad():
                parameter.copy_(torch.as_tensor(w, dtype=parameter.dtype))

        layers.append(_Layer(name, kind, lambda p=module.weight: p.detach().numpy().copy(), put, 0, fold))
    return layers


def _quantize_weight(layer, num_bits, per_channel):
    """The layer's weight after int8 quantization of its BN-folded form, and the SQNR of that folded weight."""
    weight = layer.get()
    shape = [1] * weight.ndim
    shape[layer.axis] = -1
    factor = np.ones(weight.shape[layer.axis]) if layer.fold is None else layer.fold
    folded = weight * factor.reshape(shape)
    axis = layer.axis if per_channel else None
    scale, zero_point = quantization_params(*tensor_range(folded, axis), num_bits, symmetric=True, narrow_range=True)
    quantized = fake_quantize(folded, scale, zero_point, num_bits, narrow_range=True, axis=axis)
    return weight, (quantized / factor.reshape(shape)).astype(weight.dtype), sqnr_db(folded, quantized)


def layer_sensitivity(model, x, y=None, per_channel=False, num_bits=8):
    """Quantize each layer's weights alone and measure what it costs.

    Parameters
    ----------
    model : keras.Model or torch.nn.Module
        Trained float model (logits output); batch norms after convolutions are
        folded into the weights before quantizing, as int8 runtimes do.
    x : ndarray (N, ...) float32
        Inputs in the model's layout (NHWC for Keras, NCHW for PyTorch).
    y : ndarray (N,) int, optional
        Labels; adds ``accuracy`` and ``accuracy_drop`` (float minus quantized, in points).
    per_channel : bool
        One scale per output channel instead of one per tensor.
    num_bits : int

    Returns
    -------
    list of dict
        One row per conv/dense layer, in model order: ``layer``, ``kind``
        (conv, depthwise, pointwise, dense), ``parameters``, ``weight_sqnr_db``,
        ``output_sqnr_db`` and, with labels, ``accuracy`` and ``accuracy_drop``.
        ``pandas.DataFrame(rows)`` shows it as a table.
    """
    from scaledown.foundations.frameworks import framework_of

    if framework_of(model) == "torch":
        from scaledown.foundations.training import predict_torch

        layers, predict = _torch_layers(model), (lambda: predict_torch(model, x))
    else:
        layers, predict = _keras_layers(model), (lambda: model.predict(x, verbose=0, batch_size=256))
    reference = predict()
    rows = []
    for layer in layers:
        weight, quantized, weight_sqnr = _quantize_weight(layer, num_bits, per_channel)
        layer.put(quantized)
        logits = predict()
        layer.put(weight)
        row = {
            "layer": layer.name,
            "kind": layer.kind,
            "parameters": int(weight.size),
            "weight_sqnr_db": round(weight_sqnr, 2),
            "output_sqnr_db": round(sqnr_db(reference, logits), 2),
        }
        if y is not None:
            row["accuracy"] = float((logits.argmax(1) == y).mean())
            row["accuracy_drop"] = round(100 * (float((reference.argmax(1) == y).mean()) - row["accuracy"]), 2)
        rows.append(row)
    return rows


def plot_layer_sensitivity(rows, metric="weight_sqnr_db", ax=None):
    """Bar plot of one column of ``layer_sensitivity`` rows, bars coloured by layer kind; returns the axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(max(6, 0.45 * len(rows)), 3.5))
    colours = {"conv": "tab:blue", "depthwise": "tab:red", "pointwise": "tab:green", "dense": "tab:purple"}
    ax.bar(range(len(rows)), [row[metric] for row in rows], color=[colours[row["kind"]] for row in rows])
    ax.set_xticks(range(len(rows)), [row["layer"] for row in rows], rotation=60, ha="right", fontsize=8)
    ax.set_ylabel(metric)
    ax.legend(
        handles=[plt.Rectangle((0, 0), 1, 1, color=c) for c in colours.values()], labels=list(colours), fontsize=8
    )
    return ax
