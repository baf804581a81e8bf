"""Hardware targets and a profiler: will this model run on that board?

>>> from scaledown.foundations.hardware import profile
>>> print(profile(model, target="nano33ble"))      # doctest: +SKIP
"""

from scaledown.foundations.hardware.graph import Graph, Op, Tensor  # noqa: F401
from scaledown.foundations.hardware.profile import Profile, profile
from scaledown.foundations.hardware.readers import read_graph
from scaledown.foundations.hardware.targets import TARGETS, Target, get_target, list_targets, targets_table

__all__ = ["Target", "TARGETS", "get_target", "list_targets", "targets_table", "profile", "Profile", "read_graph"]
