"""Models that never run at the same time can share their arenas' activation memory."""

from __future__ import annotations

from dataclasses import dataclass


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
    return ArenaPlan(
        separate_bytes=sum(t.arena_bytes for t in tenants.values()), shared_bytes=persistent + region, layout=layout
    )
