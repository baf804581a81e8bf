"""A notebook dashboard for a gateway: fleet status at a glance, one device in detail.

:func:`plot_fleet` draws a static matplotlib figure (works everywhere, the book shows
it); :func:`fleet_dashboard` wraps it in ipywidgets — a device picker and a refresh
button — for a live notebook.
"""

from __future__ import annotations

import json

import numpy as np

ALERT_COLOURS = {
    "sensor": "tab:red",
    "drift": "tab:orange",
    "accuracy": "tab:purple",
    "low_battery": "gold",
    "offline": "black",
    "missed_heartbeat": "dimgray",
}


def device_status(gateway) -> dict:
    """``{device: worst alert kind or "ok"}`` for every device the gateway has heard from."""
    order = list(ALERT_COLOURS)
    status = {d: "ok" for d in sorted(gateway.devices)}
    for alert in gateway.alerts:
        current = status.get(alert["device"], "ok")
        if current == "ok" or order.index(alert["kind"]) < order.index(current):
            status[alert["device"]] = alert["kind"]
    return status


def plot_fleet(gateway, device: str | None = None, channel: int = 0):
    """Figure: a tile per device coloured by its worst alert, battery levels, and one device's readings."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    status = device_status(gateway)
    names = list(status)
    device = device or (names[0] if names else None)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), gridspec_kw={"width_ratios": [1, 1.2, 1.8]})
    cols = int(np.ceil(np.sqrt(max(len(names), 1))))
    for i, name in enumerate(names):
        colour = "tab:green" if status[name] == "ok" else ALERT_COLOURS[status[name]]
        axes[0].add_patch(plt.Rectangle((i % cols, -(i // cols)), 0.9, 0.9, color=colour))
    axes[0].set_xlim(0, cols)
    axes[0].set_ylim(-np.ceil(len(names) / cols) + 1, 1)
    axes[0].set_aspect("equal")
    axes[0].axis("off")
    axes[0].set_title(f"{gateway.name}: {len(names)} devices")
    kinds = sorted({s for s in status.values() if s != "ok"})
    axes[0].legend(
        handles=[Patch(color="tab:green", label="ok")] + [Patch(color=ALERT_COLOURS[k], label=k) for k in kinds],
        loc="upper left",
        bbox_to_anchor=(0, -0.02),
        fontsize=7,
        ncol=2,
        frameon=False,
    )
    batteries = [gateway.devices[n].battery for n in names]
    axes[1].hist(batteries, bins=np.linspace(0, 1, 21), color="tab:blue")
    axes[1].axvline(gateway.config.low_battery, color="gold", ls="--", label="low-battery alert")
    axes[1].set_xlabel("battery (fraction of full)")
    axes[1].set_ylabel("devices")
    axes[1].legend(fontsize=7)
    if device is not None:
        rows = gateway.query("SELECT t, x FROM telemetry WHERE device = ? ORDER BY t", (device,))
        if rows:
            t = np.array([r[0] for r in rows])
            x = np.array([json.loads(r[1])[channel] for r in rows])
            axes[2].plot(t / 60, x, lw=0.8)
        for alert in gateway.alerts:
            if alert["device"] == device and alert["t"] is not None:
                axes[2].axvline(alert["t"] / 60, color=ALERT_COLOURS[alert["kind"]], ls="--", label=alert["kind"])
        axes[2].set_xlabel("simulated minutes")
        axes[2].set_ylabel(f"channel {channel}")
        axes[2].set_title(f"{device}: {status.get(device, 'unknown')}")
        if any(a["device"] == device for a in gateway.alerts):
            axes[2].legend(fontsize=7)
    fig.tight_layout()
    return fig


def fleet_dashboard(gateway):
    """An ipywidgets box: pick a device, press refresh; the figure of :func:`plot_fleet` redraws."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    picker = widgets.Dropdown(options=sorted(gateway.devices), description="device")
    channel = widgets.IntSlider(value=0, min=0, max=2, description="channel")
    refresh = widgets.Button(description="refresh")
    out = widgets.Output()

    def draw(*_):
        with out:
            out.clear_output(wait=True)
            fig = plot_fleet(gateway, picker.value, channel.value)
            display(fig)
            plt.close(fig)

    picker.observe(draw, names="value")
    channel.observe(draw, names="value")
    refresh.on_click(draw)
    draw()
    return widgets.VBox([widgets.HBox([picker, channel, refresh]), out])
