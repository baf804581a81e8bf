"""Multivariate drift: PCA reconstruction error (NannyML's data-reconstruction drift).

A per-channel test sees each sensor alone, so it misses a change in how channels move
*together* — two axes that used to rise and fall as one now move apart, each with the
same spread as before. PCA fitted on the (standardised) reference learns the
directions the readings occupy; a reading that leaves them is reconstructed badly::

    z = (x − μ) / σ,    error(x) = ‖z − V Vᵀ z‖,    V: the top-k principal directions

and a window's statistic is its mean error. The threshold is calibrated on windows cut
from the reference, like :class:`~scaledown.operate.fleet.drift.DriftDetector`: the mean error
of a clean window wanders by as much as the reference's own windows do, and an alarm
needs it outside ``mean ± z_{1−α/2} · std`` of them (NannyML uses 3 std), and outside
the range the reference's windows reach.
"""

from __future__ import annotations

import numpy as np

from scaledown.operate.fleet.drift import reference_window_starts


class ReconstructionDriftDetector:
    """Flag windows whose PCA reconstruction error leaves the reference's range.

    Parameters
    ----------
    reference_inputs : array (N, C), C ≥ 2
        Clean readings in time order, one column per channel.
    variance : float
        Keep the fewest principal components that explain this share of the
        standardised reference's variance (NannyML's default, 0.65), at most C − 1.
    false_alarm_rate : float
        Chance, per clean window, of an alarm (two-sided normal bounds).
    """

    def __init__(self, reference_inputs, *, variance: float = 0.65, false_alarm_rate: float = 0.01):
        reference = np.asarray(reference_inputs, dtype=np.float64)
        if reference.ndim != 2 or reference.shape[1] < 2:
            raise ValueError(
                f"reference_inputs has shape {reference.shape}; pass (readings, channels) with at "
                "least 2 channels (one channel has no correlations to lose)."
            )
        if not 0.0 < variance < 1.0:
            raise ValueError(f"variance={variance!r} must lie strictly between 0 and 1.")
        if not 0.0 < false_alarm_rate < 1.0:
            raise ValueError(f"false_alarm_rate={false_alarm_rate!r} must lie strictly between 0 and 1.")
        self.reference = reference
        self.mean = reference.mean(axis=0)
        self.scale = np.where(reference.std(axis=0) > 0, reference.std(axis=0), 1.0)
        z = (reference - self.mean) / self.scale
        _, singular, vt = np.linalg.svd(z, full_matrices=False)
        explained = np.cumsum(singular**2) / np.sum(singular**2)
        self.components_count = int(min(np.searchsorted(explained, variance) + 1, reference.shape[1] - 1))
        self.components = vt[: self.components_count]  # (k, C)
        self.false_alarm_rate = float(false_alarm_rate)
        self._calibrations: dict[int, dict] = {}

    def errors(self, inputs) -> np.ndarray:
        """Reconstruction error of each reading of ``inputs`` (W, C): shape (W,)."""
        inputs = np.asarray(inputs, dtype=np.float64)
        if inputs.ndim != 2 or inputs.shape[1] != self.reference.shape[1]:
            raise ValueError(
                f"inputs has shape {inputs.shape}; pass (readings, {self.reference.shape[1]}) like the reference."
            )
        z = (inputs - self.mean) / self.scale
        return np.linalg.norm(z - z @ self.components.T @ self.components, axis=1)

    def calibration(self, window: int) -> dict:
        """``{"window", "lower", "upper", "reference_statistics" (K,), "starts" (K,)}`` for windows of ``window``."""
        from scipy.stats import norm

        window = int(window)
        if window not in self._calibrations:
            starts = reference_window_starts(len(self.reference), window)
            errors = self.errors(self.reference)
            statistics = np.array([errors[s : s + window].mean() for s in starts])
            spread = norm.ppf(1.0 - self.false_alarm_rate / 2) * statistics.std(ddof=1)
            self._calibrations[window] = {
                "window": window,
                "lower": min(statistics.mean() - spread, statistics.min()),
                "upper": max(statistics.mean() + spread, statistics.max()),
                "reference_statistics": statistics,
                "starts": starts,
            }
        return self._calibrations[window]

    def check(self, inputs) -> dict:
        """``{"error": mean reconstruction error, "lower", "upper", "threshold" (= upper), "drifted", "window"}``."""
        error = float(self.errors(inputs).mean())
        calibration = self.calibration(len(inputs))
        return {
            "error": error,
            "lower": float(calibration["lower"]),
            "upper": float(calibration["upper"]),
            "threshold": float(calibration["upper"]),
            "drifted": not calibration["lower"] <= error <= calibration["upper"],
            "window": len(inputs),
        }
