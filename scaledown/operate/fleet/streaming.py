"""Streaming change detectors from river: ADWIN and Page-Hinkley.

A window test (:class:`~scaledown.operate.fleet.drift.DriftDetector`) asks of each window on
its own: "is this unlike the reference?" — it needs a reference and a window length,
and it answers at once for a large change. A change detector watches one number per
step (a window's drift score, the model's confidence) and asks: "has its mean moved
since it started?" — it needs no reference and accumulates evidence, so it catches a
small, lasting change that no single window shows, but only after it has seen enough
of it, and it must be reset after each alarm.

* **ADWIN** (Bifet & Gavaldà 2007) keeps a window of recent values and drops its older
  part whenever the two parts' means differ by more than a bound set by ``delta``.
* **Page-Hinkley** (Page 1954) sums the deviations from the running mean, minus an
  allowed drift ``delta``, and alarms when the sum leaves its minimum by ``threshold``.

Both assume independent steps, as the KS p-value does: feed them one value per
*window*, not per reading.
"""

from __future__ import annotations

import numpy as np

METHODS = ("adwin", "page_hinkley")


def change_detector(method: str = "adwin", **params):
    """A fresh river detector: ``method`` "adwin" (``river.drift.ADWIN``) or "page_hinkley"
    (``river.drift.PageHinkley``); ``params`` go to its constructor."""
    from river import drift

    if method == "adwin":
        return drift.ADWIN(**params)
    if method == "page_hinkley":
        return drift.PageHinkley(**params)
    raise ValueError(f"method={method!r} is not a change detector here; use one of {', '.join(map(repr, METHODS))}.")


def detect_changes(values, method: str = "adwin", **params) -> list[int]:
    """Indices of ``values`` (1-D, one per step) at which the detector signals a change.

    The detector keeps running after an alarm (river resets its own state), so a
    lasting change can be signalled more than once.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    if not np.all(np.isfinite(values)):
        raise ValueError("values holds NaN or infinite numbers; a change detector needs finite values.")
    detector = change_detector(method, **params)
    alarms = []
    for i, value in enumerate(values):
        detector.update(float(value))
        if detector.drift_detected:
            alarms.append(i)
    return alarms
