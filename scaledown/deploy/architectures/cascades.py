"""Cascades: a tiny always-on model gating a larger one, at a confidence threshold."""

from __future__ import annotations

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of logits (N, classes), computed stably."""
    z = np.asarray(logits, np.float64)
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def cascade_outcome(
    small_logits, large_logits, labels, threshold, small_macs, large_macs, energy_per_mac_j=None
) -> dict:
    """One cascade, simulated from both models' outputs on the same inputs.

    The small model always runs; where its top softmax probability is below
    ``threshold`` the input is escalated to the large model, whose answer is used.
    Average compute per input = ``small_macs + escalated_fraction · large_macs``.

    Parameters
    ----------
    small_logits, large_logits : ndarray (N, classes)
    labels : ndarray (N,) int
    threshold : float in [0, 1]
        1.0 escalates everything (plus the small model's cost); 0 never escalates.

    Returns
    -------
    dict
        ``accuracy``, ``escalated`` (fraction), ``average_macs``, ``relative_compute``
        (vs the large model always), ``large_accuracy``, ``small_accuracy`` and,
        with ``energy_per_mac_j``, ``average_energy_j``.
    """
    small_logits, large_logits, labels = np.asarray(small_logits), np.asarray(large_logits), np.asarray(labels)
    confidence = softmax(small_logits).max(axis=1)
    escalate = confidence < threshold
    predictions = np.where(escalate, large_logits.argmax(axis=1), small_logits.argmax(axis=1))
    average_macs = small_macs + escalate.mean() * large_macs
    result = {
        "threshold": float(threshold),
        "accuracy": float((predictions == labels).mean()),
        "escalated": float(escalate.mean()),
        "average_macs": float(average_macs),
        "relative_compute": float(average_macs / large_macs),
        "small_accuracy": float((small_logits.argmax(axis=1) == labels).mean()),
        "large_accuracy": float((large_logits.argmax(axis=1) == labels).mean()),
    }
    if energy_per_mac_j is not None:
        result["average_energy_j"] = float(average_macs * energy_per_mac_j)
        result["large_energy_j"] = float(large_macs * energy_per_mac_j)
    return result


def cascade_sweep(small_logits, large_logits, labels, small_macs, large_macs, thresholds=None, **options) -> list:
    """:func:`cascade_outcome` for each threshold (default 0.5 … 0.999); a list of dicts."""
    thresholds = (
        np.round(np.concatenate([np.linspace(0.5, 0.95, 10), [0.97, 0.98, 0.99, 0.995, 0.999]]), 4)
        if thresholds is None
        else thresholds
    )
    return [
        cascade_outcome(small_logits, large_logits, labels, t, small_macs, large_macs, **options) for t in thresholds
    ]


def pick_threshold(sweep, max_accuracy_drop=0.01) -> dict:
    """The cheapest sweep point whose accuracy is within ``max_accuracy_drop`` of the large model's (or None)."""
    ok = [r for r in sweep if r["accuracy"] >= r["large_accuracy"] - max_accuracy_drop - 1e-12]
    return min(ok, key=lambda r: r["average_macs"]) if ok else None


def plot_cascade_sweep(sweep, ax=None):
    """Accuracy and relative compute against the threshold, the large model as a reference line."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.6))
    thresholds = [r["threshold"] for r in sweep]
    ax.plot(thresholds, [100 * r["accuracy"] for r in sweep], "o-", color="C0", label="cascade accuracy")
    ax.axhline(100 * sweep[0]["large_accuracy"], color="C0", ls=":", label="large model always")
    ax.set(xlabel="confidence threshold", ylabel="accuracy (%)")
    twin = ax.twinx()
    twin.plot(thresholds, [100 * r["relative_compute"] for r in sweep], "s--", color="C1", label="compute (% of large)")
    twin.set_ylabel("average compute (% of large model)")
    lines = ax.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], loc="center left", fontsize=8)
    return ax


class Cascade:
    """Run a two-stage cascade: ``small`` on every input, ``large`` only where ``small`` is unsure.

    ``small`` and ``large`` are functions from inputs (N, ...) to logits (N, classes),
    e.g. ``keras_model.predict`` or a package's ``Model().predict``. ``predict``
    returns the class indices and records how many inputs it escalated.
    """

    def __init__(self, small, large, threshold=0.9):
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold={threshold!r} must be a probability between 0 and 1.")
        self.small, self.large, self.threshold = small, large, threshold
        self.seen = self.escalated = 0

    def predict(self, x) -> np.ndarray:
        """Class indices (N,) for inputs (N, ...)."""
        small_logits = np.asarray(self.small(x))
        confident = softmax(small_logits).max(axis=1) >= self.threshold
        predictions = small_logits.argmax(axis=1)
        unsure = np.flatnonzero(~confident)
        if len(unsure):
            predictions[unsure] = np.asarray(self.large(x[unsure])).argmax(axis=1)
        self.seen += len(x)
        self.escalated += len(unsure)
        return predictions
