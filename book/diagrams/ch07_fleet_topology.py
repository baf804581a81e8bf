"""Chapter 7: device -> gateway -> cloud, over MQTT (and BLE for boards without an IP link)."""

from _shapes import ACCENT, CLOUD, DEVICE, INK, PI, arrow, box, canvas, save, side


def draw():
    fig, ax = canvas(12.4, 12.0)
    d1 = box(ax, 0.2, 10.0, 2.6, 1.3, "gw0-d001\nWi-Fi", fill=PI, fontsize=10.5)
    d2 = box(ax, 3.7, 10.0, 2.6, 1.3, "gw0-d002\nits link down", fill=PI, fontsize=10.5)
    d3 = box(ax, 6.6, 10.0, 2.6, 1.3, "gw1-d001\nWi-Fi", fill=PI, fontsize=10.5)
    nano = box(ax, 9.5, 10.0, 2.7, 1.3, "Nano 33 BLE\nSense: BLE only", fill=DEVICE, fontsize=10.5)
    arrow(ax, side(d2, "left"), side(d1, "right"), color=ACCENT)
    ax.text(3.25, 11.75, "store and forward\n(relayed_by)", ha="center", va="center", fontsize=10, color=ACCENT)

    box(ax, 3.0, 6.3, 4.6, 1.6, "MQTT broker\nretained status, last wills", fill="white", fontsize=10.5)
    arrow(ax, side(d1, "bottom"), (4.2, 7.9))
    arrow(ax, side(d3, "bottom"), (6.4, 7.9))
    ax.text(5.3, 9.1, "telemetry, heartbeat\nMQTT, QoS 1", ha="center", va="center", fontsize=10, color=INK)

    gw0 = box(
        ax, 0.3, 3.1, 4.5, 1.7, "gateway gw0\nstores its devices' data,\nraises alerts", fill=CLOUD, fontsize=10.5
    )
    gw1 = box(
        ax, 6.9, 3.1, 5.3, 1.7, "gateway gw1\na Pi: reads BLE and\npublishes for the Nano", fill=CLOUD, fontsize=10.5
    )
    arrow(ax, (4.0, 6.3), side(gw0, "top"))
    arrow(ax, (6.6, 6.3), (8.6, 4.8))
    ax.text(1.7, 5.6, "…/gw0/+/telemetry", ha="center", va="center", fontsize=10, color=INK)
    ax.text(8.9, 5.75, "…/gw1/+/telemetry", ha="center", va="center", fontsize=10, color=INK)
    arrow(ax, side(nano, "bottom"), (11.0, 4.8), color=ACCENT)
    ax.text(11.15, 7.6, "BLE", ha="left", va="center", fontsize=10.5, color=ACCENT)

    box(ax, 3.7, 0.2, 5.0, 1.3, "cloud\ndashboard, retraining", fill=CLOUD, fontsize=10.5)
    arrow(ax, side(gw0, "bottom"), (4.6, 1.5))
    arrow(ax, side(gw1, "bottom"), (7.8, 1.5))
    ax.text(6.2, 2.35, "only alerts and summaries", ha="center", va="center", fontsize=10, color=INK)
    return fig


if __name__ == "__main__":
    save(draw(), "ch07_fleet_topology.png")
