"""Chapter 2: affine int8 quantization maps a real range onto the codes -128..127."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for scaledown
from _shapes import ACCENT, INK, arrow, canvas, save  # noqa: E402

from scaledown.compress.quantization.arithmetic import dequantize, quantization_params, quantize  # noqa: E402

X_MIN, X_MAX = -1.0, 3.0  # a lopsided range, as after a ReLU-like layer with a few negatives
EXAMPLES = (1.3, 3.5)  # one value inside the range, one outside it (clipped)
LEFT, RIGHT = 1.3, 9.6  # where x_min and x_max sit on the drawing
REAL_Y, INT_Y = 4.6, 1.6


def _px(x):
    """Horizontal position of a real value (the integer axis shares it: the map is affine)."""
    return LEFT + (x - X_MIN) / (X_MAX - X_MIN) * (RIGHT - LEFT)


def draw():
    scale, zero_point = (float(v) for v in quantization_params(X_MIN, X_MAX))
    scale, zero_point = scale, int(zero_point)

    def code_px(q):
        return _px(scale * (q - zero_point))

    fig, ax = canvas(12.3, 7.4)
    # the real axis, with the clipped zones beyond the range
    lo, hi = X_MIN - 0.55, X_MAX + 0.75
    ax.annotate(
        "", xy=(_px(hi), REAL_Y), xytext=(_px(lo), REAL_Y), arrowprops=dict(arrowstyle="-|>", color=INK, lw=1.4)
    )
    for a, b in ((lo, X_MIN), (X_MAX, hi)):
        ax.fill_between([_px(a), _px(b)], REAL_Y - 0.18, REAL_Y + 0.18, color=ACCENT, alpha=0.15, lw=0)
    ax.text(_px(hi) + 0.12, REAL_Y, "real x", va="center", fontsize=11, color=INK)
    ax.text((_px(X_MAX) + _px(hi)) / 2, REAL_Y + 0.95, "clipped", ha="center", fontsize=10, color=ACCENT)
    ax.text((_px(lo) + _px(X_MIN)) / 2, REAL_Y + 0.95, "clipped", ha="center", fontsize=10, color=ACCENT)
    for x, label in ((X_MIN, f"$x_{{min}}$ = {X_MIN:g}"), (0.0, "0"), (X_MAX, f"$x_{{max}}$ = {X_MAX:g}")):
        ax.plot([_px(x)] * 2, [REAL_Y - 0.12, REAL_Y + 0.12], color=INK, lw=1.4)
        ax.text(_px(x), REAL_Y + 0.42, label, ha="center", fontsize=10.5, color=INK)

    # the integer grid: every code a tick, every 32nd labelled
    ax.plot([code_px(-128), code_px(127)], [INT_Y, INT_Y], color=INK, lw=1.4)
    for q in range(-128, 128):
        tall = q in (-128, 127, zero_point) or q % 32 == 0
        ax.plot(
            [code_px(q)] * 2,
            [INT_Y - (0.16 if tall else 0.07), INT_Y + (0.16 if tall else 0.07)],
            color=INK,
            lw=1.0 if tall else 0.4,
        )
    for q in (-128, -32, 0, 64, 127):
        ax.text(code_px(q), INT_Y - 0.5, str(q), ha="center", fontsize=10.5, color=INK)
    ax.text(code_px(zero_point), INT_Y - 0.5, f"z = {zero_point}", ha="center", fontsize=10.5, color=INK, weight="bold")
    ax.text(code_px(127) + 0.2, INT_Y, "int8\ncode q", va="center", fontsize=11, color=INK)

    # the map, for the ends, zero and the examples
    for x in (X_MIN, 0.0, X_MAX):
        q = int(quantize(np.array([x]), scale, zero_point)[0])
        arrow(ax, (_px(x), REAL_Y - 0.2), (code_px(q), INT_Y + 0.2), color="0.45", lw=1.0)
    for x in EXAMPLES:
        q = int(quantize(np.array([x]), scale, zero_point)[0])
        x_hat = float(dequantize(np.array([q]), scale, zero_point)[0])
        arrow(ax, (_px(x), REAL_Y - 0.2), (code_px(q), INT_Y + 0.2), color=ACCENT, lw=1.6)
        ax.plot(_px(x), REAL_Y, "o", color=ACCENT, ms=6)
        ax.text(
            _px(x),
            REAL_Y - 0.55,
            f"x = {x:g}",
            ha="center",
            fontsize=10.5,
            color=ACCENT,
            bbox=dict(facecolor="white", edgecolor="none", pad=1),
        )
        note = f"q = {q}, x̂ = {x_hat:.3f}" + ("  (clipped)" if x > X_MAX else "")
        inside = x <= X_MAX
        ax.text(
            _px(x) + 0.3 if inside else _px(X_MAX) - 0.2,
            (REAL_Y + INT_Y) / 2 + (0.3 if inside else -0.5),
            note,
            ha="left" if inside else "right",
            fontsize=10.5,
            color=ACCENT,
            bbox=dict(facecolor="white", edgecolor="none", pad=1),
        )

    ax.text(
        6.0,
        6.75,
        f"s = (x_max − x_min) / 255 = {scale:.5f}      z = round(−128 − x_min / s) = {zero_point}\n"
        f"q = clip(round(x / s) + z, −128, 127)      x̂ = s (q − z)",
        ha="center",
        va="center",
        fontsize=11,
        color=INK,
        linespacing=1.6,
    )
    return fig


if __name__ == "__main__":
    save(draw(), "ch02_int8_mapping.png")
