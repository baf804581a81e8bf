"""Chapter 1: a standard 3x3 convolution beside MobileNet's depthwise-separable pair, with computed costs."""

from _shapes import ACCENT, CLOUD, DEVICE, INK, arrow, box, canvas, save, side

H = W = 16  # the chapter's example: 16x16, 32 -> 64 channels, k = 3
C_IN, C_OUT, K = 32, 64, 3


def costs():
    """MACs and weights of the three convolutions (no biases: batch norm follows each)."""
    return {
        "standard": (H * W * C_IN * C_OUT * K * K, C_IN * C_OUT * K * K),
        "depthwise": (H * W * C_IN * K * K, C_IN * K * K),
        "pointwise": (H * W * C_IN * C_OUT, C_IN * C_OUT),
    }


def _tensor(ax, cx, y, channels):
    return box(ax, cx - 1.3, y, 2.6, 0.7, f"{H}×{W}×{channels}", fill="white", fontsize=11, style="square,pad=0.02")


def draw():
    c = costs()
    fig, ax = canvas(11.6, 10.2)
    left, right = 2.6, 8.4
    ax.text(left, 9.8, "standard convolution", ha="center", fontsize=12, weight="bold", color=INK)
    ax.text(
        right,
        9.8,
        "depthwise-separable\n(MobileNet v1)",
        ha="center",
        va="center",
        fontsize=12,
        weight="bold",
        color=INK,
    )

    # left: one 3x3 convolution
    top = _tensor(ax, left, 8.5, C_IN)
    conv = box(
        ax,
        left - 2.2,
        4.4,
        4.4,
        2.3,
        f"conv {K}×{K}, {C_IN} → {C_OUT}\n+ BN + ReLU6\n\n{c['standard'][0]:,} MACs\n{c['standard'][1]:,} weights",
        fill=CLOUD,
        fontsize=11,
    )
    bottom = _tensor(ax, left, 1.9, C_OUT)
    arrow(ax, side(top, "bottom"), side(conv, "top"))
    arrow(ax, side(conv, "bottom"), side(bottom, "top"))

    # right: depthwise, then pointwise
    top2 = _tensor(ax, right, 8.5, C_IN)
    dw = box(
        ax,
        right - 2.4,
        6.2,
        4.8,
        1.7,
        f"depthwise {K}×{K}, each channel alone\n+ BN + ReLU6\n{c['depthwise'][0]:,} MACs · {c['depthwise'][1]:,} weights",
        fill=DEVICE,
        fontsize=11,
    )
    mid = _tensor(ax, right, 4.95, C_IN)
    pw = box(
        ax,
        right - 2.4,
        2.65,
        4.8,
        1.7,
        f"pointwise 1×1, {C_IN} → {C_OUT}: mixes channels\n+ BN + ReLU6\n{c['pointwise'][0]:,} MACs · {c['pointwise'][1]:,} weights",
        fill=DEVICE,
        fontsize=11,
    )
    bottom2 = _tensor(ax, right, 1.35, C_OUT)
    for a, b in ((top2, dw), (dw, mid), (mid, pw), (pw, bottom2)):
        arrow(ax, side(a, "bottom"), side(b, "top"))

    macs = c["depthwise"][0] + c["pointwise"][0]
    ratio = c["standard"][0] / macs
    ax.text(
        5.8,
        0.45,
        f"the separable pair: {macs:,} MACs, {ratio:.1f}× fewer\n"
        f"(1/{C_OUT} + 1/{K * K} of the standard convolution's cost)",
        ha="center",
        va="center",
        fontsize=11.5,
        color=ACCENT,
        weight="bold",
    )
    return fig


if __name__ == "__main__":
    save(draw(), "ch01_separable_block.png")
