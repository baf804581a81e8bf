"""The picture of a search: every candidate, the rejected ones and the Pareto fronts."""

from __future__ import annotations

from typing import Optional

from scaledown.compress.nas.results import Evaluation, SearchResult
from scaledown.foundations.hardware.targets import format_bytes


def plot_search(*results: SearchResult, baseline: Optional[tuple] = None, axes=None):
    """Accuracy against peak RAM and against flash, Pareto fronts highlighted, limits drawn.

    Parameters
    ----------
    *results : SearchResult
        One or more searches with the same constraints (e.g. random and evolution);
        each gets its own colour.
    baseline : (Evaluation or Feasibility, float), optional
        A reference model to mark with a star: its costs and its accuracy.
    axes : two matplotlib Axes, optional
        Where to draw; by default a new figure with two panels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    if not results or not all(isinstance(r, SearchResult) for r in results):
        raise ValueError("Pass one or more SearchResult objects, e.g. plot_search(random_result, evolution_result).")
    constraints = results[0].constraints
    if constraints is None:
        raise ValueError("This search ran without constraints, so there are no hardware costs to plot.")
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), sharey=True)
    else:
        fig = axes[0].figure
    panels = (
        ("peak_ram_bytes", "peak RAM (activations)", constraints.ram_limit_bytes),
        ("flash_bytes", "flash (weights)", constraints.flash_limit_bytes),
    )
    for ax, (cost, title, limit) in zip(axes, panels):
        for colour, result in enumerate(results):
            xs = [e.cost(cost) / 1024 for e in result.evaluated]
            ys = [e.accuracy * 100 for e in result.evaluated]
            ax.scatter(xs, ys, s=18, alpha=0.45, color=f"C{colour}", label=f"{result.method} ({len(xs)})")
            front = result.front(cost)
            ax.step(
                [e.cost(cost) / 1024 for e in front],
                [e.accuracy * 100 for e in front],
                where="post",
                color=f"C{colour}",
                lw=1.5,
            )
            ax.scatter(
                [e.cost(cost) / 1024 for e in front],
                [e.accuracy * 100 for e in front],
                s=40,
                color=f"C{colour}",
                edgecolor="black",
                zorder=3,
            )
            rejected = [e.cost(cost) / 1024 for e in result.rejected]
            if rejected:
                ax.plot(
                    rejected,
                    [0.02] * len(rejected),
                    "|",
                    color=f"C{colour}",
                    ms=12,
                    mew=1.5,
                    transform=ax.get_xaxis_transform(),
                    label=f"{result.method}: rejected ({len(rejected)})",
                )
        if baseline is not None:
            costs, accuracy = baseline
            costs = costs.feasibility if isinstance(costs, Evaluation) else costs
            ax.scatter(
                [getattr(costs, cost) / 1024],
                [accuracy * 100],
                marker="*",
                s=220,
                color="gold",
                edgecolor="black",
                zorder=4,
                label="baseline",
            )
        ax.axvline(
            limit / 1024, color="C3", ls="--", lw=1.2, label=f"{constraints.target.id} limit ({format_bytes(limit)})"
        )
        ax.set_xscale("log")
        ax.set(xlabel=f"{title}, KB ({constraints.dtype}, log scale)", title=f"accuracy vs {title}")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("proxy accuracy (%)")
    axes[0].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig
