"""Battery life from a duty cycle."""

import pytest

from scaledown.deploy.power import (
    DutyCycle,
    PowerProfile,
    battery_life,
    inference_energy_j,
    plot_battery_tradeoffs,
    sweep,
)


def test_always_sleeping_device_lasts_capacity_over_sleep_current():
    device = PowerProfile(sleep_current_a=10e-6)
    duty = DutyCycle(inference_s=1e-9, inferences_per_hour=0, log_entries_per_hour=0)
    estimate = battery_life(device, duty, capacity_mah=100, usable_fraction=1.0)
    assert estimate.hours == pytest.approx(0.1 / 10e-6)


def test_average_current_is_the_time_weighted_sum():
    device = PowerProfile(active_current_a=10e-3, sleep_current_a=0.0, tx_current_a=0.0, log_current_a=0.0)
    duty = DutyCycle(inference_s=0.036, inferences_per_hour=1000, log_entries_per_hour=0)
    estimate = battery_life(device, duty, capacity_mah=1000, usable_fraction=1.0)
    assert estimate.average_current_a == pytest.approx(10e-3 * 36 / 3600)
    assert estimate.shares()["inference"] == pytest.approx(1.0)


def test_sleep_batching_and_less_logging_each_extend_life():
    device, duty = PowerProfile(), DutyCycle()
    base = battery_life(device, duty).hours
    assert battery_life(device, DutyCycle(sleep_between=False)).hours < base
    assert battery_life(device, DutyCycle(results_per_transmission=60)).hours > base
    assert battery_life(device, DutyCycle(log_entries_per_hour=60)).hours > base
    days = sweep(device, duty, "results_per_transmission", [1, 10, 100])
    assert days == sorted(days)


def test_impossible_duty_cycle_is_an_error():
    with pytest.raises(ValueError, match="more than 3600 s"):
        battery_life(PowerProfile(), DutyCycle(inference_s=2.0, inferences_per_hour=3600))
    with pytest.raises(ValueError, match="capacity_mah=0"):
        battery_life(PowerProfile(), DutyCycle(), capacity_mah=0)


def test_energy_and_plot():
    assert inference_energy_j(0.01, PowerProfile(active_current_a=5e-3, voltage_v=3.0)) == pytest.approx(1.5e-4)
    fig = plot_battery_tradeoffs()
    assert len(fig.axes) == 3
