"""Chapter 5: three knobs of the search space, and the part of it that fits the Nano 33 BLE Sense.

Every cell is a real candidate of ``nas.SearchSpace``: its parameters and MACs come from
the framework-free ``ArchitectureSpec`` counts, so the region moves if the space does.
"""

import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for scaledown
from _shapes import INK, save  # noqa: E402

from scaledown.compress.nas import Candidate, SearchSpace  # noqa: E402
from scaledown.foundations.hardware import get_target  # noqa: E402

FAMILY, KERNEL, EXPANSION = "mobilenet_v2", 3, 6
LATENCY_BUDGET_S = 0.020  # the notebook's Constraints(max_latency_s=0.02)
FITS, TOO_SLOW, TOO_BIG = 0, 1, 2
COLOURS = ListedColormap(["#cfe8c4", "#fbd9a5", "#f2b8b5"])


def verdicts(space, target):
    """For each resolution: a (depth x width) grid of FITS / TOO_SLOW / TOO_BIG and of latencies in ms."""
    flash_limit = target.flash_bytes - target.reserved_flash_bytes
    macs_per_s = target.int8_macs_per_s
    grids = {}
    for resolution in space.resolutions:
        verdict = np.zeros((len(space.depths), len(space.widths)), dtype=int)
        latency_ms = np.zeros_like(verdict, dtype=float)
        for i, depth in enumerate(space.depths):
            for j, width in enumerate(space.widths):
                spec = Candidate(FAMILY, width, depth, KERNEL, EXPANSION, resolution).spec()
                int8_bytes = spec.count_parameters()  # about one byte per weight once int8
                latency_ms[i, j] = spec.count_macs() / macs_per_s * 1000
                verdict[i, j] = (
                    TOO_BIG
                    if int8_bytes > flash_limit
                    else TOO_SLOW
                    if latency_ms[i, j] > LATENCY_BUDGET_S * 1000
                    else FITS
                )
        grids[resolution] = (verdict, latency_ms)
    return grids


def draw():
    space, target = SearchSpace(), get_target("nano33ble")
    grids = verdicts(space, target)
    fig, axes = plt.subplots(len(grids), 1, figsize=(8.6, 10.5), sharex=True)
    for ax, (resolution, (verdict, latency_ms)) in zip(axes, grids.items()):
        ax.imshow(verdict, cmap=COLOURS, vmin=0, vmax=2, origin="lower", aspect="auto")
        for (i, j), ms in np.ndenumerate(latency_ms):
            ax.text(
                j,
                i,
                f"{ms:.0f} ms" if ms >= 1 else "<1 ms",
                ha="center",
                va="center",
                fontsize=10,
                color=INK,
                weight="bold" if verdict[i, j] == FITS else "normal",
            )
        ax.set_xticks(range(len(space.widths)), [f"{w:g}" for w in space.widths])
        ax.set_yticks(range(len(space.depths)), [f"{d:g}" for d in space.depths])
        ax.set_ylabel("depth multiplier")
        ax.set_title(
            f"resolution {resolution}×{resolution}: {int((verdict == FITS).sum())} of {verdict.size} fit",
            fontsize=11,
            weight="bold",
            color=INK,
        )
        ax.set_xticks(np.arange(-0.5, len(space.widths)), minor=True)
        ax.set_yticks(np.arange(-0.5, len(space.depths)), minor=True)
        ax.grid(which="minor", color="white", lw=2)
        ax.tick_params(which="minor", length=0)
    axes[-1].set_xlabel("width multiplier")
    handles = [plt.Rectangle((0, 0), 1, 1, color=COLOURS(k)) for k in (FITS, TOO_SLOW, TOO_BIG)]
    flash_kb = (target.flash_bytes - target.reserved_flash_bytes) // 1024
    fig.legend(
        handles,
        [
            f"fits: ≤ {LATENCY_BUDGET_S * 1000:g} ms and ≤ {flash_kb} KB of int8 weights",
            f"over the {LATENCY_BUDGET_S * 1000:g} ms budget",
            f"over the {flash_kb} KB of flash left for weights",
        ],
        loc="lower center",
        ncol=1,
        frameon=False,
        fontsize=10.5,
    )
    fig.suptitle(
        f"MobileNet v2, {KERNEL}×{KERNEL} kernels, expansion {EXPANSION}, on the {target.name}:\n"
        f"estimated latency (MACs ÷ {target.int8_macs_per_s / 1e6:g} M int8 MAC/s) in each cell",
        fontsize=11,
        color=INK,
    )
    fig.tight_layout(rect=(0, 0.1, 1, 0.95))
    return fig


if __name__ == "__main__":
    save(draw(), "ch05_search_space.png")
