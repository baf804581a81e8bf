"""Attack and break updates on purpose: a fuzzer and a power cut at every flash write.

How MCUboot, TUF and Mender convince themselves a device survives the field:

* :func:`fuzz` sends a device thousands of *mutated* updates — bits flipped, cut short,
  bytes appended, lengths in the header changed, manifest fields edited (with the old
  signature, or re-signed by an attacker), fields of the wrong type, a signature from
  another update, replays of older genuine updates — and counts how many it accepted
  (must be 0), how many made it raise (must be 0), and whether the old model still
  answers after each;
* :func:`power_cut_sweep` installs one update again and again, cutting power after
  write 1, 2, …, N of it (and, with ``torn=True``, leaving that write half done), and
  counts the reboots that found no working model (must be 0).
"""

from __future__ import annotations

import collections
import json
import struct
from dataclasses import dataclass, field

import numpy as np

from scaledown.operate.updates import delta as _delta
from scaledown.operate.updates.flash import Flash, PowerCut
from scaledown.operate.updates.slots import ABDevice, Update

MUTATIONS = (
    "bit flip",
    "truncate",
    "append",
    "header length",
    "field edit",
    "attacker field edit",
    "wrong type",
    "swap signature",
    "replay",
)


def mutate(
    rng: np.random.Generator, good: Update, *, older=(), other: Update | None = None, attacker_key=None
) -> tuple[bytes, str]:
    """One mutated copy of ``good`` as wire bytes, and the name of the mutation (one of :data:`MUTATIONS`)."""
    kinds = [
        k
        for k in MUTATIONS
        if (k != "replay" or older)
        and (k != "swap signature" or other is not None)
        and (k not in ("attacker field edit", "wrong type") or attacker_key is not None)
    ]
    kind = str(rng.choice(kinds))
    data = bytearray(good.wire())
    if kind == "bit flip":
        for _ in range(int(rng.integers(1, 4))):
            data[int(rng.integers(0, len(data)))] ^= 1 << int(rng.integers(0, 8))
        return bytes(data), kind
    if kind == "truncate":
        return bytes(data[: int(rng.integers(0, len(data)))]), kind
    if kind == "append":
        return bytes(data) + rng.bytes(int(rng.integers(1, 64))), kind
    if kind == "header length":
        at = 4 + 4 * int(rng.integers(0, 2))  # the manifest's or the payload's length
        data[at : at + 4] = struct.pack("<I", int(rng.integers(0, 2**32)))
        return bytes(data), kind
    if kind == "swap signature":
        return Update(good.manifest, other.signature, good.payload).wire(), kind
    if kind == "replay":
        return older[int(rng.integers(0, len(older)))].wire(), kind
    document = json.loads(good.manifest)
    name = str(rng.choice(sorted(document)))
    if kind == "wrong type":
        document[name] = [None, 1.5, "x" * 5, -7, {"a": 1}, True, []][int(rng.integers(0, 7))]
    elif isinstance(document[name], int):
        document[name] = int(document[name]) + int(rng.integers(1, 1000))
    else:
        document[name] = str(document[name])[::-1] + "0"
    manifest = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    if kind == "field edit":  # the genuine signature, over other bytes now
        return Update(manifest, good.signature, good.payload).wire(), kind
    return Update(manifest, attacker_key.sign(manifest), good.payload).wire(), kind


@dataclass
class FuzzReport:
    tried: int = 0
    accepted: int = 0
    crashed: list = field(default_factory=list)
    old_model_lost: int = 0
    by_mutation: collections.Counter = field(default_factory=collections.Counter)
    by_reason: collections.Counter = field(default_factory=collections.Counter)


def fuzz(
    device: ABDevice, good: Update, cases: int, *, seed: int = 0, older=(), other=None, attacker_key=None
) -> FuzzReport:
    """Send ``cases`` mutations of ``good`` to ``device``; count acceptances, crashes and lost models."""
    rng = np.random.default_rng(seed)
    running = _delta.weights_sha256(device.weights())
    report = FuzzReport()
    for _ in range(cases):
        data, kind = mutate(rng, good, older=older, other=other, attacker_key=attacker_key)
        if data == good.wire():
            continue  # a flip that flipped back is no mutation
        report.tried += 1
        report.by_mutation[kind] += 1
        try:
            answer = device.receive(data)
        except Exception as exc:  # noqa: BLE001 - counted: the device must never raise on input
            report.crashed.append(f"{kind}: {type(exc).__name__}: {exc}")
            continue
        report.accepted += answer.startswith("installed")
        report.by_reason[device.last_refusal] += 1
        if _delta.weights_sha256(device.weights()) != running or not device.has_working_model():
            report.old_model_lost += 1
    return report


@dataclass
class PowerCutReport:
    writes: int  # flash operations one installation takes
    tried: int  # power cuts (one per write, times torn/not torn)
    bricked: int  # reboots that found no working model
    booted_old: int
    booted_new: int


def power_cut_sweep(
    old: dict, new: dict, update: Update, public_key, health_check, *, page_size: int = 256, torn_too: bool = True
) -> PowerCutReport:
    """Install ``update`` (``old`` → ``new``) once per flash write, cutting power at that write; reboot; count."""
    probe = ABDevice(old, public_key, health_check, flash=Flash(page_size=page_size))
    before = probe.flash.operations
    probe.receive(update.wire())
    writes = probe.flash.operations - before
    old_hash, new_hash = _delta.weights_sha256(old), _delta.weights_sha256(new)
    report = PowerCutReport(writes, 0, 0, 0, 0)
    for torn in (False, True) if torn_too else (False,):
        for k in range(writes):
            flash = Flash(page_size=page_size)
            device = ABDevice(old, public_key, health_check, flash=flash)
            flash.cut_after, flash.torn = flash.operations + k, torn
            report.tried += 1
            try:
                device.receive(update.wire())
            except PowerCut:
                pass
            device.reboot()
            running = _delta.weights_sha256(device.weights()) if device._running is not None else None
            if running not in (old_hash, new_hash) or not device.has_working_model():
                report.bricked += 1
            elif running == new_hash:
                report.booted_new += 1
            else:
                report.booted_old += 1
    return report
