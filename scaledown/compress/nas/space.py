"""The search space: MobileNet-style networks described by six knobs; sampling and mutating them."""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from scaledown.foundations.models.spec import ArchitectureSpec, mobilenet_v1_spec, mobilenet_v2_spec

FAMILIES = ("mobilenet_v1", "mobilenet_v2")

KNOBS = ("family", "width", "depth", "kernel_size", "expansion", "resolution")

_SHORT_FAMILY = {"mobilenet_v1": "v1", "mobilenet_v2": "v2"}


@dataclass(frozen=True)
class Candidate:
    """One architecture of the search space: a value for each knob.

    ``expansion`` only matters for ``family="mobilenet_v2"``; MobileNet v1's
    separable blocks have no expansion, so two v1 candidates that differ only in
    it are the same network (they share a :meth:`key`).
    """

    family: str = "mobilenet_v1"
    width: float = 0.5
    depth: float = 1.0
    kernel_size: int = 3
    expansion: int = 6
    resolution: int = 32

    def active_knobs(self) -> tuple:
        """The knobs that change this candidate's network (all but ``expansion`` for v1)."""
        return KNOBS if self.family == "mobilenet_v2" else tuple(k for k in KNOBS if k != "expansion")

    def key(self) -> tuple:
        """A hashable identity of the network: equal keys, equal architectures."""
        return tuple(getattr(self, k) if k in self.active_knobs() else None for k in KNOBS)

    def spec(self, num_classes: int = 10, channels: int = 1) -> ArchitectureSpec:
        """The :class:`~scaledown.foundations.models.ArchitectureSpec` for ``resolution`` x ``resolution`` x ``channels`` inputs."""
        shape = (self.resolution, self.resolution, channels)
        if self.family == "mobilenet_v1":
            return mobilenet_v1_spec(shape, num_classes, self.width, self.depth, self.kernel_size)
        return mobilenet_v2_spec(shape, num_classes, self.width, self.depth, self.expansion, self.kernel_size)

    @property
    def label(self) -> str:
        """Short name for tables and plots, e.g. ``'v2 w1.0 d1.5 k5 t4 @24'``."""
        text = f"{_SHORT_FAMILY[self.family]} w{self.width:g} d{self.depth:g} k{self.kernel_size}"
        if self.family == "mobilenet_v2":
            text += f" t{self.expansion}"
        return f"{text} @{self.resolution}"

    def __str__(self) -> str:
        return self.label


def baseline_candidate() -> Candidate:
    """Chapter 1's hand-designed baseline as a candidate: MobileNet v1, width 1.0, depth 1, k3, 32x32.

    ``baseline_candidate().spec()`` equals ``scaledown.foundations.models.baseline_spec()``.
    """
    return Candidate("mobilenet_v1", 1.0, 1.0, 3, 6, 32)


@dataclass(frozen=True)
class SearchSpace:
    """The options of each knob; a :class:`Candidate` takes one option per knob.

    Parameters
    ----------
    families : tuple of str
        Block families, from ``("mobilenet_v1", "mobilenet_v2")``.
    widths : tuple of float
        Width multipliers (channels x width, rounded to multiples of 8).
    depths : tuple of float
        Depth multipliers (blocks per stage x depth, rounded up).
    kernel_sizes : tuple of int
        Odd depthwise kernel sizes.
    expansions : tuple of int
        Expansion factors ``t`` of MobileNet v2's inverted residuals.
    resolutions : tuple of int
        Input sides in pixels: ``digits`` is resized to ``resolution`` x ``resolution``.
    """

    families: tuple = FAMILIES
    widths: tuple = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
    depths: tuple = (0.5, 1.0, 1.5, 2.0)
    kernel_sizes: tuple = (3, 5)
    expansions: tuple = (2, 4, 6)
    resolutions: tuple = (16, 24, 32)

    def __post_init__(self):
        checks = {
            "families": lambda v: v in FAMILIES,
            "widths": lambda v: _is_number(v) and v > 0,
            "depths": lambda v: _is_number(v) and v > 0,
            "kernel_sizes": lambda v: _is_int(v) and v > 0 and v % 2 == 1,
            "expansions": lambda v: _is_int(v) and v > 0,
            "resolutions": lambda v: _is_int(v) and v >= 8,
        }
        accepted = {
            "families": f"names from {FAMILIES}",
            "widths": "numbers > 0",
            "depths": "numbers > 0",
            "kernel_sizes": "odd positive integers",
            "expansions": "positive integers",
            "resolutions": "integers >= 8",
        }
        for name, valid in checks.items():
            options = getattr(self, name)
            if (
                isinstance(options, (str, bytes))
                or not isinstance(options, Sequence)
                or not options
                or not all(valid(v) for v in options)
                or len(set(options)) != len(options)
            ):
                raise ValueError(
                    f"{name}={options!r} is not valid; use a non-empty tuple of distinct {accepted[name]}."
                )
            object.__setattr__(self, name, tuple(options))

    def options(self, knob: str) -> tuple:
        """The options of one knob, e.g. ``space.options("width")``."""
        if knob not in KNOBS:
            raise ValueError(f"knob={knob!r} is not a knob; use one of {KNOBS}.")
        return getattr(self, "families" if knob == "family" else knob + "s")

    def __contains__(self, candidate) -> bool:
        return isinstance(candidate, Candidate) and all(getattr(candidate, k) in self.options(k) for k in KNOBS)

    def size(self) -> int:
        """Number of distinct networks in the space (v1 networks have no expansion)."""
        others = math.prod(len(self.options(k)) for k in KNOBS if k not in ("family", "expansion"))
        return sum(others * (len(self.expansions) if f == "mobilenet_v2" else 1) for f in self.families)

    def sample(self, rng: np.random.Generator) -> Candidate:
        """A candidate with every knob drawn uniformly from its options."""
        return Candidate(**{k: _choice(rng, self.options(k)) for k in KNOBS})

    def mutate(self, candidate: Candidate, rng: np.random.Generator) -> Candidate:
        """A copy of ``candidate`` with exactly one of its active knobs set to another option.

        The knob is drawn uniformly among those that have another option (for a v1
        candidate, ``expansion`` is not among them: changing it would not change
        the network).
        """
        if candidate not in self:
            raise ValueError(f"candidate={candidate!r} is not in this search space.")
        knobs = [k for k in candidate.active_knobs() if len(self.options(k)) > 1]
        if not knobs:
            raise ValueError("This search space has one network only: give some knob two options to mutate.")
        knob = _choice(rng, knobs)
        value = _choice(rng, [v for v in self.options(knob) if v != getattr(candidate, knob)])
        return dataclasses.replace(candidate, **{knob: value})


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _choice(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]
