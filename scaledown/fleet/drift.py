"""Data drift: has what the devices see moved away from what the model was trained on?

Two statistics, each comparing a *reference* sample (training data) with a *current*
window (recent telemetry):

* **PSI**, the population stability index. Bin both samples on the reference's
  quantiles, then ``PSI = Σ_b (c_b − r_b) · ln(c_b / r_b)`` over bin shares ``r_b``
  (reference) and ``c_b`` (current). Rule of thumb: < 0.1 stable, 0.1–0.25 watch,
  > 0.25 drifted. For class predictions the bins are the classes.
* **Kolmogorov–Smirnov**: ``D = max_x |F_ref(x) − F_cur(x)|``, the largest gap between
  the two empirical CDFs; its p-value says how surprising ``D`` is if nothing changed.
  :func:`ks_statistic` is written out; :func:`ks_test` calls ``scipy.stats.ks_2samp``.
"""
from __future__ import annotations

import numpy as np

EPS = 1e-4


def _as_1d(name, values) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size == 0:
        raise ValueError(f"{name} is empty; pass at least one value.")
    return array


def psi(reference, current, bins: int = 10) -> float:
    """Population stability index of ``current`` against ``reference`` (1-D samples of numbers).

    Bin edges are the reference's quantiles, so each bin holds ~1/``bins`` of it; the
    outer bins are open-ended. Empty bins count as a share of ``EPS``.
    """
    reference, current = _as_1d("reference", reference), _as_1d("current", current)
    if not isinstance(bins, int) or bins < 2:
        raise ValueError(f"bins={bins!r} must be an integer ≥ 2.")
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    ref_share = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=len(edges) + 1) / reference.size
    cur_share = np.bincount(np.searchsorted(edges, current, side="right"), minlength=len(edges) + 1) / current.size
    return share_psi(ref_share, cur_share)


def share_psi(reference_share, current_share) -> float:
    """PSI between two vectors of bin (or class) shares that each sum to 1."""
    r = np.clip(np.asarray(reference_share, dtype=np.float64), EPS, None)
    c = np.clip(np.asarray(current_share, dtype=np.float64), EPS, None)
    return float(np.sum((c - r) * np.log(c / r)))


def categorical_psi(reference_labels, current_labels, num_classes: int) -> float:
    """PSI between the class histograms of two label (or prediction) samples, ints in [0, num_classes)."""
    ref = np.bincount(np.asarray(reference_labels, dtype=np.int64), minlength=num_classes)[:num_classes]
    cur = np.bincount(np.asarray(current_labels, dtype=np.int64), minlength=num_classes)[:num_classes]
    return share_psi(ref / max(ref.sum(), 1), cur / max(cur.sum(), 1))


def ks_statistic(reference, current) -> float:
    """The two-sample Kolmogorov–Smirnov statistic ``max |F_ref − F_cur|``, by hand."""
    a, b = np.sort(_as_1d("reference", reference)), np.sort(_as_1d("current", current))
    points = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, points, side="right") / a.size
    cdf_b = np.searchsorted(b, points, side="right") / b.size
    return float(np.max(np.abs(cdf_a - cdf_b)))


def ks_test(reference, current) -> tuple[float, float]:
    """``(D, p_value)`` of the two-sample KS test (``scipy.stats.ks_2samp``)."""
    from scipy.stats import ks_2samp

    result = ks_2samp(_as_1d("reference", reference), _as_1d("current", current))
    return float(result.statistic), float(result.pvalue)


class DriftDetector:
    """Compare a window of recent inputs and predictions with the training reference.

    Parameters
    ----------
    reference_inputs : array (N, F)
        Inputs the model was trained on, one column per sensor channel.
    reference_predictions : array (N,) of int
        The model's predictions on them.
    num_classes : int
    psi_threshold : float
        PSI above which a channel (or the prediction histogram) counts as drifted.
    p_threshold : float
        An input channel drifts only if, as well, its KS p-value is below this (small,
        because a gateway tests many windows: few false alarms).

    :meth:`check` returns the evidence: per-channel PSI, KS ``D`` and p, prediction
    PSI, and ``drifted``.
    """

    def __init__(self, reference_inputs, reference_predictions, num_classes: int, *, bins: int = 5,
                 psi_threshold: float = 0.25, p_threshold: float = 1e-5):
        self.reference_inputs = np.asarray(reference_inputs, dtype=np.float64)
        if self.reference_inputs.ndim != 2:
            raise ValueError(f"reference_inputs has shape {self.reference_inputs.shape}; pass (samples, channels).")
        self.reference_predictions = np.asarray(reference_predictions, dtype=np.int64)
        self.num_classes, self.bins = num_classes, bins
        self.psi_threshold, self.p_threshold = psi_threshold, p_threshold

    def check(self, inputs, predictions) -> dict:
        """Drift evidence for ``inputs`` (W, F) and ``predictions`` (W,) against the reference."""
        inputs = np.asarray(inputs, dtype=np.float64).reshape(-1, self.reference_inputs.shape[1])
        channels = []
        for c in range(inputs.shape[1]):
            d, p = ks_test(self.reference_inputs[:, c], inputs[:, c])
            value = psi(self.reference_inputs[:, c], inputs[:, c], self.bins)
            channels.append({"psi": value, "ks": d, "p": p,
                             "drifted": value > self.psi_threshold and p < self.p_threshold})
        prediction_psi = categorical_psi(self.reference_predictions, predictions, self.num_classes)
        return {"channels": channels, "prediction_psi": prediction_psi,
                "inputs_drifted": any(ch["drifted"] for ch in channels),
                "predictions_drifted": prediction_psi > 2 * self.psi_threshold,
                "drifted": any(ch["drifted"] for ch in channels) or prediction_psi > 2 * self.psi_threshold}
