"""Several models on one core: periods, deadlines, round-robin against priority scheduling."""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np


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
            rows.append(
                f"{name:<12}{s['runs']:>6}{s['late']:>6}{s['dropped']:>9}"
                f"{1000 * s['mean_response_s']:>10.1f}ms{1000 * s['max_response_s']:>9.1f}ms"
            )
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
        per_tenant[name] = {
            **s,
            "mean_response_s": float(np.mean(responses)) if responses else float("nan"),
            "max_response_s": float(np.max(responses)) if responses else float("nan"),
        }
    return ScheduleResult(
        policy=policy,
        duration_s=duration_s,
        timeline=timeline,
        per_tenant=per_tenant,
        utilisation=sum(t.utilisation for t in tenants),
    )


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
    ax.set(
        yticks=range(len(names)),
        yticklabels=names,
        xlim=(0, window_s),
        xlabel="time (s)",
        title=f"{result.policy}: utilisation {result.utilisation:.0%}",
    )
    return ax
