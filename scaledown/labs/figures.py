"""Checks for the picture a learner draws at the end of a lab (matplotlib).

:func:`check_figure` reads back what a figure shows — the lines, scatter points and bars
of every axes — and raises :class:`scaledown.labs.Hint` when the picture is empty,
unlabelled, or does not show the data the lab asked for.
"""

from __future__ import annotations

import numpy as np

from scaledown.labs.checks import Hint


def plotted_series(figure) -> list:
    """Every data series drawn on ``figure`` (a Figure or an Axes) as ``(x, y)`` float arrays.

    Lines give their data, scatter plots their points, bar charts their bar centres and heights.
    """
    axes = figure.get_axes() if hasattr(figure, "get_axes") else [figure]
    series = []
    for ax in axes:
        for line in ax.get_lines():
            x, y = line.get_data()
            series.append((np.asarray(x, float), np.asarray(y, float)))
        for collection in ax.collections:
            offsets = np.asarray(collection.get_offsets(), float)
            if offsets.ndim == 2 and len(offsets):
                series.append((offsets[:, 0], offsets[:, 1]))
        for container in ax.containers:
            patches = [p for p in container if hasattr(p, "get_height")]
            if patches:
                series.append(
                    (
                        np.array([p.get_x() + p.get_width() / 2 for p in patches], float),
                        np.array([p.get_height() for p in patches], float),
                    )
                )
    return series


def _matches(series, values, atol, rtol) -> bool:
    values = np.asarray(values, float).ravel()
    return any(
        len(part) == len(values) and np.allclose(part, values, atol=atol, rtol=rtol, equal_nan=True)
        for x, y in series
        for part in (y, x)
    )


def check_figure(
    figure, *, shows=(), labelled: bool = True, atol: float = 1e-6, rtol: float = 1e-4, what: str = "the figure"
) -> str:
    """Raise :class:`Hint` unless ``figure`` draws data, labels its axes and shows every series in ``shows``.

    Parameters
    ----------
    figure : matplotlib Figure or Axes
        What the learner drew.
    shows : sequence of (name, array_like)
        Values that must appear as the x or y data of some line, scatter or bar series.
    labelled : bool
        Require an x-axis and a y-axis label on some axes.

    Returns a short message for the ✅ line.
    """
    if figure is Ellipsis or figure is None or not hasattr(figure, "get_axes") and not hasattr(figure, "get_lines"):
        raise Hint(f"{what} is still a TODO: make it with `fig, ax = plt.subplots()` and draw on `ax`.")
    series = plotted_series(figure)
    if not series:
        raise Hint(f"{what} is empty: draw your data on it with ax.plot, ax.scatter or ax.bar.")
    axes = figure.get_axes() if hasattr(figure, "get_axes") else [figure]
    if labelled and not any(ax.get_xlabel() and ax.get_ylabel() for ax in axes):
        raise Hint(
            f"label the axes of {what} (ax.set_xlabel, ax.set_ylabel): a reader must know what each one measures."
        )
    for name, values in shows:
        if not _matches(series, values, atol, rtol):
            raise Hint(f"{what} does not show {name}: plot exactly those values.")
    return f"{len(series)} series drawn" + (f", showing {', '.join(name for name, _ in shows)}" if shows else "")
