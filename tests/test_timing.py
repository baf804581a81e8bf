"""The shared latency measurement."""
from scaledown.timing import median_ms


def test_median_ms_times_only_the_repeats():
    calls = []
    assert median_ms(lambda: calls.append(1), repeats=5, warmup=3) >= 0.0
    assert len(calls) == 8
