"""Chapter 4: what the student learns from — the labels and the teacher's softened outputs."""

import numpy as np
from _shapes import ACCENT, ARTEFACT, CLOUD, DEVICE, INK, arrow, box, canvas, save, side
from matplotlib.patches import Rectangle

# The notebook's teacher logits for a "1" that looks like a 7 (notebooks/04_distillation, section 1).
TEACHER_LOGITS = np.array([1.0, 9.0, 0.5, 2.0, 0.0, 1.5, 0.2, 6.5, 3.0, 0.8])
T = 4


def softmax(z, temperature):
    e = np.exp((z - z.max()) / temperature)
    return e / e.sum()


def _bars(ax, x, y, w, h, hard, soft):
    """Ten classes: the T = 1 softmax as outlines, the T-softened one filled."""
    step = w / 10
    ax.add_patch(Rectangle((x - 0.1, y - 0.45), w + 0.2, h + 0.75, facecolor="white", edgecolor="0.7", lw=0.8))
    for i, (p1, pt) in enumerate(zip(hard, soft)):
        ax.add_patch(Rectangle((x + i * step + 0.04, y), step - 0.08, pt * h, facecolor=ACCENT, alpha=0.75, lw=0))
        ax.add_patch(Rectangle((x + i * step + 0.04, y), step - 0.08, p1 * h, facecolor="none", edgecolor=INK, lw=0.8))
        ax.text(x + (i + 0.5) * step, y - 0.22, str(i), ha="center", va="center", fontsize=7.5, color=INK)
    ax.plot([x, x + w], [y, y], color=INK, lw=0.8)


def draw():
    fig, ax = canvas(12.4, 10.6)
    box(ax, 4.9, 9.45, 2.6, 0.95, "image x (a “1”)", fill="white", fontsize=11)
    teacher = box(
        ax,
        0.5,
        7.3,
        4.7,
        1.4,
        "teacher (trained, frozen)\nMobileNet v1, width 2\n137,642 parameters",
        fill=CLOUD,
        fontsize=11,
    )
    student = box(
        ax,
        7.2,
        7.3,
        4.7,
        1.4,
        "student (learning)\nMobileNet v1, width 0.5\n10,802 parameters",
        fill=DEVICE,
        fontsize=11,
    )
    arrow(ax, (5.6, 9.45), side(teacher, "top"), connection="arc3,rad=0.15")
    arrow(ax, (6.8, 9.45), side(student, "top"), connection="arc3,rad=-0.15")

    # the teacher's soft targets, computed
    hard, soft = softmax(TEACHER_LOGITS, 1), softmax(TEACHER_LOGITS, T)
    _bars(ax, 0.95, 4.3, 3.8, 1.55, hard, soft)
    ax.text(
        2.85, 6.4, f"softmax(z_t / T): outline T = 1,\nfilled T = {T}", ha="center", va="center", fontsize=10, color=INK
    )
    arrow(ax, side(teacher, "bottom"), (2.85, 6.85))
    ax.text(3.0, 7.05, "logits z_t", ha="left", va="center", fontsize=10, color=INK)
    ax.text(
        5.0,
        4.9,
        f"“1”: {hard[1]:.3f} → {soft[1]:.3f}\n“7”: {hard[7]:.3f} → {soft[7]:.3f}",
        ha="left",
        va="center",
        fontsize=10,
        color=ACCENT,
    )

    s_soft = box(ax, 6.9, 5.0, 2.5, 1.0, f"softmax(z_s / T)\nT = {T}", fill=ARTEFACT, fontsize=10.5)
    s_hard = box(ax, 9.7, 5.0, 2.4, 1.0, "softmax(z_s)\nT = 1", fill=ARTEFACT, fontsize=10.5)
    arrow(ax, (8.2, 7.3), side(s_soft, "top"))
    arrow(ax, (10.9, 7.3), side(s_hard, "top"))
    ax.text(9.55, 6.6, "logits z_s", ha="center", va="center", fontsize=10, color=INK)

    kl = box(ax, 2.5, 1.9, 4.6, 1.1, "soft-target loss\nT² · KL(teacher ‖ student)", fill="white", fontsize=10.5)
    label = box(ax, 7.3, 3.55, 1.9, 0.7, "label y = 1", fill="white", fontsize=10.5)
    ce = box(ax, 9.2, 1.9, 2.9, 1.1, "label loss\nCE(y, z_s)", fill="white", fontsize=10.5)
    arrow(ax, (2.85, 3.8), (4.0, 3.0))
    arrow(ax, side(s_soft, "bottom"), (5.9, 3.0))
    arrow(ax, side(s_hard, "bottom"), (10.9, 3.0))
    arrow(ax, side(label, "bottom"), (9.5, 3.0))
    box(ax, 3.4, 0.1, 5.6, 1.0, "loss = α · CE + (1 − α) · T² · KL", fill="#fff7d6", fontsize=11.5, weight="bold")
    arrow(ax, side(kl, "bottom"), (5.2, 1.1))
    arrow(ax, side(ce, "bottom"), (8.2, 1.1))
    ax.text(
        10.6,
        0.55,
        "only the student's\nweights are updated",
        ha="center",
        va="center",
        fontsize=10,
        style="italic",
        color=INK,
    )
    return fig


if __name__ == "__main__":
    save(draw(), "ch04_distillation.png")
