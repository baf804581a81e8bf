"""Structured pruning, framework-free: score filters, choose the channels each conv keeps, and carry
the kept indices down a chain of layer records; ``keras_edge`` and ``torch_edge`` read and rebuild models."""

from __future__ import annotations

import math

import numpy as np

from scaledown.foundations.frameworks import framework_of

# --- structured pruning: remove channels, rebuild a smaller model ---------------------------------
#
# The core works on a chain of layer records in one layout (PyTorch's):
#   conv      weight (out, in, kh, kw)          depthwise weight (C, 1, kh, kw)
#   dense     weight (out, in)                  bn        per-channel vectors
#   pass      no weights, channels unchanged (activations, pooling, dropout, flatten after pooling)
# Each conv listed in ``ratios`` keeps its highest-scoring filters; the kept channel indices
# then flow down the chain until the next conv or dense layer takes them as its inputs.


def _filter_scores(weight, bn):
    """L1 norm of each filter as BN folding would scale it: ``|gamma| / sqrt(var + eps) * sum |W|``."""
    scores = np.abs(weight).reshape(len(weight), -1).sum(axis=1)
    if bn is not None:
        scores = scores * np.abs(bn["scale"])
    return scores


def _prune_chain(records, ratios, min_channels, multiple_of=1):
    """New weights for every record after removing filters; returns ``(records, kept channels per conv)``."""
    out, keep, kept_counts = [], None, {}
    for index, record in enumerate(records):
        kind, weights = record["kind"], dict(record.get("weights", {}))
        if kind == "conv":
            w = weights["weight"] if keep is None else weights["weight"][:, keep]
            weights["weight"] = w
            if record["name"] in ratios:
                follower = records[index + 1] if index + 1 < len(records) else None
                bn = follower.get("bn_fold") if follower is not None and follower["kind"] == "bn" else None
                num_keep = max(min(min_channels, len(w)), int(round(len(w) * (1 - ratios[record["name"]]))))
                num_keep = min(len(w), multiple_of * math.ceil(num_keep / multiple_of))
                keep = np.sort(np.argsort(-_filter_scores(w, bn), kind="stable")[:num_keep])
                weights = {k: v[keep] for k, v in weights.items()}  # weight and bias, along the filter axis
                kept_counts[record["name"]] = int(num_keep)
            else:
                keep = None
        elif kind in ("depthwise", "bn") and keep is not None:
            weights = {k: v[keep] for k, v in weights.items()}
        elif kind == "dense" and keep is not None:
            weights["weight"] = weights["weight"][:, keep]
            keep = None
        out.append({**record, "weights": weights})
    return out, kept_counts


def _prunable_convs(records):
    """Names of the convs whose filters may go: all but a final conv that produces the outputs (a 1x1 classifier)."""
    names = [r["name"] for r in records if r["kind"] == "conv"]
    weighted = [r for r in records if r["kind"] in ("conv", "dense", "depthwise")]
    if weighted and weighted[-1]["kind"] == "conv":
        names.remove(weighted[-1]["name"])
    return names


def _check_ratios(ratio, conv_names):
    ratios = dict.fromkeys(conv_names, ratio) if not isinstance(ratio, dict) else dict(ratio)
    unknown = [name for name in ratios if name not in conv_names]
    if unknown:
        raise ValueError(f"ratio names {unknown!r} that are not prunable convolutions; use names from {conv_names}.")
    for name, value in ratios.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise ValueError(f"ratio={value!r} for {name!r} is not valid; use a fraction of filters in [0, 1).")
    return ratios


def prune_channels(model, ratio, min_channels=4, multiple_of=1):
    """Remove the weakest filters of each convolution and return a smaller, rebuilt model.

    Filters are ranked by their L1 norm scaled by the following BN (the filter after BN
    folding); the lowest ``ratio`` of each conv's filters go (but not those of a final conv
    whose filters are the outputs, such as a 1x1 classifier), with the matching channels
    of its BN, of a following depthwise conv and its BN, and the input channels of the next
    conv or dense layer. The original model is not changed. Fine-tune the result.

    Parameters
    ----------
    model : keras.Model or torch.nn.Module
        A chain of layers: a Keras functional or Sequential model without merges
        (``Add``, ``Concatenate``) or ``Flatten`` of a feature map larger than 1x1, or a PyTorch model
        whose containers are all ``nn.Sequential``. Depthwise convs must have one filter
        per input channel.
    ratio : float in [0, 1) or dict of {str: float}
        Fraction of filters to remove from every regular (non-depthwise) conv, or per conv
        name (Keras layer name, PyTorch module path); convs not in the dict keep all.
    min_channels : int
        No conv keeps fewer filters than this.
    multiple_of : int
        Round every kept count up to a multiple of this (8 suits SIMD kernels such as
        XNNPACK's and CMSIS-NN's: 19 channels often cost as much as 24).

    Returns
    -------
    keras.Model or torch.nn.Module
        A new model of the same framework with fewer channels; ``model.pruned_channels``
        (PyTorch) / ``model.pruned_channels`` attribute on Keras too: ``{conv name: filters kept}``.
    """
    for name, value in (("min_channels", min_channels), ("multiple_of", multiple_of)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}={value!r} is not valid; use a positive integer.")
    if framework_of(model) == "torch":  # the framework edge: each rebuilds its own model
        from scaledown.compress.pruning.torch_edge import _prune_channels_torch

        return _prune_channels_torch(model, ratio, min_channels, multiple_of)
    from scaledown.compress.pruning.keras_edge import _prune_channels_keras

    return _prune_channels_keras(model, ratio, min_channels, multiple_of)
