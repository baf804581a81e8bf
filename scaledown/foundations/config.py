"""Quick mode: one switch that shrinks epochs and data so the tests stay fast.

Set ``SCALEDOWN_QUICK=1`` (``make test`` does) and every notebook runs the same
cells on less data for fewer epochs. Without it, notebooks train to the
accuracies their text states.
"""

import os
from typing import TypeVar

T = TypeVar("T")

QUICK_ENV_VAR = "SCALEDOWN_QUICK"


def quick_mode() -> bool:
    """True when ``SCALEDOWN_QUICK`` is set to anything but ``""``, ``"0"`` or ``"false"``."""
    return os.environ.get(QUICK_ENV_VAR, "").strip().lower() not in ("", "0", "false", "no")


def pick(full: T, quick: T) -> T:
    """Return ``quick`` in quick mode and ``full`` otherwise, e.g. ``epochs = pick(full=30, quick=2)``."""
    return quick if quick_mode() else full
