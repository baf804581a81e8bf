"""Deployment architectures: scheduling, shared arenas, placement, roll-out waves and cascades."""

import numpy as np
import pytest

from scaledown.deploy import architectures as arch
from scaledown.operate import updates


def tenants():
    return [
        arch.Tenant("wake", latency_s=0.01, period_s=0.05, priority=2, arena_bytes=20_000, persistent_bytes=4_000),
        arch.Tenant("gesture", latency_s=0.02, period_s=0.1, priority=1, arena_bytes=12_000, persistent_bytes=3_000),
        arch.Tenant("anomaly", latency_s=0.02, period_s=0.5, priority=0, arena_bytes=30_000, persistent_bytes=5_000),
    ]


def test_long_inference_blocks_a_fast_model_without_preemption():
    blocking = tenants()[:2] + [arch.Tenant("anomaly", latency_s=0.05, period_s=0.5)]
    result = arch.simulate_schedule(blocking, "round_robin", duration_s=2.0)
    assert result.per_tenant["wake"]["dropped"] > 0


def test_schedule_under_capacity_meets_every_deadline():
    result = arch.simulate_schedule(tenants(), "round_robin", duration_s=2.0)
    assert result.utilisation == pytest.approx(0.2 + 0.2 + 0.04)
    assert result.per_tenant["wake"]["runs"] == 40 and result.per_tenant["gesture"]["runs"] == 20
    assert all(s["dropped"] == 0 for s in result.per_tenant.values())
    starts = [start for _, start, _ in result.timeline]
    assert starts == sorted(starts)
    assert all(a[2] <= b[1] + 1e-12 for a, b in zip(result.timeline, result.timeline[1:]))  # one core


def test_priority_protects_the_important_model_when_overloaded():
    overloaded = [arch.Tenant("wake", 0.03, 0.05, priority=2), arch.Tenant("big", 0.04, 0.06, priority=0)]
    rr = arch.simulate_schedule(overloaded, "round_robin", duration_s=3.0)
    prio = arch.simulate_schedule(overloaded, "priority", duration_s=3.0)
    assert (
        prio.per_tenant["wake"]["late"] + prio.per_tenant["wake"]["dropped"]
        < rr.per_tenant["wake"]["late"] + rr.per_tenant["wake"]["dropped"]
    )
    assert prio.per_tenant["big"]["dropped"] > 0


def test_unknown_policy_is_an_error():
    with pytest.raises(ValueError, match="policy='fifo'"):
        arch.simulate_schedule(tenants(), "fifo")


def test_shared_arena_keeps_persistent_parts_and_the_largest_activations():
    plan = arch.shared_arena_plan(tenants())
    assert plan.separate_bytes == 62_000
    assert plan.shared_bytes == 12_000 + 25_000  # tails + the largest head
    both = arch.shared_arena_plan(tenants(), concurrent=[{"wake", "gesture"}])
    assert both.shared_bytes == 12_000 + max(16_000 + 9_000, 25_000)
    assert both.layout["gesture"] == (0, 9_000) and both.layout["wake"] == (9_000, 16_000)


def test_exact_placement_uses_fewest_devices_and_respects_limits():
    workloads = [
        arch.Workload("kws", 30_000, 40_000, 2_000_000, 0.1),
        arch.Workload("vision", 300_000, 150_000, 60_000_000, 1.0),
        arch.Workload("imu", 10_000, 8_000, 200_000, 0.1),
    ]
    devices = {"nano-1": "nano33ble", "nano-2": "nano33ble", "esp-1": "esp32s3"}
    exact = arch.place_models(workloads, devices, "exact")
    # run one after the other, vision (400 ms on the ESP32-S3) would make kws late: kws and imu share a Nano
    assert exact.feasible and exact.devices_used == 2 and exact.assignment["vision"] == "esp-1"
    assert exact.assignment["kws"] == exact.assignment["imu"]
    greedy = arch.place_models(workloads, devices, "greedy")
    assert greedy.feasible and greedy.devices_used >= exact.devices_used
    too_slow = arch.place_models([arch.Workload("huge", 10_000, 10_000, 10**9, 0.01)], devices)
    assert not too_slow.feasible and "no device fits it" in too_slow.explanation[0]


def test_rollout_waves_are_stratified_and_cover_the_fleet():
    fleet = {f"nano-{i}": "nano33ble" for i in range(40)} | {f"pi-{i}": "pi4" for i in range(10)}
    waves = updates.rollout_waves(fleet, canary_fraction=0.05, wave_fractions=(0.25, 0.5, 1.0))
    assert sorted(d for w in waves for d in w) == sorted(fleet)
    assert {fleet[d] for d in waves[0]} == {"nano33ble", "pi4"} and len(waves[0]) == 3
    bad = updates.simulate_rollout(waves, fleet, failure_rate={"pi4": 1.0})
    assert bad["halted_after"] == 0 and bad["updated"] == len(waves[0])


def test_cascade_outcome_counts_escalations_and_compute():
    labels = np.array([0, 1, 0, 1])
    small = np.array([[5.0, 0], [0, 5.0], [0.1, 0], [0, 0.1]])  # confident, confident, unsure, unsure
    large = np.array([[1.0, 0], [0, 1.0], [1.0, 0], [0, 1.0]])
    result = arch.cascade_outcome(small, large, labels, threshold=0.9, small_macs=10, large_macs=100)
    assert result["escalated"] == 0.5 and result["average_macs"] == 60 and result["relative_compute"] == 0.6
    assert result["accuracy"] == 1.0
    never = arch.cascade_outcome(small, large, labels, threshold=0.0, small_macs=10, large_macs=100)
    assert never["escalated"] == 0 and never["accuracy"] == 1.0
    sweep = arch.cascade_sweep(small, large, labels, 10, 100, thresholds=[0.0, 0.9, 1.0])
    assert arch.pick_threshold(sweep)["threshold"] == 0.0


def test_cascade_runs_the_large_model_only_when_unsure():
    calls = []
    small = lambda x: np.stack([x[:, 0], -x[:, 0]], axis=1)  # noqa: E731

    def large(x):
        calls.append(len(x))
        return np.stack([-x[:, 0], x[:, 0]], axis=1)

    cascade = arch.Cascade(small, large, threshold=0.9)
    predictions = cascade.predict(np.array([[5.0], [0.01], [-5.0]]))
    assert list(predictions) == [0, 1, 1] and calls == [1] and cascade.escalated == 1
