"""The pruning algorithms on NumPy arrays, framework-free: magnitude masks and the gradual schedule.

* ``magnitude_mask(w, sparsity)`` zeroes the ``sparsity`` fraction of ``w`` with the
  smallest ``|w|``; ``global_magnitude_masks`` does it with **one threshold for all
  layers** (layers with many small weights lose more), ``layer_magnitude_masks``
  with one threshold **per layer** (every layer loses the same fraction).
* ``polynomial_decay_sparsity(step, ...)`` is the gradual schedule of Zhu & Gupta
  (2017): ``s_t = s_f + (s_i - s_f) * (1 - (t - t_0) / (t_1 - t_0)) ** 3``.
"""

from __future__ import annotations

import numpy as np

SCOPES = ("global", "layer")


def _check_sparsity(sparsity, name="sparsity"):
    if isinstance(sparsity, bool) or not isinstance(sparsity, (int, float, np.floating)) or not 0 <= sparsity < 1:
        raise ValueError(f"{name}={sparsity!r} is not valid; use a fraction in [0, 1), e.g. 0.8.")


def magnitude_mask(weights, sparsity):
    """Keep-mask of one array: ``False`` for the ``round(sparsity * size)`` weights with the smallest ``|w|``.

    Parameters
    ----------
    weights : ndarray, any shape, float
    sparsity : float in [0, 1)

    Returns
    -------
    ndarray of bool, same shape as ``weights``
    """
    _check_sparsity(sparsity)
    weights = np.asarray(weights)
    num_pruned = int(round(sparsity * weights.size))
    mask = np.ones(weights.size, dtype=bool)
    mask[np.argsort(np.abs(weights).ravel(), kind="stable")[:num_pruned]] = False
    return mask.reshape(weights.shape)


def layer_magnitude_masks(weights, sparsity):
    """One threshold per layer: every array in the dict ``{name: ndarray}`` loses ``sparsity`` of its weights."""
    return {name: magnitude_mask(w, sparsity) for name, w in weights.items()}


def global_magnitude_masks(weights, sparsity):
    """One threshold for all layers: the ``sparsity`` fraction of *all* weights with the smallest ``|w|``.

    Parameters
    ----------
    weights : dict of {str: ndarray}
    sparsity : float in [0, 1)

    Returns
    -------
    dict of {str: ndarray of bool}
        Keep-masks, same keys and shapes; together they prune ``round(sparsity * total)`` weights.
    """
    names = list(weights)
    flat = magnitude_mask(np.concatenate([np.asarray(weights[n]).ravel() for n in names]), sparsity)
    masks, start = {}, 0
    for name in names:
        size = np.asarray(weights[name]).size
        masks[name] = flat[start : start + size].reshape(np.shape(weights[name]))
        start += size
    return masks


def polynomial_decay_sparsity(step, final_sparsity, begin_step, end_step, initial_sparsity=0.0, power=3):
    """Sparsity at training ``step`` under the polynomial schedule of Zhu & Gupta (2017).

    ``s(t) = s_f + (s_i - s_f) * (1 - p) ** power`` with ``p = (t - begin_step) / (end_step - begin_step)``
    clipped to [0, 1]: ``initial_sparsity`` before ``begin_step``, ``final_sparsity`` after
    ``end_step``. tfmot's ``PolynomialDecay`` uses the same formula.
    """
    _check_sparsity(final_sparsity, "final_sparsity")
    _check_sparsity(initial_sparsity, "initial_sparsity")
    if not end_step > begin_step:
        raise ValueError(f"end_step={end_step!r} is not valid; use a step after begin_step={begin_step!r}.")
    progress = min(1.0, max(0.0, (step - begin_step) / (end_step - begin_step)))
    return final_sparsity + (initial_sparsity - final_sparsity) * (1.0 - progress) ** power


def _masks_for(weights, sparsity, scope):
    if scope not in SCOPES:
        raise ValueError(f"scope={scope!r} is not valid; use 'global' (one threshold) or 'layer' (one per layer).")
    return (global_magnitude_masks if scope == "global" else layer_magnitude_masks)(weights, sparsity)
