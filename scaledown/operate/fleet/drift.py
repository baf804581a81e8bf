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

Both rules of thumb — PSI > 0.25, p < 0.05 — assume the readings in a window are
independent. A real sensor's are not: at 256 Hz consecutive readings are nearly
equal, so a window of 200 carries the evidence of a handful (its *effective sample
size*) and every window of a healthy stream looks "drifted". :class:`DriftDetector`
therefore calibrates itself on its reference, as NannyML does with chunks: it
computes the statistic on windows cut from the reference, of the length it is asked
to check, and sets the alarm threshold from their spread at a stated false-alarm
rate per window.
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
    """PSI between the class histograms of two label (or prediction) samples, ints in [0, num_classes).

    Values outside [0, num_classes) are not dropped: they count in one extra bin, which
    the reference normally leaves empty, so a burst of them reads as drift.
    """
    if not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"num_classes={num_classes!r} must be a positive integer.")

    def shares(name, labels):
        labels = np.asarray(labels, dtype=np.int64).ravel()
        if labels.size == 0:
            raise ValueError(f"{name} is empty; pass at least one label.")
        bins = np.where((labels >= 0) & (labels < num_classes), labels, num_classes)
        return np.bincount(bins, minlength=num_classes + 1) / labels.size

    return share_psi(shares("reference_labels", reference_labels), shares("current_labels", current_labels))


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


MIN_REFERENCE_WINDOWS = 10  # a reference must hold this many non-overlapping windows to calibrate on


def reference_window_starts(reference_length: int, window: int, name: str = "reference_inputs") -> np.ndarray:
    """Where the calibration windows start: every ``window // 4`` readings across the reference.

    Raises ``ValueError`` (one sentence, with the length needed) when the reference is
    shorter than ``MIN_REFERENCE_WINDOWS`` windows.
    """
    if not isinstance(window, (int, np.integer)) or window < 2:
        raise ValueError(f"a window of {window!r} readings cannot be checked; pass at least 2.")
    needed = MIN_REFERENCE_WINDOWS * window
    if reference_length < needed:
        raise ValueError(
            f"{name} has {reference_length} readings, too few to calibrate windows of {window}: "
            f"it needs at least {needed} ({MIN_REFERENCE_WINDOWS} windows' worth)."
        )
    return np.arange(0, reference_length - window + 1, max(1, window // 4))


_KOLMOGOROV_MEDIAN = 0.8275735551899077  # K⁻¹(0.5) = scipy.stats.kstwobign.ppf(0.5)


def _kolmogorov_tail_ratio(rate: float) -> float:
    """``K⁻¹(1 − rate) / K⁻¹(0.5)`` for the Kolmogorov distribution ``K`` of ``√n·D``."""
    from scipy.stats import kstwobign

    return float(kstwobign.ppf(1.0 - rate)) / _KOLMOGOROV_MEDIAN


class DriftDetector:
    """Compare a window of recent inputs and predictions with the training reference.

    By default (``calibrate=True``) the alarm thresholds come from the reference itself.
    For a window of ``W`` readings the detector cuts windows of ``W`` from the
    reference (one every ``W // 4`` readings), computes each channel's KS ``D`` against
    the whole reference, and reads the channel's threshold off their median::

        threshold_c = median_c · K⁻¹(1 − α / (C + 1)) / K⁻¹(0.5)

    where ``K`` is the Kolmogorov distribution of ``√n · D`` for ``n`` independent
    readings. The median fixes the scale — it is what autocorrelation changes: it
    implies an *effective sample size* ``n_eff = (K⁻¹(0.5) / median_c)²``, often a few
    dozen readings for a window of hundreds — and ``K`` supplies the tail, which a
    short reference cannot. Where the reference's own windows reach further than that
    tail (a periodic motion, a window shorter than one cycle of it), the threshold is
    raised to the largest ``D`` among them. Dividing the false-alarm rate ``α`` among the ``C``
    channels and the prediction histogram (Bonferroni) keeps the chance that a clean
    window raises ``drifted`` at about ``α``. Prediction PSI is calibrated the same way,
    with χ² in place of ``K`` (:meth:`prediction_threshold`).

    Parameters
    ----------
    reference_inputs : array (N, C)
        Inputs the model was trained on (in time order when they come from a stream),
        one column per sensor channel.
    reference_predictions : array (N,) of int
        The model's predictions on them.
    num_classes : int
    bins : int
        Quantile bins of the per-channel PSI that :meth:`check` reports.
    psi_threshold : float
        The PSI rule of thumb (0.25: drifted). Uncalibrated, a channel or the prediction
        histogram above it counts as drifted; calibrated, the prediction threshold is at
        least this.
    p_threshold : float
        Uncalibrated only: an input channel drifts if, as well, its KS p-value is below this.
    calibrate : bool
        ``False`` gives the textbook test (independent readings assumed).
    false_alarm_rate : float
        Calibrated only: the chance, per clean window, of an alarm (0 < α < 1).

    :meth:`check` returns the evidence: per-channel PSI, KS ``D``, p and the threshold
    used, prediction PSI and its threshold, ``inputs_drifted``,
    ``predictions_drifted`` and ``drifted``. A window length seen for the first time is
    calibrated then and remembered; :meth:`calibration` shows what it found.
    """

    def __init__(
        self,
        reference_inputs,
        reference_predictions,
        num_classes: int,
        *,
        bins: int = 5,
        psi_threshold: float = 0.25,
        p_threshold: float = 1e-5,
        calibrate: bool = True,
        false_alarm_rate: float = 0.01,
    ):
        self.reference_inputs = np.asarray(reference_inputs, dtype=np.float64)
        if self.reference_inputs.ndim != 2:
            raise ValueError(f"reference_inputs has shape {self.reference_inputs.shape}; pass (samples, channels).")
        self.reference_predictions = np.asarray(reference_predictions, dtype=np.int64).ravel()
        if not 0.0 < false_alarm_rate < 1.0:
            raise ValueError(
                f"false_alarm_rate={false_alarm_rate!r} must lie strictly between 0 and 1 (0.01: "
                "one alarm in 100 clean windows)."
            )
        self.num_classes, self.bins = num_classes, bins
        self.psi_threshold, self.p_threshold = psi_threshold, p_threshold
        self.calibrated, self.false_alarm_rate = bool(calibrate), float(false_alarm_rate)
        self._input_calibrations: dict[int, dict] = {}
        self._prediction_thresholds: dict[int, float] = {}

    @property
    def _rate_per_test(self) -> float:
        return self.false_alarm_rate / (self.reference_inputs.shape[1] + 1)

    def calibration(self, window: int) -> dict:
        """Thresholds for windows of ``window`` readings, computed once from the reference.

        Returns ``{"window", "thresholds" (C,), "median" (C,), "effective_sample_size" (C,),
        "reference_statistics" (K, C): KS D of the K reference windows, "starts" (K,)}``.
        """
        window = int(window)
        if window not in self._input_calibrations:
            reference = self.reference_inputs
            starts = reference_window_starts(len(reference), window)
            statistics = np.array(
                [
                    [ks_statistic(reference[:, c], reference[s : s + window, c]) for c in range(reference.shape[1])]
                    for s in starts
                ]
            )
            median = np.median(statistics, axis=0)
            ratio = _kolmogorov_tail_ratio(self._rate_per_test)
            self._input_calibrations[window] = {
                "window": window,
                "thresholds": np.maximum(median * ratio, statistics.max(axis=0)),
                "median": median,
                "effective_sample_size": (_KOLMOGOROV_MEDIAN / np.maximum(median, EPS)) ** 2,
                "reference_statistics": statistics,
                "starts": starts,
            }
        return self._input_calibrations[window]

    def prediction_threshold(self, window: int) -> float:
        """PSI threshold for ``window`` predictions, calibrated on windows of the reference predictions.

        For ``n`` independent predictions ``n · PSI`` is close to χ² with ``num_classes − 1``
        degrees of freedom, so, as for KS, the reference windows' median sets the scale
        and χ² the tail: ``median · χ²⁻¹(1 − α/(C+1)) / χ²⁻¹(0.5)``, never below
        ``psi_threshold`` (a smaller shift is real but rarely worth an alert).
        """
        from scipy.stats import chi2

        window = int(window)
        if window not in self._prediction_thresholds:
            reference = self.reference_predictions
            starts = reference_window_starts(len(reference), window, "reference_predictions")
            median = float(
                np.median([categorical_psi(reference, reference[s : s + window], self.num_classes) for s in starts])
            )
            dof = max(self.num_classes - 1, 1)
            ratio = chi2.ppf(1.0 - self._rate_per_test, dof) / chi2.ppf(0.5, dof)
            self._prediction_thresholds[window] = max(self.psi_threshold, median * float(ratio))
        return self._prediction_thresholds[window]

    def check(self, inputs, predictions) -> dict:
        """Drift evidence for ``inputs`` (W, C) and ``predictions`` (W,) against the reference.

        Returns ``{"channels": [{"psi", "ks", "p", "threshold", "drifted"}, ...],
        "prediction_psi", "prediction_threshold", "inputs_drifted", "predictions_drifted",
        "drifted", "thresholds" (C KS thresholds, None uncalibrated), "score" (largest
        ``D / threshold``: above 1 is an alarm; None uncalibrated), "window" (W)}``.
        """
        channels_count = self.reference_inputs.shape[1]
        inputs = np.asarray(inputs, dtype=np.float64)
        if inputs.ndim != 2 and inputs.size % channels_count == 0:
            inputs = inputs.reshape(-1, channels_count)
        if inputs.ndim != 2 or inputs.shape[1] != channels_count:
            raise ValueError(f"inputs has shape {inputs.shape}; pass (readings, {channels_count}) like the reference.")
        predictions = np.asarray(predictions, dtype=np.int64).ravel()
        thresholds = self.calibration(len(inputs))["thresholds"] if self.calibrated else None
        channels = []
        for c in range(channels_count):
            d, p = ks_test(self.reference_inputs[:, c], inputs[:, c])
            value = psi(self.reference_inputs[:, c], inputs[:, c], self.bins)
            if self.calibrated:
                channels.append(
                    {"psi": value, "ks": d, "p": p, "threshold": float(thresholds[c]), "drifted": d > thresholds[c]}
                )
            else:
                channels.append(
                    {
                        "psi": value,
                        "ks": d,
                        "p": p,
                        "threshold": self.psi_threshold,
                        "drifted": value > self.psi_threshold and p < self.p_threshold,
                    }
                )
        prediction_psi = categorical_psi(self.reference_predictions, predictions, self.num_classes)
        prediction_threshold = self.prediction_threshold(len(predictions)) if self.calibrated else self.psi_threshold
        inputs_drifted = any(ch["drifted"] for ch in channels)
        predictions_drifted = prediction_psi > prediction_threshold
        return {
            "channels": channels,
            "prediction_psi": prediction_psi,
            "prediction_threshold": prediction_threshold,
            "inputs_drifted": inputs_drifted,
            "predictions_drifted": predictions_drifted,
            "drifted": inputs_drifted or predictions_drifted,
            "thresholds": None if thresholds is None else [float(t) for t in thresholds],
            "score": None if thresholds is None else max(ch["ks"] / ch["threshold"] for ch in channels),
            "window": len(inputs),
        }
