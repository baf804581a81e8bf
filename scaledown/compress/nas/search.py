"""The two strategies: random search and regularised ("aging") evolution, framework-free."""

from __future__ import annotations

import collections
import time
from typing import Callable, Optional

import numpy as np

from scaledown.compress.nas.constraints import Constraints
from scaledown.compress.nas.results import Evaluation, SearchResult
from scaledown.compress.nas.space import Candidate, SearchSpace, _is_int, _is_number


class _Evaluator:
    """Shared bookkeeping of both searches: constraints, cache, budgets, progress bar."""

    def __init__(
        self, method, space, constraints, fitness, max_candidates, max_seconds, seed, progress, max_rejections, clock
    ):
        if not isinstance(space, SearchSpace):
            raise ValueError(f"space is a {type(space).__name__}; pass a nas.SearchSpace.")
        if constraints is not None and not isinstance(constraints, Constraints):
            raise ValueError(f"constraints is a {type(constraints).__name__}; pass a nas.Constraints or None.")
        if not callable(fitness):
            raise ValueError(
                f"fitness={fitness!r} is not callable; pass a function of a Candidate "
                "that returns an accuracy, such as nas.ProxyFitness()."
            )
        if not _is_int(max_candidates) or max_candidates < 1:
            raise ValueError(f"max_candidates={max_candidates!r} is not valid; use a positive integer.")
        if max_seconds is not None and not (_is_number(max_seconds) and max_seconds > 0):
            raise ValueError(f"max_seconds={max_seconds!r} is not valid; use seconds > 0 or None.")
        if not callable(clock):
            raise ValueError(
                f"clock={clock!r} is not callable; use time.perf_counter (wall time) or time.process_time (CPU time)."
            )
        from tqdm.auto import tqdm

        self.clock = clock
        self.method, self.space, self.constraints, self.fitness = method, space, constraints, fitness
        self.max_candidates, self.max_seconds, self.max_rejections = max_candidates, max_seconds, max_rejections
        self.rng = np.random.default_rng(seed)
        self.start = clock()
        self.evaluated, self.rejected, self.history = [], [], []
        self.seen, self.rejected_keys = {}, set()
        self.stopped_by = "candidates"
        self.bar = tqdm(total=max_candidates, desc=f"{method} search", unit="candidate", disable=not progress)

    def budget_left(self) -> bool:
        if len(self.evaluated) >= self.max_candidates:
            self.stopped_by = "candidates"
            return False
        if self.max_seconds is not None and self.clock() - self.start >= self.max_seconds:
            self.stopped_by = "time"
            return False
        return True

    def feasible(self, candidate) -> bool:
        """Check the constraints (cheap); record a rejection once per architecture."""
        if self.constraints is None:
            return True
        feasibility = self.constraints.check(candidate)
        if not feasibility.ok and candidate.key() not in self.rejected_keys:
            self.rejected_keys.add(candidate.key())
            self.rejected.append(Evaluation(len(self.rejected), candidate, feasibility))
        return feasibility.ok

    def draw(self, propose) -> Optional[Candidate]:
        """Call ``propose()`` until it gives a feasible candidate; ``None`` after too many rejections."""
        for _ in range(self.max_rejections):
            candidate = propose()
            if self.feasible(candidate):
                return candidate
        self.stopped_by = "space"
        return None

    def evaluate(self, candidate) -> float:
        """Fitness of a feasible candidate: trained once per architecture, then served from the cache."""
        key = candidate.key()
        if key in self.seen:
            accuracy = self.seen[key].accuracy
        else:
            started = time.perf_counter()
            accuracy = float(self.fitness(candidate))
            feasibility = self.constraints.check(candidate) if self.constraints is not None else None
            evaluation = Evaluation(
                len(self.evaluated), candidate, feasibility, accuracy, time.perf_counter() - started
            )
            self.evaluated.append(evaluation)
            self.seen[key] = evaluation
            best = max(e.accuracy for e in self.evaluated)
            self.bar.update(1)
            self.bar.set_postfix_str(f"best {best:.1%}")
        self.history.append(accuracy)
        return accuracy

    def result(self) -> SearchResult:
        self.bar.close()
        return SearchResult(
            self.method,
            self.evaluated,
            self.rejected,
            self.history,
            self.constraints,
            self.clock() - self.start,
            self.stopped_by,
        )


def random_search(
    space: SearchSpace,
    constraints: Optional[Constraints],
    fitness: Callable,
    max_candidates: int = 20,
    max_seconds: Optional[float] = None,
    seed: int = 0,
    progress: bool = True,
    max_rejections: int = 200,
    clock: Callable = time.perf_counter,
) -> SearchResult:
    """Random search: draw candidates uniformly, skip those the constraints reject, train the rest.

    A strong baseline for any search strategy (Bergstra & Bengio, 2012; Li & Talwalkar, 2019).

    Parameters
    ----------
    space : SearchSpace
    constraints : Constraints or None
        Checked before training; ``None`` trains every candidate (and records no costs).
    fitness : callable
        ``fitness(candidate) -> float``, higher is better; e.g. ``ProxyFitness()``.
    max_candidates : int
        Stop after training this many distinct candidates.
    max_seconds : float, optional
        Stop starting new candidates after this many seconds (the one in training
        finishes, so the search may overrun by one evaluation).
    seed : int
        Seed of the draws: the same seed gives the same candidates in the same order.
    progress : bool
        Show a tqdm bar over candidates.
    max_rejections : int
        Give up after this many rejected or repeated draws in a row.
    clock : callable
        What ``max_seconds`` and ``SearchResult.seconds`` measure: ``time.perf_counter``
        (wall time) or ``time.process_time`` (CPU time of this process, which a busy
        shared machine does not inflate).

    Returns
    -------
    SearchResult
    """
    run = _Evaluator(
        "random", space, constraints, fitness, max_candidates, max_seconds, seed, progress, max_rejections, clock
    )
    while run.budget_left():
        candidate = run.draw(lambda: _fresh(run, lambda: space.sample(run.rng)))
        if candidate is None:
            break
        run.evaluate(candidate)
    return run.result()


def _fresh(run, propose) -> Candidate:
    """Propose again (a few times) when the proposal was already trained: a repeat teaches nothing new."""
    for _ in range(10):
        candidate = propose()
        if candidate.key() not in run.seen:
            return candidate
    return candidate


def evolutionary_search(
    space: SearchSpace,
    constraints: Optional[Constraints],
    fitness: Callable,
    max_candidates: int = 40,
    max_seconds: Optional[float] = None,
    population_size: int = 10,
    sample_size: int = 3,
    seed: int = 0,
    progress: bool = True,
    max_rejections: int = 200,
    clock: Callable = time.perf_counter,
) -> SearchResult:
    """Regularised ("aging") evolution (Real et al., 2019) under hardware constraints.

    1. Fill a population with ``population_size`` random feasible candidates, each trained.
    2. Repeat: draw ``sample_size`` members at random, take the fittest as parent,
       mutate one knob (:meth:`SearchSpace.mutate`) until the child is feasible, train
       it, append it to the population and remove the **oldest** member.

    Removing the oldest rather than the worst is the "regularisation": a model
    survives only through its descendants, so one lucky proxy score cannot rule
    the population forever. A child that repeats an architecture already trained
    reuses its score at no cost (and does not count against ``max_candidates``).

    Parameters
    ----------
    space, constraints, fitness, max_candidates, max_seconds, seed, progress, max_rejections, clock
        As in :func:`random_search`.
    population_size : int
        Members alive at once.
    sample_size : int
        Tournament size: members compared to pick a parent (2..population_size);
        larger is greedier.

    Returns
    -------
    SearchResult
    """
    if not _is_int(population_size) or population_size < 2:
        raise ValueError(f"population_size={population_size!r} is not valid; use an integer >= 2.")
    if not _is_int(sample_size) or not 1 <= sample_size <= population_size:
        raise ValueError(
            f"sample_size={sample_size!r} is not valid; use an integer from 1 to population_size ({population_size})."
        )
    run = _Evaluator(
        "evolution", space, constraints, fitness, max_candidates, max_seconds, seed, progress, max_rejections, clock
    )
    population = collections.deque()
    while len(population) < population_size and run.budget_left():
        candidate = run.draw(lambda: _fresh(run, lambda: space.sample(run.rng)))
        if candidate is None:
            break
        population.append((candidate, run.evaluate(candidate)))
    steps_without_new = 0
    while population and run.budget_left() and run.stopped_by != "space":
        members = run.rng.choice(len(population), size=min(sample_size, len(population)), replace=False)
        parent = max((population[i] for i in sorted(members)), key=lambda member: member[1])[0]
        child = run.draw(lambda: space.mutate(parent, run.rng))
        if child is None:
            break
        trained_before = len(run.evaluated)
        population.append((child, run.evaluate(child)))
        population.popleft()
        steps_without_new = 0 if len(run.evaluated) > trained_before else steps_without_new + 1
        if steps_without_new >= max_rejections:  # only repeats for a long while: the space is exhausted
            run.stopped_by = "space"
    return run.result()
