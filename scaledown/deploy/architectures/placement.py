"""Which model on which device of a mixed fleet, under memory and latency limits."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from scaledown.foundations.hardware import get_target


@dataclass(frozen=True)
class Workload:
    """A model to place: its memory, its compute, and its latency limit."""

    name: str
    flash_bytes: int
    ram_bytes: int
    macs: int
    max_latency_s: float


@dataclass
class Placement:
    """Where each workload runs, and why."""

    assignment: dict
    devices_used: int
    feasible: bool
    method: str
    explanation: list = field(default_factory=list)


def _latency(workload: Workload, target) -> float:
    return workload.macs / target.int8_macs_per_s


def _fits(workloads, target) -> bool:
    flash = sum(w.flash_bytes for w in workloads) + target.reserved_flash_bytes
    ram = sum(w.ram_bytes for w in workloads) + target.reserved_ram_bytes
    # one core, run one after the other: the sum of latencies must meet the tightest limit
    latency = sum(_latency(w, target) for w in workloads)
    return (
        flash <= target.flash_bytes and ram <= target.ram_bytes and all(latency <= w.max_latency_s for w in workloads)
    )


def place_models(workloads, devices, method="exact") -> Placement:
    """Assign each workload to one device of a fleet, using as few devices as possible.

    A device (``devices``: ids like ``"nano33ble-1"`` mapped to target ids) can
    hold several workloads if their flash and RAM fit beside its reserved memory
    and, run one after the other, each still meets its latency limit.

    ``method="exact"`` tries every assignment (``len(devices) ** len(workloads)``;
    fine up to about 8 workloads) and keeps the one with the fewest devices, ties
    broken by the least total latency. ``method="greedy"`` places the largest
    workloads first, each on the smallest device it fits (first-fit decreasing):
    fast for any fleet, not always optimal.
    """
    workloads = list(workloads)
    targets = {device: get_target(kind) for device, kind in devices.items()}
    if method not in ("exact", "greedy"):
        raise ValueError(f"method={method!r} is not supported; use 'exact' or 'greedy'.")
    if method == "greedy":
        assignment = {}
        order = sorted(workloads, key=lambda w: (w.ram_bytes + w.flash_bytes, w.macs), reverse=True)
        by_size = sorted(targets, key=lambda d: (targets[d].ram_bytes, targets[d].flash_bytes, d))
        for w in order:
            used_first = sorted(by_size, key=lambda d: (d not in assignment.values(),))
            for device in used_first:
                placed = [x for x in workloads if assignment.get(x.name) == device]
                if _fits(placed + [w], targets[device]):
                    assignment[w.name] = device
                    break
        feasible = len(assignment) == len(workloads)
    else:
        best, best_key = None, None
        names = list(targets)
        if len(names) ** len(workloads) > 2_000_000:
            raise ValueError(
                f"{len(names)} devices and {len(workloads)} workloads make "
                f"{len(names) ** len(workloads):,} assignments; use method='greedy'."
            )
        for choice in itertools.product(names, repeat=len(workloads)):
            groups = {}
            for w, device in zip(workloads, choice):
                groups.setdefault(device, []).append(w)
            if not all(_fits(ws, targets[d]) for d, ws in groups.items()):
                continue
            key = (len(groups), sum(_latency(w, targets[d]) for d, ws in groups.items() for w in ws))
            if best_key is None or key < best_key:
                best, best_key = dict(zip((w.name for w in workloads), choice)), key
        assignment, feasible = best or {}, best is not None
    explanation = []
    for w in workloads:
        device = assignment.get(w.name)
        if device is None:
            fits_alone = [d for d, t in targets.items() if _fits([w], t)]
            explanation.append(
                f"{w.name}: not placed — "
                + (
                    "no device fits it even alone (memory or latency)"
                    if not fits_alone
                    else f"the devices it fits alone ({', '.join(fits_alone)}) are full"
                )
            )
        else:
            t = targets[device]
            explanation.append(
                f"{w.name} -> {device} ({t.id}): {_latency(w, t) * 1000:.1f} ms of "
                f"{w.max_latency_s * 1000:.0f} ms allowed"
            )
    return Placement(
        assignment=assignment,
        devices_used=len(set(assignment.values())),
        feasible=feasible,
        method=method,
        explanation=explanation,
    )
