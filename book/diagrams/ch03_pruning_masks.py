"""Chapter 3: the same weight matrix pruned by magnitude (unstructured) and by filter (structured)."""

import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for scaledown
from _shapes import ACCENT, INK, save  # noqa: E402

from scaledown.compress.pruning import magnitude_mask  # noqa: E402

FILTERS, INPUTS = 8, 16  # a 1x1 convolution: 8 filters (rows) over 16 input channels (columns)
SPARSITY = 0.5  # the same fraction of weights removed both ways


def weights(seed=0):
    """Random weights whose filters differ in strength, as trained filters do."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(FILTERS, INPUTS)) * rng.uniform(0.3, 1.5, size=(FILTERS, 1))


def _grid(ax, w, keep, title, note):
    shown = np.ma.masked_where(~keep, np.abs(w))
    cmap = plt.get_cmap("Blues").copy()
    cmap.set_bad("white")
    ax.imshow(shown, cmap=cmap, vmin=0, vmax=np.abs(w).max())
    ax.set_xticks(np.arange(-0.5, INPUTS), minor=True)
    ax.set_yticks(np.arange(-0.5, FILTERS), minor=True)
    ax.grid(which="minor", color="0.75", lw=0.6)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    rows, cols = np.nonzero(~keep)
    ax.plot(cols, rows, "x", color="0.6", ms=5, mew=1)
    ax.text(INPUTS + 0.6, -0.5, title, ha="left", va="top", fontsize=12, weight="bold", color=INK)
    ax.text(INPUTS + 0.6, 1.2, note, ha="left", va="top", fontsize=11, color=INK, linespacing=1.35)


def draw():
    w = weights()
    dense = np.ones_like(w, dtype=bool)
    unstructured = magnitude_mask(w, SPARSITY)
    norms = np.abs(w).sum(axis=1)  # L1 norm of each filter
    weakest = np.argsort(norms, kind="stable")[: int(round(SPARSITY * FILTERS))]
    structured = dense.copy()
    structured[weakest] = False

    fig, axes = plt.subplots(3, 1, figsize=(9, 8.4))
    _grid(
        axes[0],
        w,
        dense,
        "dense",
        f"{FILTERS} filters (rows) × {INPUTS} inputs\n(columns) = {w.size} weights;\nshade: |w|",
    )
    _grid(
        axes[1],
        w,
        unstructured,
        f"unstructured, {SPARSITY:.0%}",
        f"the {int(SPARSITY * w.size)} smallest |w|, anywhere,\nset to 0: same shape, zeros\nscattered — saves bytes only\n"
        "if stored sparse or compressed",
    )
    _grid(
        axes[2],
        w,
        structured,
        f"structured, {SPARSITY:.0%} of filters",
        f"the {len(weakest)} filters with the smallest\nL1 norm removed: a {FILTERS - len(weakest)}×{INPUTS} dense\n"
        "layer, faster on any runtime",
    )
    for row in weakest:
        axes[2].annotate(
            "",
            xy=(-0.6, row),
            xytext=(-1.8, row),
            arrowprops=dict(arrowstyle="-|>", color=ACCENT, lw=1.3),
            annotation_clip=False,
        )
    fig.subplots_adjust(left=0.05, right=0.6, top=0.98, bottom=0.02, hspace=0.12)
    return fig


if __name__ == "__main__":
    save(draw(), "ch03_pruning_masks.png")
