"""Is the sensor still telling the truth? Three failures a window of readings gives away.

* **stuck-at**: the reading no longer changes (a frozen ADC, a cut wire read as a constant);
* **out-of-range**: a value the physical sensor cannot produce (outside its datasheet range);
* **excessive noise**: the sample-to-sample jitter is many times what this sensor normally shows.

:func:`check_readings` looks at the last few readings of one device, (W, channels), and
returns the failures it sees — an empty list for a healthy sensor.
"""

from __future__ import annotations

import numpy as np

FAILURES = ("stuck", "out_of_range", "noise")


def check_readings(
    readings, valid_range=(-10.0, 10.0), normal_jitter: float = 1.0, *, stuck_window: int = 5, noise_factor: float = 3.0
) -> list[str]:
    """Sensor failures visible in ``readings`` (W, channels): a subset of :data:`FAILURES`.

    Parameters
    ----------
    readings : array (W, channels)
        The most recent readings, oldest first.
    valid_range : (low, high)
        What the sensor can physically report; any value outside is ``"out_of_range"``.
    normal_jitter : float
        Typical standard deviation of the difference between consecutive readings of a
        healthy sensor (measure it on good data).
    stuck_window : int
        This many identical readings in a row on a channel is ``"stuck"``.
    noise_factor : float
        Jitter above ``noise_factor × normal_jitter`` (over at least 8 readings) is ``"noise"``.
    """
    x = np.asarray(readings, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    failures = []
    if x.shape[0] >= stuck_window and np.any(np.ptp(x[-stuck_window:], axis=0) == 0):
        failures.append("stuck")
    low, high = valid_range
    if np.any(~np.isfinite(x[-1])) or np.any((x[-1] < low) | (x[-1] > high)):
        failures.append("out_of_range")
    if x.shape[0] >= 8:
        jitter = np.std(np.diff(x[-16:], axis=0), axis=0)
        if np.any(jitter > noise_factor * normal_jitter):
            failures.append("noise")
    return failures
