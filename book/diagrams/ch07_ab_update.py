"""Chapter 7: an over-the-air model update with two slots — every failure leaves the old model running."""

from _shapes import ACCENT, CLOUD, INK, PI, arrow, box, canvas, polyline_arrow, save, side

STEPS = (
    "signed manifest arrives",
    "verify: Ed25519 signature,\ncounter above the installed one",
    "write the payload (or a delta)\ninto the inactive slot B",
    "check hashes: each tensor,\nthen the whole model",
    "health check: finite outputs,\naccuracy on stored samples",
)
FAILURES = ("unsigned, tampered\nor replayed: refused", "transfer cut\nmid-way", "hash mismatch", "check fails")


def draw():
    fig, ax = canvas(11.0, 13.0)
    x, w, h, pitch = 0.4, 5.6, 1.2, 1.75
    running = box(
        ax, x, 11.3, w, 1.3, "slot A active: the old model\nruns throughout", fill=PI, fontsize=11, weight="bold"
    )
    boxes = [
        box(ax, x, 11.3 - (i + 1) * pitch, w, h, text, fill="white", fontsize=10.5) for i, text in enumerate(STEPS)
    ]
    switch = box(
        ax,
        x,
        11.3 - 6 * pitch,
        w,
        h,
        "one atomic step: slot B active\n(the next update: roles swap)",
        fill=CLOUD,
        fontsize=11,
        weight="bold",
    )
    arrow(ax, side(running, "bottom"), side(boxes[0], "top"))
    for a, b in zip(boxes, boxes[1:]):
        arrow(ax, side(a, "bottom"), side(b, "top"))
        ax.text(x + w / 2 + 0.15, (a[1] + b[1] + b[3]) / 2, "ok", ha="left", va="center", fontsize=10, color=INK)
    arrow(ax, side(boxes[-1], "bottom"), side(switch, "top"))
    ax.text(
        x + w / 2 + 0.15,
        (boxes[-1][1] + switch[1] + switch[3]) / 2,
        "pass",
        ha="left",
        va="center",
        fontsize=10,
        color=INK,
    )

    # every check can fail; each failure returns to slot A, untouched
    rail = 10.5
    for b, why in zip(boxes[1:], FAILURES):
        y = b[1] + b[3] / 2
        ax.plot([x + w, rail], [y, y], color=ACCENT, lw=1.4)
        ax.text(x + w + 0.25, y + 0.12, why, ha="left", va="bottom", fontsize=10, color=ACCENT)
    bottom = boxes[-1][1] + boxes[-1][3] / 2
    top = running[1] + running[3] / 2
    polyline_arrow(ax, [(rail, bottom), (rail, top), side(running, "right")], color=ACCENT)
    ax.text(
        rail - 0.2,
        10.75,
        "rollback: slot A stays active,\nslot B is discarded",
        ha="right",
        va="center",
        fontsize=10.5,
        color=ACCENT,
        weight="bold",
    )
    ax.text(
        5.5,
        0.3,
        "The device holds only the vendor's public key; the manifest carries the version,\n"
        "the anti-rollback counter and the SHA-256 hashes.",
        ha="center",
        va="center",
        fontsize=10,
        style="italic",
        color=INK,
    )
    return fig


if __name__ == "__main__":
    save(draw(), "ch07_ab_update.png")
