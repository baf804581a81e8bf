"""A fleet-wide update in groups: a canary first, then growing waves, halted when failures rise."""

from __future__ import annotations

import numpy as np


def rollout_waves(devices, canary_fraction=0.05, wave_fractions=(0.25, 0.5, 1.0), seed=0) -> list:
    """Split a fleet into roll-out groups: a canary, then waves reaching the given cumulative fractions.

    ``devices`` maps device ids to their kind (e.g. target id). Every group is
    stratified: each kind appears in the canary (at least one device per kind)
    and in every wave in proportion, so a fault specific to one kind of board
    shows up first. Returns a list of lists of device ids.
    """
    if not 0 < canary_fraction < 1 or list(wave_fractions) != sorted(wave_fractions) or wave_fractions[-1] != 1.0:
        raise ValueError(
            f"canary_fraction={canary_fraction!r} must be in (0, 1) and wave_fractions="
            f"{wave_fractions!r} increasing cumulative fractions ending at 1.0."
        )
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
