"""Wall-clock latency of a call, measured the way the benchmarks report it."""

import time

import numpy as np


def median_ms(run, repeats: int = 200, warmup: int = 20) -> float:
    """Median milliseconds of ``run()`` over ``repeats`` calls, after ``warmup`` untimed ones."""
    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))
