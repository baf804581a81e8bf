"""Calibration: choosing the float range ``[x_min, x_max]`` that a tensor is quantized over.

An observer sees the tensor batch after batch (``observe``) and then proposes a
range (``range()``); ``quantization_params(*observer.range())`` turns it into a
scale and a zero point. Three ways to choose:

``MinMaxObserver``
    the smallest and largest values seen: nothing is clipped, but one outlier
    stretches the grid for everybody.
``PercentileObserver``
    the ``percentile`` (e.g. 99.99) and ``100 − percentile`` quantiles: clips
    the rare outliers to get a finer grid for the rest.
``MSEObserver``
    searches clipping ranges ``α·[min, max]`` for the one that minimises the
    quantization error ``mean((x − x̂)²)``: trades clipping error against
    rounding error directly.

``axis=None`` gives one range per tensor; ``axis=k`` one per channel along ``k``.
"""

import numpy as np

from scaledown.compress.quantization.arithmetic import fake_quantize, quantization_params


def _channels_first(x, axis):
    """``x`` as a 2-d array ``(channels, values)``; one channel when ``axis`` is None."""
    x = np.asarray(x, dtype=np.float32)
    if axis is None:
        return x.reshape(1, -1)
    return np.moveaxis(x, axis, 0).reshape(x.shape[axis], -1)


def _squeeze(values, axis):
    return float(values[0]) if axis is None else values


class MinMaxObserver:
    """Running minimum and maximum over every batch observed.

    Parameters
    ----------
    axis : int or None
        Channel axis for per-channel ranges; None for one range per tensor.
    """

    def __init__(self, axis=None):
        self.axis = axis
        self.min = self.max = None

    def observe(self, x):
        """Update with a batch ``x`` (any shape; ``x.shape[axis]`` channels). Returns ``self``."""
        rows = _channels_first(x, self.axis)
        low, high = rows.min(axis=1), rows.max(axis=1)
        self.min = low if self.min is None else np.minimum(self.min, low)
        self.max = high if self.max is None else np.maximum(self.max, high)
        return self

    def range(self):
        """``(x_min, x_max)``: floats, or arrays ``(channels,)`` when ``axis`` is set."""
        if self.min is None:
            raise ValueError("range() was called before observe(); observe at least one batch first.")
        return _squeeze(self.min, self.axis), _squeeze(self.max, self.axis)


class _KeepAllObserver:
    """Keeps every observed value (fine for the course's small tensors) for methods that need the distribution."""

    def __init__(self, axis=None):
        self.axis = axis
        self._batches = []

    def observe(self, x):
        self._batches.append(_channels_first(x, self.axis))
        return self

    def _values(self):
        if not self._batches:
            raise ValueError("range() was called before observe(); observe at least one batch first.")
        return np.concatenate(self._batches, axis=1)


class PercentileObserver(_KeepAllObserver):
    """Range from quantiles: ``[P(100 − p), P(p)]`` of the observed values, e.g. ``p = 99.99``.

    Parameters
    ----------
    percentile : float
        In ``(50, 100]``; 100 is the min-max range.
    axis : int or None
    """

    def __init__(self, percentile=99.99, axis=None):
        if not 50 < percentile <= 100:
            raise ValueError(f"percentile={percentile!r} is not valid; use a number in (50, 100], e.g. 99.99.")
        super().__init__(axis)
        self.percentile = percentile

    def range(self):
        values = self._values()
        low = np.percentile(values, 100 - self.percentile, axis=1)
        high = np.percentile(values, self.percentile, axis=1)
        return _squeeze(low, self.axis), _squeeze(high, self.axis)


class MSEObserver(_KeepAllObserver):
    """Range ``α·[min, max]`` with the ``α`` in ``(0, 1]`` that minimises ``mean((x − x̂)²)``, per channel.

    Parameters
    ----------
    num_bits, symmetric : as in ``quantization_params``; the search quantizes as the model will.
    axis : int or None
    steps : int
        Number of ``α`` values tried, evenly spaced in ``[0.05, 1]``.
    """

    def __init__(self, num_bits=8, symmetric=False, axis=None, steps=100):
        super().__init__(axis)
        self.num_bits, self.symmetric, self.steps = num_bits, symmetric, steps

    def range(self):
        values = self._values()
        lows, highs = [], []
        for row in values:  # one channel at a time
            best = (np.inf, row.min(), row.max())
            for alpha in np.linspace(0.05, 1.0, self.steps):
                low, high = alpha * row.min(), alpha * row.max()
                scale, zero_point = quantization_params(low, high, self.num_bits, self.symmetric)
                error = np.mean((row - fake_quantize(row, scale, zero_point, self.num_bits)) ** 2)
                if error < best[0]:
                    best = (error, low, high)
            lows.append(best[1])
            highs.append(best[2])
        return _squeeze(np.array(lows), self.axis), _squeeze(np.array(highs), self.axis)


OBSERVERS = {"minmax": MinMaxObserver, "percentile": PercentileObserver, "mse": MSEObserver}


def calibrate(batches, method="minmax", axis=None, **options):
    """Observe every batch with the ``method`` observer and return its range ``(x_min, x_max)``.

    Parameters
    ----------
    batches : iterable of arrays, or one array
        Values of the tensor to calibrate (e.g. a layer's activations per batch).
    method : {"minmax", "percentile", "mse"}
    axis : int or None
        Channel axis for per-channel ranges.
    **options
        Passed to the observer, e.g. ``percentile=99.9`` or ``symmetric=True``.

    Returns
    -------
    (x_min, x_max) : floats, or arrays ``(channels,)`` when ``axis`` is set
    """
    if method not in OBSERVERS:
        raise ValueError(f"method={method!r} is not a calibration method; use one of {tuple(OBSERVERS)}.")
    observer = OBSERVERS[method](axis=axis, **options)
    for batch in [batches] if isinstance(batches, np.ndarray) else batches:
        observer.observe(batch)
    return observer.range()
