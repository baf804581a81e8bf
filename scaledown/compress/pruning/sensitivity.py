"""Sensitivity analysis: prune one layer at a time and measure accuracy."""

from __future__ import annotations

import numpy as np

from scaledown.compress.pruning.masks import _check_sparsity, magnitude_mask
from scaledown.compress.pruning.weights import _assign, _prunable, prunable_weights
from scaledown.foundations.frameworks import framework_of


def _accuracy(model, x, y):
    if framework_of(model) == "torch":
        from scaledown.foundations.training import predict_torch

        logits = predict_torch(model, x)
    else:
        logits = np.concatenate([np.asarray(model(x[i : i + 512], training=False)) for i in range(0, len(x), 512)])
    return float((logits.argmax(axis=1) == np.asarray(y)).mean())


def sensitivity_analysis(model, x, y, sparsities=(0.5, 0.75, 0.9), layers=None, progress=True):
    """Prune one layer at a time to each sparsity and measure accuracy; the model is restored afterwards.

    Parameters
    ----------
    model : keras.Model or torch.nn.Module
        A trained model.
    x, y : ndarray
        Evaluation inputs in the model's layout and int labels ``(N,)``.
    sparsities : sequence of float in [0, 1)
    layers : list of str, optional
        Layers to analyse; all prunable layers by default.

    Returns
    -------
    list of dict
        One row per (layer, sparsity): ``{"layer", "parameters", "sparsity", "accuracy"}``,
        plus one row per layer at sparsity 0 with the unpruned accuracy.
    """
    from tqdm.auto import tqdm

    for s in sparsities:
        _check_sparsity(s, "sparsities")
    original = prunable_weights(model, layers)
    variables = _prunable(model, depthwise=True)
    base = _accuracy(model, x, y)
    rows = []
    for name, weights in tqdm(original.items(), desc="layers", disable=not progress):
        rows.append({"layer": name, "parameters": int(weights.size), "sparsity": 0.0, "accuracy": base})
        try:
            for s in sparsities:
                _assign(variables[name], weights * magnitude_mask(weights, s))
                rows.append(
                    {
                        "layer": name,
                        "parameters": int(weights.size),
                        "sparsity": float(s),
                        "accuracy": _accuracy(model, x, y),
                    }
                )
        finally:
            _assign(variables[name], weights)
    return rows


def plot_sensitivity(rows, ax=None):
    """Accuracy against sparsity, one line per layer, from ``sensitivity_analysis`` rows; returns the axes."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(7, 4))[1]
    for name in dict.fromkeys(r["layer"] for r in rows):
        layer_rows = [r for r in rows if r["layer"] == name]
        ax.plot(
            [r["sparsity"] for r in layer_rows],
            [r["accuracy"] for r in layer_rows],
            marker="o",
            label=f"{name} ({layer_rows[0]['parameters']:,} weights)",
        )
    ax.set(xlabel="sparsity of that layer alone", ylabel="accuracy", title="per-layer pruning sensitivity")
    ax.legend(fontsize=7, ncol=2)
    return ax
