"""Bit flips, their detection, a timing leak, and voting."""

import types

import numpy as np
import pytest

from scaledown.operate import federated, robustness


@pytest.fixture(scope="module")
def model():
    x, y, x_test, y_test = federated.load_flat_digits()
    weights, _ = federated.train_centralised(x, y, epochs=3)
    return weights, x_test, y_test


def test_flip_bits_changes_exactly_the_requested_bits():
    a = np.linspace(-1, 1, 100, dtype=np.float32)
    flipped = robustness.flip_bits(a, 3, seed=1)
    diff = a.view(np.uint32) ^ flipped.view(np.uint32)
    assert sum(bin(int(d)).count("1") for d in diff) in (1, 3)  # two flips of one bit cancel
    with pytest.raises(ValueError, match="bit=40"):
        robustness.flip_bits(a, 1, bit=40)


def test_exponent_flips_hurt_and_the_checksum_sees_them(model):
    weights, x_test, y_test = model
    clean = federated.evaluate(weights, x_test, y_test)
    hit = robustness.flip_bits_in_weights(weights, 20, seed=0, bit=30)
    assert federated.evaluate(hit, x_test, y_test) < clean - 0.1
    crc = robustness.tensor_crc32(weights)
    assert robustness.corrupted_tensors(weights, crc) == []
    assert robustness.corrupted_tensors(hit, crc) != []


def test_range_check_flags_corrupted_activations(model):
    weights, x_test, _ = model
    _, hidden = federated.forward(weights, x_test, return_hidden=True)
    low, high = robustness.calibrate_ranges(hidden)
    assert not robustness.range_check(hidden, low, high).any()
    corrupted = hidden.copy()
    corrupted[5, 3] = 1e30
    assert robustness.range_check(corrupted, low, high).tolist() == [i == 5 for i in range(len(hidden))]


TICK = 2.0**-20  # about 1 µs, a power of two so that sums of ticks are exact in floating point


@pytest.fixture
def simulated_clock(monkeypatch):
    """``robustness``'s clock, replaced by one that moves one ``TICK`` each time it is read.

    On the wall clock a 0.2 ms leak drowns when other processes share the CPU (the
    attack then picks a wrong byte now and then); here ``leaky_compare``'s per-byte busy
    wait and the attacker's stopwatch measure exact, noise-free times.
    """
    clock = types.SimpleNamespace(ticks=0)

    def perf_counter():
        clock.ticks += 1
        return clock.ticks * TICK

    monkeypatch.setattr(robustness, "time", types.SimpleNamespace(perf_counter=perf_counter))
    return clock


def test_leaky_compare_takes_longer_the_more_leading_bytes_match(simulated_clock):
    secret = b"7315"
    durations = []
    for guess in (b"0000", b"7000", b"7300", b"7310"):
        start = simulated_clock.ticks
        assert not robustness.leaky_compare(secret, guess, per_byte_seconds=128 * TICK)
        durations.append(simulated_clock.ticks - start)
    # every byte it looks at costs one busy wait: a read to start it and 128 reads until it ends
    assert durations == [129, 2 * 129, 3 * 129, 4 * 129]


def test_timing_attack_recovers_a_leaky_secret_but_not_a_constant_time_one(simulated_clock):
    secret = b"731"
    leaky = lambda guess: robustness.leaky_compare(secret, guess, per_byte_seconds=2e-4)  # noqa: E731
    assert robustness.timing_attack(leaky, len(secret), repeats=3) == secret
    constant_time = lambda guess: robustness.constant_time_compare(secret, guess)  # noqa: E731
    assert robustness.timing_attack(constant_time, len(secret), repeats=3) != secret
    assert robustness.constant_time_compare(secret, b"731") and not robustness.constant_time_compare(secret, b"730")


def test_voting_outvotes_one_faulty_member():
    truth = np.array([0, 1, 2, 3])
    assert robustness.majority_vote([truth, truth, [9, 9, 9, 9]]).tolist() == truth.tolist()
    readings = np.array([[20.0, 21.0], [20.5, 21.5], [99.0, 99.0]])
    assert robustness.median_vote(readings).tolist() == [20.5, 21.5]
