"""Signed manifests, delta updates and A/B slots: a device never ends without a working model."""

import numpy as np
import pytest

from scaledown.operate import federated, updates


@pytest.fixture(scope="module")
def setup():
    x, y, x_test, y_test = federated.load_flat_digits()
    old, _ = federated.train_centralised(x[:600], y[:600], epochs=3)
    # fine-tune only the last layer: w1, b1 stay byte-for-byte the same
    tuned = federated.train_local(old, x, y, epochs=1, learning_rate=0.05)
    new = {**old, "w2": tuned["w2"], "b2": tuned["b2"]}
    probe_x, probe_y = x_test[:60], y_test[:60]
    floor = federated.evaluate(old, probe_x, probe_y) - 0.2

    def health_check(weights):
        try:
            return federated.evaluate(weights, probe_x, probe_y) >= floor
        except (KeyError, ValueError):
            return False

    private_key, public_key = updates.generate_keypair()
    return old, new, health_check, private_key, public_key


def test_delta_holds_only_the_changed_tensors(setup):
    old, new, *_ = setup
    assert sorted(updates.make_delta(old, new)) == ["b2", "w2"]
    rebuilt = updates.apply_delta(old, updates.unpack(updates.pack(updates.make_delta(old, new))))
    assert updates.weights_sha256(rebuilt) == updates.weights_sha256(new)


def test_last_layer_update_of_the_baseline_is_under_ten_percent_of_the_full_model(setup):
    from scaledown.foundations import models

    *_, private_key, _ = setup
    old = {k: v.numpy() for k, v in models.baseline("torch").state_dict().items()}
    new = {**old, "logits.weight": old["logits.weight"] + 0.01, "logits.bias": old["logits.bias"] - 0.01}
    delta = updates.make_update(old, new, private_key, counter=1, version="1.1", kind="delta")
    full = updates.make_update(old, new, private_key, counter=1, version="1.1", kind="full")
    assert len(delta.wire()) <= 0.10 * len(full.wire())


def test_unpack_refuses_cut_and_corrupted_payloads(setup):
    old, *_ = setup
    payload = updates.pack(old)
    with pytest.raises(ValueError, match="cut"):
        updates.unpack(payload[:-5])
    corrupted = bytearray(payload)
    corrupted[-1] ^= 1
    with pytest.raises(ValueError, match="hash"):
        updates.unpack(bytes(corrupted))


def test_good_update_installs_and_its_replay_is_refused(setup):
    old, new, health_check, private_key, public_key = setup
    device = updates.ABDevice(old, public_key, health_check)
    update = updates.make_update(old, new, private_key, counter=1, version="1.1")
    assert device.receive(update.wire()).startswith("installed version 1.1")
    assert device.active == "B" and device.counter == 1
    assert "replayed" in device.receive(update.wire())
    assert device.has_working_model()


def test_unsigned_tampered_and_wrong_key_updates_are_refused(setup):
    old, new, health_check, private_key, public_key = setup
    device = updates.ABDevice(old, public_key, health_check)
    update = updates.make_update(old, new, private_key, counter=1, version="1.1")
    unsigned = updates.Update(update.manifest, bytes(64), update.payload)
    assert device.receive(unsigned.wire()) == "refused: the update is unsigned."
    assert device.last_refusal == "unsigned"
    edited = update.manifest.replace(b'"counter":1', b'"counter":99')
    assert edited != update.manifest
    assert "tampered" in device.receive(updates.Update(edited, update.signature, update.payload).wire())
    assert device.last_refusal == "bad_signature"
    bad_payload = bytearray(update.payload)
    bad_payload[len(bad_payload) // 2] ^= 0xFF
    assert "tampered in transit" in device.receive(
        updates.Update(update.manifest, update.signature, bytes(bad_payload)).wire()
    )
    other_key, _ = updates.generate_keypair()
    forged = updates.make_update(old, new, other_key, counter=1, version="evil")
    assert "tampered" in device.receive(forged.wire())
    assert device.active == "A" and device.counter == 0 and device.has_working_model()


def test_a_model_that_fails_its_health_check_is_rolled_back(setup):
    old, _, health_check, private_key, public_key = setup
    device = updates.ABDevice(old, public_key, health_check)
    broken = {**old, "w2": np.zeros_like(old["w2"])}
    message = device.receive(updates.make_update(old, broken, private_key, counter=1, version="bad").wire())
    assert message.startswith("rolled back") and device.active == "A" and device.has_working_model()
    assert "on 3 boots" in message and device.last_refusal == "health_check" and device.counter == 0


def test_a_thousand_updates_cut_at_random_bytes_never_brick_a_device(setup):
    old, new, health_check, private_key, public_key = setup
    rng = np.random.default_rng(0)
    devices = [updates.ABDevice(old, public_key, health_check) for _ in range(20)]
    good = updates.make_update(old, new, private_key, counter=1, version="1.1").wire()
    back = updates.make_update(new, old, private_key, counter=2, version="1.2").wire()
    installed = refused_bad = 0
    for trial in range(1000):
        device = devices[trial % len(devices)]
        wire = good if device.counter == 0 else back
        cut = len(wire) if rng.random() < 0.3 else int(rng.integers(0, len(wire)))  # 30% arrive whole
        kind = rng.choice(["cut", "tampered", "replay"], p=[0.8, 0.1, 0.1])
        if kind == "cut":
            expect_install = cut == len(wire) and device.counter < 2
            message = device.receive(wire[:cut])
            installed += message.startswith("installed")
            assert message.startswith("installed") == expect_install, message
        elif kind == "tampered":
            data = bytearray(wire)
            data[int(rng.integers(0, len(data)))] ^= 1 << int(rng.integers(0, 8))
            counter = device.counter
            message = device.receive(bytes(data))
            refused_bad += message.startswith("refused")
            assert device.counter == counter and message.startswith("refused"), message
        else:
            replay = device.counter >= 1
            message = device.receive(good)  # counter 1 again: a replay once installed
            if replay:
                refused_bad += 1
                assert "replayed" in message
        assert device.has_working_model(), f"trial {trial}: device left without a working model"
    assert installed > 0 and refused_bad > 0


def test_transfer_cost_of_a_delta_is_lower(setup):
    old, new, _, private_key, _ = setup
    delta = updates.make_update(old, new, private_key, counter=1, version="1.1")
    full = updates.make_update(old, new, private_key, counter=1, version="1.1", kind="full")
    assert updates.transfer_cost(len(delta.wire()))["joules"] < updates.transfer_cost(len(full.wire()))["joules"]


def test_make_update_rejects_an_unknown_kind(setup):
    old, new, _, private_key, _ = setup
    with pytest.raises(ValueError, match="kind='patch'"):
        updates.make_update(old, new, private_key, counter=1, version="1", kind="patch")
