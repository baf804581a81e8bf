"""Battery life from a duty cycle: where a battery-powered TinyML device spends its charge.

A sensor node sleeps most of the time and wakes to sample, infer, log and
sometimes transmit. Its average current is the time-weighted sum of each
state's current; battery life is the usable capacity divided by it:

    I_avg = Σ_state I_state · t_state / period        life = C_usable / I_avg

    device = PowerProfile(active_current_a=6e-3, sleep_current_a=5e-6, tx_current_a=8e-3, ...)
    duty = DutyCycle(inference_s=0.02, inferences_per_hour=3600, bytes_per_result=4, results_per_transmission=1)
    battery_life(device, duty, capacity_mah=1000).days

The default currents are illustrative orders of magnitude for a Cortex-M4
board with a BLE radio, not a datasheet: measure your board and pass its values.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class PowerProfile:
    """The electrical side of a device (amperes, seconds, bits per second).

    Attributes
    ----------
    active_current_a : float
        Current while the CPU computes (inference, preprocessing).
    sleep_current_a : float
        Current in deep sleep (RAM retained, RTC running).
    idle_current_a : float
        Current when the CPU waits awake, without a sleep mode.
    tx_current_a : float
        Current while the radio transmits.
    tx_rate_bps : float
        Radio throughput for payload bits.
    tx_overhead_s : float
        Per transmission: radio wake-up, connection, headers, acknowledgement.
    log_current_a, log_s : float
        Current and duration of writing one log entry (e.g. to flash or an SD card).
    voltage_v : float
        Supply voltage (for energies in joules).
    """

    active_current_a: float = 6e-3
    sleep_current_a: float = 5e-6
    idle_current_a: float = 2e-3
    tx_current_a: float = 8e-3
    tx_rate_bps: float = 250e3
    tx_overhead_s: float = 5e-3
    log_current_a: float = 10e-3
    log_s: float = 2e-3
    voltage_v: float = 3.0


@dataclass(frozen=True)
class DutyCycle:
    """What the device does in an hour.

    Attributes
    ----------
    inference_s : float
        Seconds of active CPU per inference (model + preprocessing).
    inferences_per_hour : float
        How often it infers (3600 = once a second; with an event-driven sensor, the events per hour).
    bytes_per_result : int
        Payload bytes per result sent (e.g. 4 for a class and a score).
    results_per_transmission : int
        Results batched into one radio transmission (1 = send each at once).
    transmit_fraction : float
        Fraction of results that are sent at all (e.g. only anomalies: 0.01).
    log_entries_per_hour : float
        Local log writes per hour.
    sleep_between : bool
        Deep sleep between tasks (True) or wait awake at ``idle_current_a`` (False).
    """

    inference_s: float = 0.02
    inferences_per_hour: float = 3600
    bytes_per_result: int = 4
    results_per_transmission: int = 1
    transmit_fraction: float = 1.0
    log_entries_per_hour: float = 3600
    sleep_between: bool = True


@dataclass
class BatteryEstimate:
    """Battery life and where the charge goes.

    ``charge_per_hour_c`` maps each state (inference, radio, logging, sleep or
    idle) to coulombs per hour; ``average_current_a`` is their sum / 3600.
    """

    hours: float
    average_current_a: float
    charge_per_hour_c: dict = field(default_factory=dict)

    @property
    def days(self) -> float:
        return self.hours / 24

    def shares(self) -> dict:
        """Each state's share of the charge, summing to 1."""
        total = sum(self.charge_per_hour_c.values())
        return {k: v / total for k, v in self.charge_per_hour_c.items()}

    def __str__(self):
        parts = ", ".join(f"{k} {100 * v:.0f}%" for k, v in self.shares().items())
        return f"{self.days:.1f} days at {self.average_current_a * 1e3:.3f} mA average ({parts})"


def _check_positive(**values):
    for name, value in values.items():
        if not value > 0:
            raise ValueError(f"{name}={value!r} must be a positive number.")


def battery_life(
    device: PowerProfile, duty: DutyCycle, capacity_mah: float = 1000.0, usable_fraction: float = 0.8
) -> BatteryEstimate:
    """Estimate battery life for ``device`` running ``duty``.

    Parameters
    ----------
    device : PowerProfile
    duty : DutyCycle
    capacity_mah : float
        Rated battery capacity in mAh (a CR2032 coin cell ~220, two AA cells ~2000).
    usable_fraction : float
        Share of the rated capacity a device gets before its brown-out voltage
        (self-discharge, cut-off, temperature); 0.8 is a common planning value.

    Returns
    -------
    BatteryEstimate
    """
    _check_positive(
        capacity_mah=capacity_mah,
        usable_fraction=usable_fraction,
        inference_s=duty.inference_s,
        results_per_transmission=duty.results_per_transmission,
        tx_rate_bps=device.tx_rate_bps,
    )
    inference_time = duty.inference_s * duty.inferences_per_hour
    transmissions = duty.inferences_per_hour * duty.transmit_fraction / duty.results_per_transmission
    payload_bits = 8 * duty.bytes_per_result * duty.results_per_transmission
    radio_time = transmissions * (device.tx_overhead_s + payload_bits / device.tx_rate_bps)
    log_time = duty.log_entries_per_hour * device.log_s
    busy = inference_time + radio_time + log_time
    if busy > SECONDS_PER_HOUR:
        raise ValueError(
            f"duty={duty!r} keeps the device busy {busy:.0f} s per hour, more than 3600 s: "
            "infer, send or log less often."
        )
    rest_current = device.sleep_current_a if duty.sleep_between else device.idle_current_a
    charge = {
        "inference": inference_time * device.active_current_a,
        "radio": radio_time * device.tx_current_a,
        "logging": log_time * device.log_current_a,
        "sleep" if duty.sleep_between else "idle": (SECONDS_PER_HOUR - busy) * rest_current,
    }
    average = sum(charge.values()) / SECONDS_PER_HOUR
    hours = capacity_mah * 1e-3 * usable_fraction / average
    return BatteryEstimate(hours=hours, average_current_a=average, charge_per_hour_c=charge)


def inference_energy_j(inference_s: float, device: PowerProfile = PowerProfile()) -> float:
    """Energy of one inference: ``V · I_active · t``, in joules."""
    return device.voltage_v * device.active_current_a * inference_s


def sweep(device: PowerProfile, duty: DutyCycle, field_name: str, values, capacity_mah: float = 1000.0) -> list:
    """Battery life in days for each value of one ``DutyCycle`` (or ``PowerProfile``) field."""
    days = []
    for value in values:
        if field_name in DutyCycle.__dataclass_fields__:
            estimate = battery_life(device, replace(duty, **{field_name: value}), capacity_mah)
        elif field_name in PowerProfile.__dataclass_fields__:
            estimate = battery_life(replace(device, **{field_name: value}), duty, capacity_mah)
        else:
            raise ValueError(f"field_name={field_name!r} is no field of DutyCycle or PowerProfile.")
        days.append(estimate.days)
    return days


def plot_battery_tradeoffs(
    device: PowerProfile = PowerProfile(), duty: DutyCycle = DutyCycle(), capacity_mah: float = 1000.0
):
    """Three panels: sleep mode vs idle, batching transmissions, and logging less — battery life in days.

    Returns the matplotlib figure.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    rates = [60, 360, 3600, 36000]
    for sleep, style in ((True, "o-"), (False, "s--")):
        days = [
            battery_life(
                device,
                replace(
                    duty,
                    inferences_per_hour=r,
                    log_entries_per_hour=min(duty.log_entries_per_hour, r),
                    sleep_between=sleep,
                ),
                capacity_mah,
            ).days
            for r in rates
        ]
        axes[0].plot(rates, days, style, label="deep sleep between" if sleep else "idle awake between")
    axes[0].set(
        xscale="log", yscale="log", xlabel="inferences per hour", ylabel="battery life (days)", title="Sleep mode"
    )
    axes[0].legend()
    batches = [1, 2, 5, 10, 30, 60, 300]
    axes[1].plot(batches, sweep(device, duty, "results_per_transmission", batches, capacity_mah), "o-")
    axes[1].set(
        xscale="log", xlabel="results per transmission", ylabel="battery life (days)", title="Batching transmissions"
    )
    logs = [0, 60, 600, 3600, 36000]
    axes[2].plot([max(v, 1) for v in logs], sweep(device, duty, "log_entries_per_hour", logs, capacity_mah), "o-")
    axes[2].set(
        xscale="log",
        xlabel="log entries per hour (0 shown at 1)",
        ylabel="battery life (days)",
        title="Logging frequency",
    )
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
