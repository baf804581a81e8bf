"""Updates under attack and under power cuts: verify before parsing, fuzzing, a cut at every flash write.

Quick mode (``make test``) fuzzes 1,000 mutated updates; full mode 10,000. Each mutation
must be refused with a documented reason, never raise, and leave the device running its
old model. The power-cut tests cut after every flash write of an update (and leave each
write half done once), as MCUboot's simulator does: after the reboot the device runs the
old model or the new one, never neither.
"""

import json
import struct

import pytest

from scaledown import pick
from scaledown.operate import federated, updates
from scaledown.operate.updates import REASONS, Flash, PowerCut, UpdateRefused
from scaledown.operate.updates.signing import Manifest


@pytest.fixture(scope="module")
def models():
    x, y, x_test, y_test = federated.load_flat_digits()
    old, _ = federated.train_centralised(x[:600], y[:600], epochs=2)
    tuned = federated.train_local(old, x, y, epochs=1, learning_rate=0.05)
    new = {**old, "w2": tuned["w2"], "b2": tuned["b2"]}
    probe_x, probe_y = x_test[:60], y_test[:60]
    floor = federated.evaluate(old, probe_x, probe_y) - 0.2

    def health_check(weights):
        return federated.evaluate(weights, probe_x, probe_y) >= floor

    private_key, public_key = updates.generate_keypair()
    return old, new, health_check, private_key, public_key


def digest(weights):
    return updates.weights_sha256(weights)


def signed(manifest_document: dict, private_key) -> tuple:
    data = json.dumps(manifest_document, sort_keys=True, separators=(",", ":")).encode()
    return data, private_key.sign(data)


# ---------------------------------------------------------------- verify, then parse
def test_the_signature_is_checked_before_the_manifest_is_parsed(models, monkeypatch):
    old, new, health_check, private_key, public_key = models
    device = updates.ABDevice(old, public_key, health_check)
    parsed = []
    monkeypatch.setattr(Manifest, "parse", classmethod(lambda cls, data: parsed.append(data)))
    garbage = b'{"counter": "not json'
    forged = updates.Update(garbage, updates.generate_keypair()[0].sign(garbage), b"")
    assert device.receive(forged.wire()).startswith("refused: the signature does not match")
    assert device.last_refusal == "bad_signature" and parsed == []


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: {**m, "counter": "2"}, "counter is not a non-negative integer"),
        (lambda m: {**m, "counter": True}, "counter is not a non-negative integer"),
        (lambda m: {**m, "payload_bytes": -1}, "payload_bytes is not a non-negative integer"),
        (lambda m: {**m, "model": 7}, "model is not a string"),
        (lambda m: {**m, "tensors": "w2"}, "tensors is not a list of names"),
        (lambda m: {**m, "kind": "patch"}, "is not 'full' or 'delta'"),
        (lambda m: {**m, "target_sha256": "00"}, "not 64 lowercase hex digits"),
        (lambda m: {**m, "extra": 1}, "unknown fields ['extra']"),
        (lambda m: {k: v for k, v in m.items() if k != "counter"}, "lacks ['counter']"),
        (lambda m: [m], "not a JSON object"),
    ],
)
def test_a_signed_manifest_with_wrong_fields_is_refused_in_one_sentence(models, edit, message):
    old, new, health_check, private_key, public_key = models
    device = updates.ABDevice(old, public_key, health_check)
    good = updates.make_update(old, new, private_key, counter=2, version="1.1")
    document = edit(json.loads(good.manifest))
    manifest, signature = signed(document, private_key)  # even the vendor's own key cannot sign nonsense in
    answer = device.receive(updates.Update(manifest, signature, good.payload).wire())
    assert message in answer and answer.count(".") >= 1 and "\n" not in answer
    assert device.last_refusal == "bad_manifest" and device.counter == 0 and device.has_working_model()


def test_lengths_are_checked_against_the_caps_before_anything_is_read(models):
    old, new, health_check, private_key, public_key = models
    device = updates.ABDevice(old, public_key, health_check, max_payload_bytes=64 * 1024)
    header = struct.pack("<4sII", b"SDU2", 300, 2_000_000_000)  # a 2 GB payload announced in 12 bytes
    assert "more than the 65536 a slot holds" in device.receive(header)
    assert device.last_refusal == "too_large"
    huge_manifest = struct.pack("<4sII", b"SDU2", 10_000_000, 10)
    assert device.receive(huge_manifest).startswith("refused: the manifest would be 10000000 bytes")
    good = updates.make_update(old, new, private_key, counter=1, version="1.1").wire()
    assert device.receive(good + b"\0").startswith("refused: 1 bytes follow the update")
    assert device.receive(b"GET / HTTP/1.1") == "refused: these bytes do not start like an update."


def test_a_delta_for_another_model_is_refused_before_a_byte_is_written(models):
    old, new, health_check, private_key, public_key = models
    device = updates.ABDevice(new, public_key, health_check)
    writes = device.flash.operations
    other = {**old, "b1": old["b1"] + 1}
    answer = device.receive(updates.make_update(other, new, private_key, counter=1, version="1.1").wire())
    assert device.last_refusal == "wrong_base" and "another model" in answer
    assert device.flash.operations == writes


def test_every_refusal_reason_is_documented():
    with pytest.raises(ValueError):
        UpdateRefused("because", "refused: no.")
    assert all(isinstance(text, str) and text for text in REASONS.values())


# ---------------------------------------------------------------- fuzzing
def test_fuzzed_updates_are_all_refused_and_the_old_model_keeps_answering(models):
    from scaledown.operate.updates.faults import MUTATIONS, fuzz

    old, new, health_check, private_key, public_key = models
    attacker_key, _ = updates.generate_keypair()
    device = updates.ABDevice(old, public_key, health_check)
    current, older = old, []
    for counter in range(1, 4):  # the device installs three genuine updates first
        target = new if current is old else old
        update = updates.make_update(current, target, private_key, counter=counter, version=f"1.{counter}")
        assert device.receive(update.wire()).startswith("installed")
        older.append(update)
        current = target
    counter, writes = device.counter, device.flash.operations
    target = new if current is old else old
    good = updates.make_update(current, target, private_key, counter=4, version="1.4")
    other = updates.make_update(current, target, private_key, counter=5, version="1.5")
    cases = pick(full=10_000, quick=1_000)
    report = fuzz(device, good, cases, seed=2026, older=older, other=other, attacker_key=attacker_key)
    assert report.tried >= 0.99 * cases and report.accepted == 0 and not report.crashed, report.crashed[:5]
    assert report.old_model_lost == 0 and device.counter == counter
    assert device.flash.operations == writes, "a refused update wrote to flash"
    assert set(report.by_mutation) == set(MUTATIONS)
    assert set(report.by_reason) <= set(REASONS) and None not in report.by_reason
    assert device.receive(good.wire()).startswith("installed version 1.4")  # and the genuine one still installs


# ---------------------------------------------------------------- power cuts
def update_and_count(old, new, health_check, private_key, public_key):
    """The update's wire bytes, and how many flash operations installing it takes."""
    wire = updates.make_update(old, new, private_key, counter=1, version="1.1").wire()
    device = updates.ABDevice(old, public_key, health_check, flash=Flash(page_size=256))
    before = device.flash.operations
    assert device.receive(wire).startswith("installed")
    return wire, device.flash.operations - before


def test_the_power_cut_sweep_counts_every_write_and_no_brick(models):
    from scaledown.operate.updates.faults import power_cut_sweep

    old, new, health_check, private_key, public_key = models
    update = updates.make_update(old, new, private_key, counter=1, version="1.1")
    report = power_cut_sweep(old, new, update, public_key, health_check)
    assert report.tried == 2 * report.writes and report.bricked == 0
    assert report.booted_old > 0 and report.booted_new > 0 and report.booted_old + report.booted_new == report.tried


@pytest.mark.parametrize("torn", [False, True], ids=["cut between writes", "write left half done"])
def test_a_power_cut_after_every_flash_write_never_leaves_the_device_without_a_model(models, torn):
    old, new, health_check, private_key, public_key = models
    wire, writes = update_and_count(old, new, health_check, private_key, public_key)
    assert writes >= 10, f"the update takes {writes} flash operations; use smaller pages to test more cut points"
    outcomes = {"old": 0, "new": 0}
    for k in range(writes):  # the cut hits operation k+1: 1..N-1 between writes, and the last one itself
        flash = Flash(page_size=256)
        device = updates.ABDevice(old, public_key, health_check, flash=flash)
        flash.cut_after, flash.torn = flash.operations + k, torn
        with pytest.raises(PowerCut):
            device.receive(wire)
        device.reboot()
        running = digest(device.weights())
        assert device.has_working_model() and running in (digest(old), digest(new)), f"cut at write {k + 1}"
        outcomes["new" if running == digest(new) else "old"] += 1
        assert device.counter == (1 if running == digest(new) else 0)
        again = device.receive(wire)  # the vendor resends: it installs, or is refused as already installed
        assert again.startswith("installed") or device.last_refusal == "rollback", again
        assert digest(device.weights()) == digest(new)
    assert outcomes["old"] > 0 and outcomes["new"] > 0


def test_a_model_that_crashes_at_boot_is_rolled_back_after_three_attempts(models):
    old, new, health_check, private_key, public_key = models
    crashes = []

    def crashing_health_check(weights):
        if digest(weights) == digest(new):
            crashes.append(1)
            raise PowerCut("the watchdog reset the device")  # the new model hangs the device at boot
        return health_check(weights)

    device = updates.ABDevice(old, public_key, crashing_health_check)
    with pytest.raises(PowerCut):
        device.receive(updates.make_update(old, new, private_key, counter=1, version="1.1").wire())
    for boot in range(2):
        with pytest.raises(PowerCut):
            device.reboot()
    device.reboot()  # the fourth boot: three attempts never confirmed, so back to slot A
    assert len(crashes) == 3 and device.active == "A" and device.counter == 0 and device.has_working_model()
