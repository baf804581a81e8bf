"""Hardware targets and a profiler: will this model run on that board?

>>> from scaledown.hardware import profile
>>> print(profile(model, target="nano33ble"))      # doctest: +SKIP
"""
from scaledown.hardware.graph import Graph, Op, Tensor  # noqa: F401
from scaledown.hardware.profile import Profile, profile
from scaledown.hardware.readers import read_graph
from scaledown.hardware.targets import TARGETS, Target, get_target, list_targets, targets_table

__all__ = ["Target", "TARGETS", "get_target", "list_targets", "targets_table",
           "profile", "Profile", "read_graph"]
