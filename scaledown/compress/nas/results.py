"""Search results and the Pareto front of accuracy against each cost."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from scaledown.compress.nas.constraints import Constraints, Feasibility
from scaledown.compress.nas.space import Candidate
from scaledown.foundations.hardware.targets import format_bytes


def pareto_front(costs, scores) -> list:
    """Indices of the Pareto-optimal points: no other point costs less *and* scores more.

    Point ``j`` dominates point ``i`` when ``costs[j] <= costs[i]`` and
    ``scores[j] >= scores[i]``, one of them strictly. The front is every point no
    other point dominates (of exact duplicates, the first), sorted by cost.

    Parameters
    ----------
    costs : sequence of float, shape (N,)
        What we want small, e.g. peak RAM in bytes.
    scores : sequence of float, shape (N,)
        What we want large, e.g. accuracy.

    Returns
    -------
    list of int
        Indices into ``costs``, in increasing cost (and increasing score).

    Examples
    --------
    >>> pareto_front([1, 2, 3, 4], [0.5, 0.4, 0.9, 0.9])
    [0, 2]
    """
    costs, scores = list(costs), list(scores)
    if len(costs) != len(scores):
        raise ValueError(f"costs has {len(costs)} values and scores {len(scores)}; give one score per cost.")
    order = sorted(range(len(costs)), key=lambda i: (costs[i], -scores[i], i))
    front, best = [], -math.inf
    for i in order:  # cheapest first: a point is on the front when it beats every cheaper point
        if scores[i] > best:
            front.append(i)
            best = scores[i]
    return front


COSTS = ("peak_ram_bytes", "flash_bytes", "latency_s", "macs", "parameters")


@dataclass
class Evaluation:
    """One candidate seen by a search: its hardware costs and (when trained) its proxy accuracy.

    ``accuracy`` is ``None`` for a candidate the constraints rejected (never trained);
    ``seconds`` is the time its evaluation took (0 for a repeat served from the cache).
    """

    index: int
    candidate: Candidate
    feasibility: Optional[Feasibility]
    accuracy: Optional[float] = None
    seconds: float = 0.0

    def cost(self, name: str) -> float:
        """One hardware cost by name, from :data:`COSTS` (e.g. ``"peak_ram_bytes"``)."""
        if name not in COSTS:
            raise ValueError(f"cost={name!r} is not a cost; use one of {COSTS}.")
        if self.feasibility is None:
            raise ValueError("This search ran without constraints, so its candidates have no hardware costs.")
        return getattr(self.feasibility, name)


@dataclass
class SearchResult:
    """Everything a search saw.

    Attributes
    ----------
    method : str
        ``"random"`` or ``"evolution"``.
    evaluated : list of Evaluation
        Trained candidates, in the order they were evaluated (a repeat of an
        architecture appears once).
    rejected : list of Evaluation
        Candidates the constraints rejected before training, with their reasons.
    history : list of float
        Fitness of every step in order, repeats included (for best-so-far curves).
    constraints : Constraints or None
    seconds : float
        Time the whole search took, by the search's ``clock`` (wall time by default).
    stopped_by : str
        ``"candidates"``, ``"time"`` or ``"space"`` (no new feasible candidate found).
    """

    method: str
    evaluated: list
    rejected: list
    history: list
    constraints: Optional[Constraints]
    seconds: float
    stopped_by: str

    def best(self) -> Evaluation:
        """The evaluated candidate with the highest accuracy (on a tie, the smaller peak RAM, then the first)."""
        if not self.evaluated:
            raise ValueError("The search evaluated no candidate: give it more time or candidates.")
        tie = (lambda e: e.cost("peak_ram_bytes")) if self.constraints is not None else (lambda e: 0)
        return min(self.evaluated, key=lambda e: (-e.accuracy, tie(e), e.index))

    def front(self, cost: str = "peak_ram_bytes") -> list:
        """The Pareto front of accuracy against one cost (see :data:`COSTS`), cheapest first."""
        return [
            self.evaluated[i]
            for i in pareto_front([e.cost(cost) for e in self.evaluated], [e.accuracy for e in self.evaluated])
        ]

    def best_so_far(self) -> list:
        """Best fitness after each step: the curve that compares search strategies."""
        return list(np.maximum.accumulate(self.history)) if self.history else []

    def table(self, rows: Optional[Sequence[Evaluation]] = None, limit: Optional[int] = None) -> str:
        """A text table of ``rows`` (default: evaluated candidates, most accurate first)."""
        rows = list(rows) if rows is not None else sorted(self.evaluated, key=lambda e: (-e.accuracy, e.index))
        rows = rows[:limit] if limit is not None else rows
        dtype = self.constraints.dtype if self.constraints is not None else ""
        header = (
            f"{'#':>4}  {'candidate':<24}{'accuracy':>9}{'RAM ' + dtype:>12}{'flash ' + dtype:>13}"
            f"{'latency':>10}{'MACs':>12}"
        )
        lines = [header, "-" * len(header)]
        for e in rows:
            f = e.feasibility
            costs = (
                (
                    f"{format_bytes(f.peak_ram_bytes):>12}{format_bytes(f.flash_bytes):>13}"
                    f"{f.latency_s * 1000:>8.1f}ms{f.macs:>12,}"
                )
                if f
                else ""
            )
            accuracy = "rejected" if e.accuracy is None else f"{e.accuracy:.1%}"
            lines.append(f"{e.index:>4}  {e.candidate.label:<24}{accuracy:>9}{costs}")
        return "\n".join(lines)

    def summary(self) -> str:
        """One line: what ran, how long, how many candidates, the best one."""
        best = self.best()
        return (
            f"{self.method} search: {len(self.evaluated)} candidates trained, {len(self.rejected)} rejected "
            f"before training, {self.seconds:.0f} s (stopped by {self.stopped_by}); "
            f"best {best.candidate.label} at {best.accuracy:.1%}"
        )
