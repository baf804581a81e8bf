"""The shared latency measurement, on a fake clock that each call moves by a known amount."""

import types

import pytest

from scaledown.foundations import timing
from scaledown.foundations.timing import median_ms


def test_median_ms_is_the_median_of_the_timed_repeats_in_milliseconds(monkeypatch):
    # Three warm-up calls of 1 s each, then five timed calls of 4, 1, 3, 100 and 2 ms: the median is 3 ms.
    durations = iter([1.0, 1.0, 1.0, 0.004, 0.001, 0.003, 0.100, 0.002])
    clock = types.SimpleNamespace(now=0.0)
    monkeypatch.setattr(timing, "time", types.SimpleNamespace(perf_counter=lambda: clock.now))
    calls = []

    def run():
        calls.append(1)
        clock.now += next(durations)

    assert median_ms(run, repeats=5, warmup=3) == pytest.approx(3.0)
    assert len(calls) == 8
