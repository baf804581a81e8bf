"""The framework edge of unstructured pruning: which weights are prunable, reading and writing them, sizes.

Prunable weights are the kernels of ``Conv2D`` and ``Dense`` layers (Keras, named by layer)
and the ``weight`` of ``nn.Conv2d`` and ``nn.Linear`` modules (PyTorch, named by module
path); depthwise convolutions join only when named. Zeros compress: ``size_report`` gzips
the weights, because a dense kernel still stores and multiplies every zero.
"""

from __future__ import annotations

import zlib

import numpy as np

from scaledown.compress.pruning.masks import _check_sparsity, _masks_for
from scaledown.foundations.frameworks import framework_of


def _prunable(model, depthwise=False):
    """``{name: variable}``: kernels of Conv2D / Dense (Keras), weights of Conv2d / Linear (PyTorch).

    Depthwise kernels join only with ``depthwise=True``.
    """
    if framework_of(model) == "torch":
        from torch import nn

        return {
            name: module.weight
            for name, module in model.named_modules()
            if isinstance(module, nn.Linear) or (isinstance(module, nn.Conv2d) and (depthwise or module.groups == 1))
        }
    import keras

    found = {}
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            if depthwise:
                found[layer.name] = layer.kernel
        elif isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)):
            found[layer.name] = layer.kernel
    return found


def _to_numpy(variable):
    return variable.detach().cpu().numpy().copy() if hasattr(variable, "detach") else np.array(variable.numpy())


def _assign(variable, array):
    if hasattr(variable, "detach"):
        import torch

        with torch.no_grad():
            variable.copy_(torch.as_tensor(array, dtype=variable.dtype))
    else:
        variable.assign(np.asarray(array, dtype=variable.dtype))


def prunable_weights(model, layers=None):
    """The prunable weights of a Keras or PyTorch model as ``{name: ndarray}`` (copies).

    By default the kernels of regular convolutions and dense layers; ``layers`` picks
    names instead, depthwise convolutions included (see the module docstring).
    """
    variables = _prunable(model, depthwise=layers is not None)
    if layers is not None:
        unknown = [name for name in layers if name not in variables]
        if unknown:
            raise ValueError(
                f"layers={unknown!r} are not prunable layers of this model; use names from {list(variables)}."
            )
        variables = {name: variables[name] for name in layers}
    return {name: _to_numpy(v) for name, v in variables.items()}


def apply_masks(model, masks):
    """Multiply each named weight by its keep-mask, in place (``masks`` is ``{name: bool ndarray}``)."""
    variables = _prunable(model, depthwise=True)
    for name, mask in masks.items():
        _assign(variables[name], _to_numpy(variables[name]) * mask)


def prune(model, sparsity, scope="global", layers=None):
    """Magnitude-prune a Keras or PyTorch model in place, once (no fine-tuning).

    Parameters
    ----------
    model : keras.Model or torch.nn.Module
    sparsity : float in [0, 1)
        Fraction of the prunable weights set to zero.
    scope : {"global", "layer"}
        One threshold for all layers, or the same fraction in every layer.
    layers : list of str, optional
        Prune only these layers (names from ``prunable_weights(model)``).

    Returns
    -------
    dict of {str: ndarray of bool}
        The keep-masks that were applied.
    """
    _check_sparsity(sparsity)
    masks = _masks_for(prunable_weights(model, layers), sparsity, scope)
    apply_masks(model, masks)
    return masks


def sparsity_table(model):
    """One row per prunable layer: ``{"layer", "parameters", "zeros", "sparsity"}``."""
    rows = []
    for name, w in prunable_weights(model).items():
        zeros = int(np.sum(w == 0))
        rows.append({"layer": name, "parameters": int(w.size), "zeros": zeros, "sparsity": zeros / w.size})
    return rows


def model_sparsity(model):
    """Fraction of the prunable weights that are exactly zero."""
    rows = sparsity_table(model)
    return sum(r["zeros"] for r in rows) / max(1, sum(r["parameters"] for r in rows))


def _all_weights(model):
    if framework_of(model) == "torch":
        return [t.detach().cpu().numpy() for t in model.state_dict().values() if t.is_floating_point()]
    return [np.asarray(w) for w in model.get_weights()]


def size_report(model, input_shape=None):
    """What the model costs on disk, compressed or not, and in RAM.

    Parameters
    ----------
    model : keras.Model or torch.nn.Module
    input_shape : tuple of int, optional
        Batch-1 input shape for the RAM estimate of a PyTorch model, e.g. ``(1, 1, 32, 32)``.

    Returns
    -------
    dict
        ``parameters`` (every float weight, BN statistics included), ``nonzero``,
        ``dense_bytes`` (float32 on disk: 4 per weight, zeros included),
        ``compressed_bytes`` (those bytes through zlib level 9, like gzip),
        ``peak_activation_bytes`` (float32 RAM for activations, from ``scaledown.profile``):
        zeros in the weights change the compressed size, not the activations.
    """
    from scaledown.foundations.hardware import profile

    arrays = [np.asarray(a, np.float32) for a in _all_weights(model)]
    raw = b"".join(a.tobytes() for a in arrays)
    peak = profile(model, target="nano33ble", input_shape=input_shape).peak_activation_bytes
    return {
        "parameters": int(sum(a.size for a in arrays)),
        "nonzero": int(sum(np.count_nonzero(a) for a in arrays)),
        "dense_bytes": len(raw),
        "compressed_bytes": len(zlib.compress(raw, 9)),
        "peak_activation_bytes": int(peak),
    }


def compressed_size(data):
    """Bytes of ``data`` (bytes, e.g. a ``.tflite``) after zlib level 9 compression, as gzip would store it."""
    return len(zlib.compress(bytes(data), 9))
