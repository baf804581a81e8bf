"""Chapter 0: the same five-step loop, on a server and on a fleet of microcontrollers."""

from _shapes import CLOUD, DEVICE, INK, arrow, box, canvas, polyline_arrow, save, side

STEPS = ("train", "optimise", "deploy", "monitor", "update")
SERVER = (
    "on GPUs, all the data",
    "optional: servers are big",
    "a container behind\nan endpoint",
    "log every request",
    "redeploy in seconds;\nA/B test live traffic",
)
DEVICE_SIDE = (
    "in the cloud, or federated\non the devices",
    "must fit 256 KB SRAM, 1 MB flash:\nint8, pruning, distillation, NAS",
    "a C array and TFLite Micro,\nonly the ops compiled in",
    "summaries over BLE / MQTT:\nevery byte costs battery",
    "over the air, signed, A/B slots:\na failed update rolls back",
)
ROW, H = 1.75, 1.25  # vertical pitch and height of a step's box


def _column(ax, x, w, notes, fill, title, loop_left):
    ax.text(x + w / 2, 9.55, title, ha="center", va="center", fontsize=12, weight="bold", color=INK)
    boxes = []
    for i, (step, note) in enumerate(zip(STEPS, notes)):
        y = 8.85 - H - i * ROW
        b = box(ax, x, y, w, H, "", fill=fill)
        ax.text(x + w / 2, y + H - 0.27, step, ha="center", va="center", fontsize=11.5, weight="bold", color=INK)
        ax.text(x + w / 2, y + (H - 0.42) / 2, note, ha="center", va="center", fontsize=10, color=INK, linespacing=1.15)
        boxes.append(b)
    for upper, lower in zip(boxes, boxes[1:]):
        arrow(ax, side(upper, "bottom"), side(lower, "top"))
    # the loop back, outside the column
    edge = x - 0.35 if loop_left else x + w + 0.35
    start = (x if loop_left else x + w, boxes[-1][1] + H / 2)
    end = (x if loop_left else x + w, boxes[0][1] + H / 2)
    polyline_arrow(ax, [start, (edge, start[1]), (edge, end[1]), end])
    ax.text(
        edge + (-0.15 if loop_left else 0.15),
        4.4,
        "the next version",
        rotation=90,
        ha="center",
        va="center",
        fontsize=9.5,
        color=INK,
        bbox=dict(facecolor="white", edgecolor="none", pad=1),
    )


def draw():
    fig, ax = canvas(12.2, 10.0)
    _column(ax, 0.7, 4.6, SERVER, CLOUD, "MLOps: one service\nin a data centre", loop_left=True)
    _column(ax, 6.6, 4.9, DEVICE_SIDE, DEVICE, "TinyMLOps: thousands\nof boards in the field", loop_left=False)
    return fig


if __name__ == "__main__":
    save(draw(), "ch00_mlops_loop.png")
