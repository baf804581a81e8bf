"""Estimating accuracy without labels: confidence-based performance estimation (CBPE).

NannyML's CBPE: if the model's probabilities are *calibrated* — of the predictions it
makes with confidence 0.8, 80 % are right — then each prediction is right with
probability equal to its confidence, and a chunk's expected accuracy is the mean
confidence of its predictions::

    accuracy ≈ (1/n) Σ_i max_k p_ik

This follows a covariate shift (inputs move towards the decision boundary, the model
grows less sure, and less right) with no labels at all. It cannot see a *concept*
shift: when the labels' relation to the inputs changes, the model is as confident as
ever and wrong, and only labels reveal it. It also needs calibration to hold on the
shifted inputs; calibrate on held-out data (``sklearn.calibration.CalibratedClassifierCV``)
and check it with a reliability diagram.
"""

from __future__ import annotations

import numpy as np


def estimate_accuracy(probabilities, chunk_size: int | None = None) -> np.ndarray | float:
    """CBPE accuracy estimate from calibrated class probabilities.

    Parameters
    ----------
    probabilities : array (N, K)
        Each row a calibrated probability over K classes (sums to 1); predictions are
        the row's argmax.
    chunk_size : int or None
        ``None``: one estimate for all N rows. Otherwise one per consecutive chunk of
        this many rows (the last, partial chunk is dropped).

    Returns
    -------
    float, or array (N // chunk_size,) of float
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or probabilities.shape[0] == 0:
        raise ValueError(f"probabilities has shape {probabilities.shape}; pass (samples, classes).")
    if np.any(probabilities < 0) or not np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-6):
        raise ValueError("probabilities must be non-negative rows that sum to 1 (apply softmax first).")
    confidence = probabilities.max(axis=1)
    if chunk_size is None:
        return float(confidence.mean())
    if not isinstance(chunk_size, (int, np.integer)) or not 1 <= chunk_size <= len(confidence):
        raise ValueError(f"chunk_size={chunk_size!r} must be an integer between 1 and {len(confidence)}.")
    chunks = len(confidence) // chunk_size
    return confidence[: chunks * chunk_size].reshape(chunks, chunk_size).mean(axis=1)
