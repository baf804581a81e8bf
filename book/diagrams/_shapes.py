"""Boxes, arrows and labels for the book's diagrams, in plain matplotlib.

Each diagram script in this folder has a ``draw()`` that returns a Figure;
``book/_ext/diagrams.py`` runs them at every build and saves the PNGs the chapters show.
Coordinates are in data units on an axis with equal aspect, so a box of width 2 is twice
as wide as a box of width 1 whatever the figure size.
"""

import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch

# One fill per kind of thing, the same in every chapter.
CLOUD = "#dbe9f6"  # servers, training, the cloud
DEVICE = "#fde2c8"  # microcontrollers and their constraints
PI = "#e4f1d9"  # Linux boards
ARTEFACT = "#f2f2f2"  # files: .tflite, .onnx, C arrays
ACCENT = "#c0392b"  # what a reader should look at
INK = "#222222"


def canvas(width, height, size=None):
    """A Figure with one axis spanning ``[0, width] x [0, height]``, no ticks, equal aspect."""
    scale = 0.75 if size is None else size
    fig, ax = plt.subplots(figsize=(width * scale, height * scale))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.99)
    return fig, ax


def box(
    ax,
    x,
    y,
    w,
    h,
    text,
    fill=ARTEFACT,
    fontsize=10,
    weight="normal",
    edge=INK,
    style="round,pad=0.02,rounding_size=0.12",
    **text_kw,
):
    """A rounded box with its lower-left corner at ``(x, y)`` and ``text`` centred in it.

    Returns the box as ``(x, y, w, h)`` so arrows can be attached to its sides.
    """
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle=style, facecolor=fill, edgecolor=edge, linewidth=1.2))
    ax.text(
        x + w / 2,
        y + h / 2,
        text,
        ha="center",
        va="center",
        fontsize=fontsize,
        weight=weight,
        color=INK,
        linespacing=1.25,
        **text_kw,
    )
    return (x, y, w, h)


def side(b, where):
    """The midpoint of one side of box ``b``: "left", "right", "top" or "bottom"."""
    x, y, w, h = b
    return {"left": (x, y + h / 2), "right": (x + w, y + h / 2), "top": (x + w / 2, y + h), "bottom": (x + w / 2, y)}[
        where
    ]


def arrow(
    ax,
    start,
    end,
    text=None,
    color=INK,
    fontsize=9,
    offset=(0, 0.18),
    connection="arc3",
    style="-|>",
    lw=1.4,
    **text_kw,
):
    """An arrow from ``start`` to ``end`` (points), with an optional label beside its middle."""
    ax.annotate(
        "",
        xy=end,
        xytext=start,
        arrowprops=dict(
            arrowstyle=style, color=color, lw=lw, shrinkA=2, shrinkB=2, connectionstyle=connection, mutation_scale=14
        ),
    )
    if text:
        mx, my = (start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1]
        ax.text(mx, my, text, ha="center", va="center", fontsize=fontsize, color=color, **text_kw)


def save(fig, path, dpi=150):
    """Write ``fig`` as a PNG (for running a diagram script by hand)."""
    fig.savefig(path, dpi=dpi, facecolor="white")
    plt.close(fig)


def polyline_arrow(ax, points, color=INK, lw=1.4, text=None, text_at=None, fontsize=9):
    """An arrow along a path of straight segments through ``points``; the head on the last one."""
    xs, ys = zip(*points)
    ax.plot(xs[:-1], ys[:-1], color=color, lw=lw, solid_capstyle="round")
    arrow(ax, points[-2], points[-1], color=color, lw=lw)
    if text:
        ax.text(
            *text_at,
            text,
            ha="center",
            va="center",
            fontsize=fontsize,
            color=color,
            bbox=dict(facecolor="white", edgecolor="none", pad=1.5),
        )
