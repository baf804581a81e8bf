"""Deployment architectures, as small simulations you can run and change.

Multi-tenancy — several models on one device or one fleet:

``simulate_schedule``   one core, several models with periods and deadlines: round-robin vs priority
``shared_arena_plan``   models that never run at the same time can share their arenas' activation memory
``place_models``        which model on which device of a mixed fleet, under memory and latency limits
``rollout_waves``       a fleet-wide update in groups: canary first, then growing waves
``simulate_rollout``    what a canary saves when the new version is bad

Cascades — a tiny always-on model gating a larger one:

``cascade_outcome``     accuracy, escalation rate and average compute at one confidence threshold
``cascade_sweep``       the same for many thresholds (``plot_cascade_sweep`` draws it)
``Cascade``             run it: the large model sees only the inputs the small one is unsure of
"""
from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field

import numpy as np

from scaledown.hardware import get_target


# --------------------------------------------------------------------------- scheduling on one core

@dataclass(frozen=True)
class Tenant:
    """A model sharing a device.

    Attributes
    ----------
    name : str
    latency_s : float
        Seconds one inference occupies the core (TFLite Micro runs an inference to completion).
    period_s : float
        A new input arrives every ``period_s`` seconds.
    priority : int
        Larger runs first under the ``"priority"`` policy.
    deadline_s : float or None
        A result is late if it finishes more than this after its input arrived; default ``period_s``.
    arena_bytes, flash_bytes : int
        Memory the model needs (for the arena plan and placement).
    persistent_bytes : int
        Part of the arena that must stay reserved for this model (the interpreter's tail);
        the rest (activations) can be shared with models that never run at the same time.
    """

    name: str
    latency_s: float
    period_s: float
    priority: int = 0
    deadline_s: float | None = None
    arena_bytes: int = 0
    flash_bytes: int = 0
    persistent_bytes: int = 0

    @property
    def utilisation(self) -> float:
        """Share of the core this model needs: latency / period."""
        return self.latency_s / self.period_s


@dataclass
class ScheduleResult:
    """Outcome of :func:`simulate_schedule`.

    ``timeline`` lists ``(tenant, start_s, end_s)`` for each inference; ``per_tenant``
    maps each name to ``runs``, ``late`` (deadline missed), ``dropped`` (a newer input
    replaced one still waiting), ``mean_response_s`` and ``max_response_s``.
    """

    policy: str
    duration_s: float
    timeline: list
    per_tenant: dict
    utilisation: float

    def table(self) -> str:
        rows = [f"{'model':<12}{'runs':>6}{'late':>6}{'dropped':>9}{'mean resp.':>12}{'max resp.':>11}"]
        for name, s in self.per_tenant.items():
            rows.append(f"{name:<12}{s['runs']:>6}{s['late']:>6}{s['dropped']:>9}"
                        f"{1000 * s['mean_response_s']:>10.1f}ms{1000 * s['max_response_s']:>9.1f}ms")
        return "\n".join(rows)


POLICIES = ("round_robin", "priority")


def simulate_schedule(tenants, policy="round_robin", duration_s=10.0) -> ScheduleResult:
    """Simulate models sharing one core, non-preemptively, for ``duration_s`` seconds.

    Inputs arrive every ``period_s`` (the first at ``t = 0``). Each model keeps
    only its newest waiting input (a sensor overwrites its buffer): an input
    not started before the next arrives is dropped. When the core is free,
    ``"round_robin"`` serves the models with a waiting input in turn,
    ``"priority"`` always serves the highest ``priority`` first.

    Returns
    -------
    ScheduleResult
    """
    if policy not in POLICIES:
        raise ValueError(f"policy={policy!r} is not supported; use one of {POLICIES}.")
    tenants = list(tenants)
    names = [t.name for t in tenants]
    if len(set(names)) != len(names):
        raise ValueError(f"tenants have duplicate names {names}; give each model its own name.")
    waiting = {}  # name -> arrival time of its newest waiting input
    stats = {t.name: {"runs": 0, "late": 0, "dropped": 0, "responses": []} for t in tenants}
    arrivals = [(0.0, i) for i in range(len(tenants))]
    heapq.heapify(arrivals)
    now, turn, timeline = 0.0, 0, []
    while True:
        while arrivals and arrivals[0][0] <= now + 1e-12:
            when, i = heapq.heappop(arrivals)
            name = tenants[i].name
            if name in waiting:
                stats[name]["dropped"] += 1
            waiting[name] = when
            if when + tenants[i].period_s < duration_s:
                heapq.heappush(arrivals, (when + tenants[i].period_s, i))
        if not waiting:
            if not arrivals:
                break
            now = arrivals[0][0]
            continue
        if policy == "priority":
            chosen = max((t for t in tenants if t.name in waiting), key=lambda t: (t.priority, -waiting[t.name]))
        else:
            order = tenants[turn:] + tenants[:turn]
            chosen = next(t for t in order if t.name in waiting)
            turn = (tenants.index(chosen) + 1) % len(tenants)
        arrived = waiting.pop(chosen.name)
        start, end = now, now + chosen.latency_s
        timeline.append((chosen.name, start, end))
        response = end - arrived
        s = stats[chosen.name]
        s["runs"] += 1
        s["responses"].append(response)
        if response > (chosen.deadline_s if chosen.deadline_s is not None else chosen.period_s) + 1e-12:
            s["late"] += 1
        now = end
    per_tenant = {}
    for name, s in stats.items():
        responses = s.pop("responses")
        per_tenant[name] = {**s, "mean_response_s": float(np.mean(responses)) if responses else float("nan"),
                            "max_response_s": float(np.max(responses)) if responses else float("nan")}
    return ScheduleResult(policy=policy, duration_s=duration_s, timeline=timeline, per_tenant=per_tenant,
                          utilisation=sum(t.utilisation for t in tenants))


def plot_schedule(result: ScheduleResult, window_s=None, ax=None):
    """A Gantt chart of the first ``window_s`` seconds of a schedule; returns the axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(10, 2.2))
    names = list(result.per_tenant)
    window_s = window_s or result.duration_s
    for name, start, end in result.timeline:
        if start < window_s:
            ax.broken_barh([(start, end - start)], (names.index(name) - 0.4, 0.8), color=f"C{names.index(name)}")
    ax.set(yticks=range(len(names)), yticklabels=names, xlim=(0, window_s), xlabel="time (s)",
           title=f"{result.policy}: utilisation {result.utilisation:.0%}")
    return ax


# --------------------------------------------------------------------------- shared arena

@dataclass
class ArenaPlan:
    """Arena bytes for models on one device: each its own arena, or a shared activation region."""

    separate_bytes: int
    shared_bytes: int
    layout: dict

    @property
    def saved_bytes(self) -> int:
        return self.separate_bytes - self.shared_bytes


def shared_arena_plan(tenants, concurrent=()) -> ArenaPlan:
    """Plan the tensor arenas of several models on one device.

    Each model keeps its persistent part (``persistent_bytes``); the activation
    part (``arena_bytes - persistent_bytes``) is needed only while it runs.
    Models that never run at the same time can reuse one activation region as
    large as the largest; models that may run concurrently (``concurrent``:
    groups of names, e.g. on two cores or with preemption) need their activation
    regions side by side::

        shared = Σ persistent + max over groups (Σ activations in the group)

    Returns
    -------
    ArenaPlan
        ``layout`` maps each model to ``(offset, bytes)`` of its activations in the shared region.
    """
    tenants = {t.name: t for t in tenants}
    groups = [set(g) for g in concurrent]
    unknown = sorted(set().union(*groups) - set(tenants)) if groups else []
    if unknown:
        raise ValueError(f"concurrent names {unknown} are not tenants; use names from {sorted(tenants)}.")
    grouped = set().union(*groups) if groups else set()
    groups += [{name} for name in tenants if name not in grouped]
    activation = {n: t.arena_bytes - t.persistent_bytes for n, t in tenants.items()}
    layout, region = {}, 0
    for group in groups:
        offset = 0
        for name in sorted(group):
            layout.setdefault(name, (offset, activation[name]))
            offset += activation[name]
        region = max(region, offset)
    persistent = sum(t.persistent_bytes for t in tenants.values())
    return ArenaPlan(separate_bytes=sum(t.arena_bytes for t in tenants.values()), shared_bytes=persistent + region,
                     layout=layout)


# --------------------------------------------------------------------------- placement across a fleet

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
    return flash <= target.flash_bytes and ram <= target.ram_bytes and \
        all(latency <= w.max_latency_s for w in workloads)


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
            raise ValueError(f"{len(names)} devices and {len(workloads)} workloads make "
                             f"{len(names) ** len(workloads):,} assignments; use method='greedy'.")
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
            explanation.append(f"{w.name}: not placed — " + (
                "no device fits it even alone (memory or latency)" if not fits_alone else
                f"the devices it fits alone ({', '.join(fits_alone)}) are full"))
        else:
            t = targets[device]
            explanation.append(f"{w.name} -> {device} ({t.id}): {_latency(w, t) * 1000:.1f} ms of "
                               f"{w.max_latency_s * 1000:.0f} ms allowed")
    return Placement(assignment=assignment, devices_used=len(set(assignment.values())), feasible=feasible,
                     method=method, explanation=explanation)


# --------------------------------------------------------------------------- roll-out groups

def rollout_waves(devices, canary_fraction=0.05, wave_fractions=(0.25, 0.5, 1.0), seed=0) -> list:
    """Split a fleet into roll-out groups: a canary, then waves reaching the given cumulative fractions.

    ``devices`` maps device ids to their kind (e.g. target id). Every group is
    stratified: each kind appears in the canary (at least one device per kind)
    and in every wave in proportion, so a fault specific to one kind of board
    shows up first. Returns a list of lists of device ids.
    """
    if not 0 < canary_fraction < 1 or list(wave_fractions) != sorted(wave_fractions) or wave_fractions[-1] != 1.0:
        raise ValueError(f"canary_fraction={canary_fraction!r} must be in (0, 1) and wave_fractions="
                         f"{wave_fractions!r} increasing cumulative fractions ending at 1.0.")
    rng = np.random.default_rng(seed)
    by_kind = {}
    for device, kind in sorted(devices.items()):
        by_kind.setdefault(kind, []).append(device)
    fractions = [canary_fraction] + list(wave_fractions)
    groups = [[] for _ in fractions]
    for kind, members in by_kind.items():
        members = list(rng.permutation(members))
        taken = 0
        for g, fraction in enumerate(fractions):
            upto = max(1, round(fraction * len(members))) if g == 0 else round(fraction * len(members))
            upto = max(upto, taken)
            groups[g].extend(members[taken:upto])
            taken = upto
    return [sorted(g) for g in groups if g]


def simulate_rollout(waves, devices, failure_rate, halt_above=0.02, seed=0) -> dict:
    """Roll an update out wave by wave; halt when a wave's failure rate exceeds ``halt_above``.

    ``failure_rate`` maps a device kind to the probability that the update
    breaks a device of that kind. Returns ``updated``, ``failed``, ``halted_after``
    (wave index or None) and per-wave ``waves`` records.
    """
    rng = np.random.default_rng(seed)
    updated = failed = 0
    records = []
    for index, wave in enumerate(waves):
        broken = sum(rng.random() < failure_rate.get(devices[d], 0.0) for d in wave)
        updated += len(wave)
        failed += broken
        records.append({"wave": index, "devices": len(wave), "failed": int(broken)})
        if broken / len(wave) > halt_above:
            return {"updated": updated, "failed": int(failed), "halted_after": index, "waves": records}
    return {"updated": updated, "failed": int(failed), "halted_after": None, "waves": records}


# --------------------------------------------------------------------------- cascades

def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of logits (N, classes), computed stably."""
    z = np.asarray(logits, np.float64)
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def cascade_outcome(small_logits, large_logits, labels, threshold, small_macs, large_macs,
                    energy_per_mac_j=None) -> dict:
    """One cascade, simulated from both models' outputs on the same inputs.

    The small model always runs; where its top softmax probability is below
    ``threshold`` the input is escalated to the large model, whose answer is used.
    Average compute per input = ``small_macs + escalated_fraction · large_macs``.

    Parameters
    ----------
    small_logits, large_logits : ndarray (N, classes)
    labels : ndarray (N,) int
    threshold : float in [0, 1]
        1.0 escalates everything (plus the small model's cost); 0 never escalates.

    Returns
    -------
    dict
        ``accuracy``, ``escalated`` (fraction), ``average_macs``, ``relative_compute``
        (vs the large model always), ``large_accuracy``, ``small_accuracy`` and,
        with ``energy_per_mac_j``, ``average_energy_j``.
    """
    small_logits, large_logits, labels = np.asarray(small_logits), np.asarray(large_logits), np.asarray(labels)
    confidence = softmax(small_logits).max(axis=1)
    escalate = confidence < threshold
    predictions = np.where(escalate, large_logits.argmax(axis=1), small_logits.argmax(axis=1))
    average_macs = small_macs + escalate.mean() * large_macs
    result = {"threshold": float(threshold), "accuracy": float((predictions == labels).mean()),
              "escalated": float(escalate.mean()), "average_macs": float(average_macs),
              "relative_compute": float(average_macs / large_macs),
              "small_accuracy": float((small_logits.argmax(axis=1) == labels).mean()),
              "large_accuracy": float((large_logits.argmax(axis=1) == labels).mean())}
    if energy_per_mac_j is not None:
        result["average_energy_j"] = float(average_macs * energy_per_mac_j)
        result["large_energy_j"] = float(large_macs * energy_per_mac_j)
    return result


def cascade_sweep(small_logits, large_logits, labels, small_macs, large_macs, thresholds=None, **options) -> list:
    """:func:`cascade_outcome` for each threshold (default 0.5 … 0.999); a list of dicts."""
    thresholds = np.round(np.concatenate([np.linspace(0.5, 0.95, 10), [0.97, 0.98, 0.99, 0.995, 0.999]]), 4) \
        if thresholds is None else thresholds
    return [cascade_outcome(small_logits, large_logits, labels, t, small_macs, large_macs, **options)
            for t in thresholds]


def pick_threshold(sweep, max_accuracy_drop=0.01) -> dict:
    """The cheapest sweep point whose accuracy is within ``max_accuracy_drop`` of the large model's (or None)."""
    ok = [r for r in sweep if r["accuracy"] >= r["large_accuracy"] - max_accuracy_drop - 1e-12]
    return min(ok, key=lambda r: r["average_macs"]) if ok else None


def plot_cascade_sweep(sweep, ax=None):
    """Accuracy and relative compute against the threshold, the large model as a reference line."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.6))
    thresholds = [r["threshold"] for r in sweep]
    ax.plot(thresholds, [100 * r["accuracy"] for r in sweep], "o-", color="C0", label="cascade accuracy")
    ax.axhline(100 * sweep[0]["large_accuracy"], color="C0", ls=":", label="large model always")
    ax.set(xlabel="confidence threshold", ylabel="accuracy (%)")
    twin = ax.twinx()
    twin.plot(thresholds, [100 * r["relative_compute"] for r in sweep], "s--", color="C1",
              label="compute (% of large)")
    twin.set_ylabel("average compute (% of large model)")
    lines = ax.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], loc="center left", fontsize=8)
    return ax


class Cascade:
    """Run a two-stage cascade: ``small`` on every input, ``large`` only where ``small`` is unsure.

    ``small`` and ``large`` are functions from inputs (N, ...) to logits (N, classes),
    e.g. ``keras_model.predict`` or a package's ``Model().predict``. ``predict``
    returns the class indices and records how many inputs it escalated.
    """

    def __init__(self, small, large, threshold=0.9):
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold={threshold!r} must be a probability between 0 and 1.")
        self.small, self.large, self.threshold = small, large, threshold
        self.seen = self.escalated = 0

    def predict(self, x) -> np.ndarray:
        """Class indices (N,) for inputs (N, ...)."""
        small_logits = np.asarray(self.small(x))
        confident = softmax(small_logits).max(axis=1) >= self.threshold
        predictions = small_logits.argmax(axis=1)
        unsure = np.flatnonzero(~confident)
        if len(unsure):
            predictions[unsure] = np.asarray(self.large(x[unsure])).argmax(axis=1)
        self.seen += len(x)
        self.escalated += len(unsure)
        return predictions
