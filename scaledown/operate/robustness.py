"""Security and robustness on the device: bit flips, their detection, timing leaks, voting.

* **Fault injection.** A cosmic ray, a brown-out or a laser glitch flips a bit in SRAM or
  flash. :func:`flip_bits` flips random bits of float32 weights (or activations); one flip
  in an exponent bit can turn 0.01 into 10^36 and wreck every prediction.
* **Detection.** A checksum over the weights (:func:`tensor_crc32`, as a device would run
  at boot) catches any flip in stored weights; a range check on activations
  (:func:`calibrate_ranges`, :func:`range_check`) catches flips that happen while running.
* **Side channels.** :func:`leaky_compare` stops at the first wrong byte, so its running
  time tells an attacker how many leading bytes of a guess were right;
  :func:`timing_attack` recovers a secret byte by byte from timings alone.
  ``hmac.compare_digest`` takes the same time whatever the guess.
* **Redundancy.** :func:`majority_vote` across models and :func:`median_vote` across
  sensors survive one faulty member.
"""

from __future__ import annotations

import hmac
import time
import zlib

import numpy as np


# --- fault injection ------------------------------------------------------------------------
def flip_bits(array, num_flips: int, seed: int = 0, bit: int | None = None) -> np.ndarray:
    """A copy of float32 ``array`` with ``num_flips`` random bits flipped (``bit`` fixes which bit, 0..31; 30 is the exponent's top bit)."""
    a = np.array(array, dtype=np.float32, copy=True)
    if bit is not None and not 0 <= bit <= 31:
        raise ValueError(f"bit={bit!r} must be between 0 (mantissa's lowest) and 31 (sign).")
    rng = np.random.default_rng(seed)
    words = a.reshape(-1).view(np.uint32)
    positions = rng.integers(0, words.size, num_flips)
    bits = np.full(num_flips, bit) if bit is not None else rng.integers(0, 32, num_flips)
    for p, b in zip(positions, bits):
        words[p] ^= np.uint32(1) << np.uint32(b)
    return a


def flip_bits_in_weights(weights: dict, num_flips: int, seed: int = 0, bit: int | None = None) -> dict:
    """A copy of ``weights`` ({name: float32 array}) with ``num_flips`` bits flipped across all tensors, by size."""
    rng = np.random.default_rng(seed)
    names = sorted(weights)
    sizes = np.array([weights[n].size for n in names], dtype=np.float64)
    counts = np.bincount(rng.choice(len(names), num_flips, p=sizes / sizes.sum()), minlength=len(names))
    return {
        n: flip_bits(weights[n], int(c), seed=seed + i, bit=bit) if c else weights[n].copy()
        for i, (n, c) in enumerate(zip(names, counts))
    }


# --- detection ------------------------------------------------------------------------------
def tensor_crc32(weights: dict) -> dict:
    """CRC-32 of each tensor's bytes: ``{name: int}`` (cheap enough for a microcontroller's boot)."""
    return {n: zlib.crc32(np.ascontiguousarray(v).tobytes()) for n, v in weights.items()}


def corrupted_tensors(weights: dict, expected_crc: dict) -> list:
    """Names of the tensors whose CRC-32 no longer matches ``expected_crc``."""
    actual = tensor_crc32(weights)
    return sorted(n for n in expected_crc if actual.get(n) != expected_crc[n])


def calibrate_ranges(activations, margin: float = 0.1):
    """Per-unit ``(low, high)`` seen on clean ``activations`` (N, units), widened by ``margin`` of the span."""
    a = np.asarray(activations, dtype=np.float64)
    low, high = a.min(0), a.max(0)
    span = np.maximum(high - low, 1e-6)
    return low - margin * span, high + margin * span


def range_check(activations, low, high) -> np.ndarray:
    """True for each row of ``activations`` (N, units) with any value outside ``[low, high]`` or not finite."""
    with np.errstate(invalid="ignore", over="ignore"):
        a = np.asarray(activations, dtype=np.float64)
    return ~np.all(np.isfinite(a) & (a >= low) & (a <= high), axis=1)


# --- a timing side channel ------------------------------------------------------------------
def leaky_compare(secret: bytes, guess: bytes, per_byte_seconds: float = 0.0) -> bool:
    """Compare byte by byte and stop at the first difference — the textbook timing leak.

    ``per_byte_seconds`` stands in for a slow microcontroller's per-byte work so that the
    leak is visible above a PC's timing noise.
    """
    if len(secret) != len(guess):
        return False
    for s, g in zip(secret, guess):
        if per_byte_seconds:
            end = time.perf_counter() + per_byte_seconds
            while time.perf_counter() < end:
                pass
        if s != g:
            return False
    return True


def constant_time_compare(secret: bytes, guess: bytes) -> bool:
    """The fix: ``hmac.compare_digest`` looks at every byte whatever the guess."""
    return hmac.compare_digest(secret, guess)


def time_guess(check, guess: bytes, repeats: int = 15) -> float:
    """Median seconds ``check(guess)`` takes, over ``repeats`` runs."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        check(guess)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def timing_attack(check, length: int, alphabet: bytes = b"0123456789", repeats: int = 15) -> bytes:
    """Recover a secret of ``length`` bytes from ``check``'s timings alone, one byte at a time.

    For each position, try every symbol of ``alphabet`` (the rest padded) and keep the one
    that made ``check`` slowest: it passed one more byte before the mismatch. The last
    byte leaks no time (there is nothing after it), but ``check`` answers True for it.
    """
    known = b""
    for position in range(length - 1):
        pad = alphabet[:1] * (length - position - 1)
        timings = {s: time_guess(check, known + bytes([s]) + pad, repeats) for s in alphabet}
        known += bytes([max(timings, key=timings.get)])
    for s in alphabet:
        if check(known + bytes([s])):
            return known + bytes([s])
    return known + alphabet[:1]


# --- redundancy -----------------------------------------------------------------------------
def majority_vote(predictions) -> np.ndarray:
    """The most common class per column of ``predictions`` (M voters, N samples) of ints; ties → smallest class."""
    p = np.asarray(predictions, dtype=np.int64)
    counts = np.apply_along_axis(np.bincount, 0, p, minlength=int(p.max()) + 1)
    return counts.argmax(0)


def median_vote(readings) -> np.ndarray:
    """The median across sensors of ``readings`` (M sensors, ...): one stuck or wild sensor out of three is outvoted."""
    return np.median(np.asarray(readings, dtype=np.float64), axis=0)
