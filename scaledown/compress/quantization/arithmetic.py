"""Quantization arithmetic in NumPy: how a float tensor becomes integers and back.

An integer ``q`` stands for the real number ``x̂ = s·(q − z)``, with a float
``scale`` s > 0 and an integer ``zero_point`` z::

    q = clip(round(x / s) + z, qmin, qmax)        # quantize
    x̂ = s · (q − z)                               # dequantize

For ``num_bits`` signed bits, ``qmin = −2^(b−1)`` and ``qmax = 2^(b−1) − 1``
(−128 and 127 for int8); ``narrow_range`` drops ``qmin`` so the grid is
symmetric (−127..127), as TFLite does for weights.

*Affine* (asymmetric) quantization maps ``[x_min, x_max]`` onto ``[qmin, qmax]``;
*symmetric* quantization fixes ``z = 0`` and maps ``[−a, a]``, ``a = max|x|``.
Parameters are *per tensor* (one ``s``, one ``z``) or *per channel* (arrays of
them, one per slice along ``axis``).
"""

import numpy as np


def integer_range(num_bits=8, narrow_range=False):
    """``(qmin, qmax)`` of a signed ``num_bits`` integer, e.g. ``(-128, 127)`` for 8 bits."""
    if not isinstance(num_bits, (int, np.integer)) or not 2 <= num_bits <= 16:
        raise ValueError(f"num_bits={num_bits!r} is not valid; use an integer from 2 to 16.")
    qmin, qmax = -(2 ** (num_bits - 1)), 2 ** (num_bits - 1) - 1
    return (qmin + 1 if narrow_range else qmin), qmax


def quantization_params(x_min, x_max, num_bits=8, symmetric=False, narrow_range=False):
    """Scale and zero point that map the float range ``[x_min, x_max]`` onto ``num_bits`` signed integers.

    The range is first widened to include 0, so that 0 (padding, ReLU zeros) is
    exactly representable. Then

    * affine: ``s = (x_max − x_min) / (qmax − qmin)``, ``z = round(qmin − x_min / s)``;
    * symmetric: ``s = max(|x_min|, |x_max|) / qmax``, ``z = 0``.

    An all-zero range gets ``s = 1`` (any scale represents 0 exactly; it is never 0).

    Parameters
    ----------
    x_min, x_max : float or array_like
        Range to represent; arrays (shape ``(channels,)``) give per-channel parameters.
    num_bits : int
    symmetric : bool
    narrow_range : bool
        Use ``qmin + 1`` so that ``−qmax..qmax`` is symmetric.

    Returns
    -------
    scale : float64 ndarray, same shape as ``x_min``
    zero_point : int64 ndarray, same shape as ``x_min``
    """
    qmin, qmax = integer_range(num_bits, narrow_range)
    x_min = np.minimum(np.asarray(x_min, dtype=np.float64), 0.0)
    x_max = np.maximum(np.asarray(x_max, dtype=np.float64), 0.0)
    if symmetric:
        scale = np.maximum(-x_min, x_max) / qmax
    else:
        scale = (x_max - x_min) / (qmax - qmin)
    scale = np.where(scale > 0, scale, 1.0)
    if symmetric:
        zero_point = np.zeros(scale.shape, dtype=np.int64)
    else:
        zero_point = np.clip(np.round(qmin - x_min / scale), qmin, qmax).astype(np.int64)
    return scale, zero_point


def _along(param, ndim, axis):
    """Reshape a per-channel parameter so it broadcasts along ``axis`` of an ``ndim``-d tensor."""
    param = np.asarray(param)
    if axis is None or param.ndim == 0:
        return param
    shape = [1] * ndim
    shape[axis] = -1
    return param.reshape(shape)


def quantize(x, scale, zero_point, num_bits=8, dtype=np.int8, narrow_range=False, axis=None):
    """``q = clip(round(x / s) + z, qmin, qmax)``, stored as ``dtype``.

    Parameters
    ----------
    x : array_like of float
    scale, zero_point : scalar, or arrays of shape ``(x.shape[axis],)`` for per-channel
    num_bits : int
    dtype : numpy integer dtype wide enough for ``num_bits`` (``np.int8`` for 8 bits)
    narrow_range : bool
    axis : int or None
        The channel axis of per-channel parameters.

    Returns
    -------
    ndarray of ``dtype``, shape of ``x``
    """
    qmin, qmax = integer_range(num_bits, narrow_range)
    x = np.asarray(x, dtype=np.float64)
    scale, zero_point = _along(scale, x.ndim, axis), _along(zero_point, x.ndim, axis)
    return np.clip(np.round(x / scale) + zero_point, qmin, qmax).astype(dtype)


def dequantize(q, scale, zero_point, axis=None):
    """``x̂ = s · (q − z)`` as float32; ``axis`` as in ``quantize``."""
    q = np.asarray(q)
    scale, zero_point = _along(scale, q.ndim, axis), _along(zero_point, q.ndim, axis)
    return (scale * (q.astype(np.float64) - zero_point)).astype(np.float32)


def fake_quantize(x, scale, zero_point, num_bits=8, narrow_range=False, axis=None):
    """Quantize then dequantize: the float values an int8 model really computes with.

    ``x̂ = s · (clip(round(x / s) + z, qmin, qmax) − z)``; inside the range,
    ``|x − x̂| ≤ s / 2`` (rounding error), outside it the value is clipped.
    Returns float32 with the shape of ``x``.
    """
    q = quantize(x, scale, zero_point, num_bits, np.int32, narrow_range, axis)
    return dequantize(q, scale, zero_point, axis)


def tensor_range(x, axis=None):
    """``(min, max)`` of ``x``: scalars, or per channel along ``axis`` (arrays of shape ``(x.shape[axis],)``)."""
    x = np.asarray(x)
    if axis is None:
        return float(x.min()), float(x.max())
    others = tuple(i for i in range(x.ndim) if i != axis % x.ndim)
    return x.min(axis=others), x.max(axis=others)


def quantize_tensor(x, num_bits=8, symmetric=False, narrow_range=False, axis=None):
    """Quantize ``x`` with parameters from its own min and max; returns ``(q int8, scale, zero_point)``.

    The one-liner for weights: ``q, s, z = quantize_tensor(w, symmetric=True, axis=0)``.
    """
    scale, zero_point = quantization_params(*tensor_range(x, axis), num_bits, symmetric, narrow_range)
    return (
        quantize(x, scale, zero_point, num_bits, np.int8 if num_bits <= 8 else np.int16, narrow_range, axis),
        scale,
        zero_point,
    )
