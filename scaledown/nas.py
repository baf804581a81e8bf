"""Hardware-aware architecture search: find a small network that fits the board and is accurate.

Four pieces, each short enough to read beside chapter 5:

1. **A search space** (:class:`SearchSpace`): MobileNet-style networks from
   ``scaledown.models`` described by six knobs — block ``family`` (MobileNet v1
   separable blocks or v2 inverted residuals), ``width`` and ``depth``
   multipliers, depthwise ``kernel_size``, v2 ``expansion`` and input
   ``resolution``. A :class:`Candidate` is one setting of the knobs;
   ``space.sample(rng)`` draws one, ``space.mutate(candidate, rng)`` changes one knob.
2. **Constraints checked before training** (:class:`Constraints`): the candidate is
   built (untrained) and ``scaledown.profile`` judges it for the target *as int8*,
   because it will be quantized before it ships: int8 peak activations plus the
   target's reserved RAM must fit its SRAM, int8 weights plus reserved flash its
   flash, and the estimated latency an optional budget. Checking costs a fraction
   of a second; training costs seconds to minutes — so no time is spent training
   a model that could never ship.
3. **A cheap accuracy proxy** (:class:`ProxyFitness`): a few epochs of PyTorch
   training on a subset of ``digits``, scored on a validation split carved out of
   the training set (the test set is kept for the final comparison).
4. **Two search strategies**: :func:`random_search` and :func:`evolutionary_search`
   (regularised, or "aging", evolution of Real et al., 2019). Both return a
   :class:`SearchResult` with every evaluated candidate, the rejected ones with
   their reasons, and the Pareto fronts of accuracy against peak memory and flash
   (:func:`pareto_front`, :func:`plot_search`).

>>> from scaledown import nas
>>> space, constraints = nas.SearchSpace(), nas.Constraints(target="nano33ble")
>>> result = nas.evolutionary_search(space, constraints, nas.ProxyFitness(),
...                                  max_candidates=40, max_seconds=600, seed=0)  # doctest: +SKIP
>>> nas.plot_search(result)                                                      # doctest: +SKIP
"""
from __future__ import annotations

import collections
import contextlib
import dataclasses
import math
import numbers
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

from scaledown.hardware.targets import format_bytes, get_target
from scaledown.models.spec import ArchitectureSpec, mobilenet_v1_spec, mobilenet_v2_spec

FAMILIES = ("mobilenet_v1", "mobilenet_v2")
KNOBS = ("family", "width", "depth", "kernel_size", "expansion", "resolution")
_SHORT_FAMILY = {"mobilenet_v1": "v1", "mobilenet_v2": "v2"}


# --- the search space -------------------------------------------------------------------------

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
        """The :class:`~scaledown.models.ArchitectureSpec` for ``resolution`` x ``resolution`` x ``channels`` inputs."""
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

    ``baseline_candidate().spec()`` equals ``scaledown.models.baseline_spec()``.
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
        accepted = {"families": f"names from {FAMILIES}", "widths": "numbers > 0", "depths": "numbers > 0",
                    "kernel_sizes": "odd positive integers", "expansions": "positive integers",
                    "resolutions": "integers >= 8"}
        for name, valid in checks.items():
            options = getattr(self, name)
            if isinstance(options, (str, bytes)) or not isinstance(options, Sequence) or not options \
                    or not all(valid(v) for v in options) or len(set(options)) != len(options):
                raise ValueError(f"{name}={options!r} is not valid; use a non-empty tuple of distinct "
                                 f"{accepted[name]}.")
            object.__setattr__(self, name, tuple(options))

    def options(self, knob: str) -> tuple:
        """The options of one knob, e.g. ``space.options("width")``."""
        if knob not in KNOBS:
            raise ValueError(f"knob={knob!r} is not a knob; use one of {KNOBS}.")
        return getattr(self, "families" if knob == "family" else knob + "s")

    def __contains__(self, candidate) -> bool:
        return isinstance(candidate, Candidate) and all(
            getattr(candidate, k) in self.options(k) for k in KNOBS)

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


# --- constraints, checked before any training -----------------------------------------------

@dataclass(frozen=True)
class Feasibility:
    """What :meth:`Constraints.check` found for one candidate.

    Sizes are judged for the constraints' ``dtype`` (int8 by default): ``peak_ram_bytes``
    is the peak of the activations alive at once (the tensor arena's lower bound),
    ``flash_bytes`` the weights (int8 weights, int32 biases), both without the
    target's reserved memory. ``reasons`` says, one sentence per broken limit, why
    the candidate is rejected; it is empty when ``ok``.
    """

    ok: bool
    reasons: tuple
    peak_ram_bytes: int
    flash_bytes: int
    latency_s: float
    macs: int
    parameters: int


@dataclass(frozen=True)
class Constraints:
    """The limits a candidate must meet to be worth training.

    Parameters
    ----------
    target : str or Target, default "nano33ble"
        Board from :func:`scaledown.list_targets`: its SRAM and flash, less the
        memory it reserves for everything but the model.
    dtype : {"int8", "float32"}, default "int8"
        Precision the model will ship in. The search assumes int8: the model found
        is quantized (chapter 2) before deployment, so its weights take 1 byte and
        its activations 1 byte each.
    max_latency_s : float, optional
        Budget for the profiler's estimated latency per inference; ``None`` for none.
    num_classes, channels : int
        Output classes and input channels of the networks built from candidates.
    """

    target: object = "nano33ble"
    dtype: str = "int8"
    max_latency_s: Optional[float] = None
    num_classes: int = 10
    channels: int = 1
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "target", get_target(self.target))
        if self.dtype not in ("int8", "float32"):
            raise ValueError(f"dtype={self.dtype!r} is not valid; use 'int8' or 'float32'.")
        if self.max_latency_s is not None and not (_is_number(self.max_latency_s) and self.max_latency_s > 0):
            raise ValueError(f"max_latency_s={self.max_latency_s!r} is not valid; use seconds > 0 or None.")

    @property
    def ram_limit_bytes(self) -> int:
        """SRAM left for the tensor arena: the target's RAM less its reserved RAM."""
        return self.target.ram_bytes - self.target.reserved_ram_bytes

    @property
    def flash_limit_bytes(self) -> int:
        """Flash left for the weights: the target's flash less its reserved flash."""
        return self.target.flash_bytes - self.target.reserved_flash_bytes

    def check(self, candidate) -> Feasibility:
        """Profile ``candidate`` (a :class:`Candidate` or an ``ArchitectureSpec``) untrained and judge it.

        The network is built in PyTorch with random weights — the profile depends
        on the architecture only — and read by :func:`scaledown.profile` with
        ``dtype=self.dtype``. Results are cached by architecture.
        """
        if isinstance(candidate, Candidate):
            key, spec = candidate.key(), candidate.spec(self.num_classes, self.channels)
        elif isinstance(candidate, ArchitectureSpec):
            key, spec = candidate, candidate
        else:
            raise ValueError(f"candidate is a {type(candidate).__name__}; pass a nas.Candidate or a "
                             "models.ArchitectureSpec.")
        if key not in self._cache:
            self._cache[key] = self._judge(spec)
        return self._cache[key]

    def _judge(self, spec: ArchitectureSpec) -> Feasibility:
        from scaledown.hardware import profile
        from scaledown.models import build

        height, width, channels = spec.input_shape
        report = profile(build(spec, "torch"), target=self.target,
                                   input_shape=(1, channels, height, width), dtype=self.dtype)
        int8 = self.dtype == "int8"
        ram = report.int8_peak_activation_bytes if int8 else report.peak_activation_bytes
        flash = report.int8_flash_bytes if int8 else report.flash_bytes
        t, reasons = self.target, []
        if report.unsupported_ops:
            reasons.append(f"ops: {', '.join(report.unsupported_ops)} not supported on {t.id}")
        if ram > self.ram_limit_bytes:
            reasons.append(f"RAM: {format_bytes(ram)} of {self.dtype} activations + "
                           f"{format_bytes(t.reserved_ram_bytes)}"
                           f" reserved is {format_bytes(ram - self.ram_limit_bytes)} over the "
                           f"{format_bytes(t.ram_bytes)} of {t.id}")
        if flash > self.flash_limit_bytes:
            reasons.append(f"flash: {format_bytes(flash)} of {self.dtype} weights + "
                           f"{format_bytes(t.reserved_flash_bytes)} reserved is "
                           f"{format_bytes(flash - self.flash_limit_bytes)} over the {format_bytes(t.flash_bytes)}"
                           f" of {t.id}")
        latency = report.estimated_latency_s
        if self.max_latency_s is not None and latency > self.max_latency_s:
            reasons.append(f"latency: about {latency * 1000:.1f} ms per inference on {t.id}, over the "
                           f"{self.max_latency_s * 1000:g} ms budget")
        return Feasibility(ok=not reasons, reasons=tuple(reasons), peak_ram_bytes=int(ram), flash_bytes=int(flash),
                           latency_s=float(latency), macs=int(report.macs), parameters=int(report.parameters))


# --- the accuracy proxy -----------------------------------------------------------------------

@contextlib.contextmanager
def _torch_threads(threads):
    """Run the body with ``torch.set_num_threads(threads)``, restoring the old setting after."""
    import torch

    if threads is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _train(model, x, y, epochs, batch_size, learning_rate, seed):
    """``training.train_torch``, then BatchNorm statistics recomputed on ``x`` (see ``recalibrate_batchnorm``)."""
    from scaledown import training

    with warnings.catch_warnings():  # train_torch reads float(loss) of a tensor that requires grad
        warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad")
        history = training.train_torch(model, x, y, epochs=epochs, batch_size=batch_size,
                                       learning_rate=learning_rate, seed=seed, progress=False)
    recalibrate_batchnorm(model, x)
    return history


def recalibrate_batchnorm(model, x, batch_size: int = 256):
    """Recompute every BatchNorm's running mean and variance as exact averages over ``x`` (N, C, H, W).

    The running statistics are a slow moving average: the course's PyTorch models use
    ``momentum=0.01`` (PyTorch weighs the *new* batch by the momentum, so this is the
    same average as Keras's default ``momentum=0.99``; PyTorch's own default is 0.1).
    After a few epochs they still remember the random initial network,
    and the model in ``eval()`` mode predicts one class for every input. One
    pass over the training images in train mode, with a cumulative average
    (``momentum=None``), fixes that without changing a weight. Once-for-all and
    other weight-sharing searches do the same before scoring a sub-network.
    """
    import torch

    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            model(torch.as_tensor(x[i:i + batch_size]))
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    model.eval()


class ProxyFitness:
    """A cheap estimate of a candidate's accuracy: a short training run on part of ``digits``.

    The ``digits`` training split (the test split is never touched) is split again
    into a validation set of ``validation_size`` images and a training pool, of
    which ``train_limit`` images train the candidate for ``epochs`` epochs with
    ``training.train_torch`` (Adam, cosine schedule). The score is the accuracy on
    the validation set, at the candidate's resolution. Calling the object with a
    :class:`Candidate` returns that score, a float in [0, 1].

    Parameters
    ----------
    epochs : int
        Training epochs per candidate (few: the proxy ranks, it does not converge).
    train_limit : int or None
        Training images per candidate (``None``: the whole pool).
    validation_size : int
        Images held out from the training split to score candidates.
    batch_size : int
    learning_rate : float
    seed : int
        Seed of the splits and of every candidate's initialisation and shuffling.
    threads : int or None
        ``torch.set_num_threads`` while training (restored after); tiny models often
        train fastest on one thread. ``None`` leaves PyTorch's setting alone.
    """

    def __init__(self, epochs=3, train_limit=600, validation_size=300, batch_size=32, learning_rate=3e-3,
                 seed=0, threads=None):
        for name, value in (("epochs", epochs), ("validation_size", validation_size), ("batch_size", batch_size)):
            if not _is_int(value) or value < 1:
                raise ValueError(f"{name}={value!r} is not valid; use a positive integer.")
        if train_limit is not None and (not _is_int(train_limit) or train_limit < 10):
            raise ValueError(f"train_limit={train_limit!r} is not valid; use an integer >= 10 or None.")
        self.epochs, self.train_limit, self.validation_size = epochs, train_limit, validation_size
        self.batch_size, self.learning_rate, self.seed, self.threads = batch_size, learning_rate, seed, threads
        self._data = {}

    def data(self, resolution: int) -> tuple:
        """``(x_train, y_train, x_val, y_val)`` at ``resolution``, NCHW float32 and int64 labels."""
        if resolution not in self._data:
            from sklearn.model_selection import train_test_split

            from scaledown.datasets import load_digits

            split = load_digits(size=resolution, layout="NCHW", seed=0)
            x_pool, x_val, y_pool, y_val = train_test_split(
                split.x_train, split.y_train, test_size=self.validation_size, stratify=split.y_train,
                random_state=self.seed)
            if self.train_limit is not None and self.train_limit < len(x_pool):
                x_pool, _, y_pool, _ = train_test_split(x_pool, y_pool, train_size=self.train_limit,
                                                        stratify=y_pool, random_state=self.seed)
            self._data[resolution] = (x_pool, y_pool, x_val, y_val)
        return self._data[resolution]

    def __call__(self, candidate: Candidate) -> float:
        from scaledown import training
        from scaledown.models import build

        x, y, x_val, y_val = self.data(candidate.resolution)
        with _torch_threads(self.threads):
            import torch

            torch.manual_seed(self.seed)
            model = build(candidate.spec(num_classes=10, channels=x.shape[1]), "torch")
            _train(model, x, y, self.epochs, self.batch_size, self.learning_rate, self.seed)
            return training.accuracy(training.predict_torch(model, x_val), y_val)

    def __repr__(self) -> str:
        return (f"ProxyFitness(epochs={self.epochs}, train_limit={self.train_limit}, "
                f"validation_size={self.validation_size}, seed={self.seed})")


def train_and_test(candidate: Candidate, epochs: int = 30, seed: int = 0, threads=None, limit=None):
    """The final recipe: train ``candidate`` on the whole ``digits`` training split, score it on the test split.

    The same recipe as chapter 1 (``training.train_torch``: Adam 3e-3, cosine,
    batch 32) so that a found model and the baseline compare fairly.

    Parameters
    ----------
    candidate : Candidate
    epochs : int
    seed : int
        Seed of the initialisation and the shuffling.
    threads : int or None
        ``torch.set_num_threads`` while training, as in :class:`ProxyFitness`.
    limit : int or None
        Train on at most this many images (quick mode).

    Returns
    -------
    (torch.nn.Module, float)
        The trained model and its test accuracy.
    """
    from scaledown import training
    from scaledown.datasets import load_digits
    from scaledown.models import build

    if not isinstance(candidate, Candidate):
        raise ValueError(f"candidate is a {type(candidate).__name__}; pass a nas.Candidate.")
    split = load_digits(size=candidate.resolution, layout="NCHW", seed=0, limit=limit)
    with _torch_threads(threads):
        import torch

        torch.manual_seed(seed)
        model = build(candidate.spec(num_classes=10, channels=1), "torch")
        _train(model, split.x_train, split.y_train, epochs, 32, 3e-3, seed)
        return model, training.accuracy(training.predict_torch(model, split.x_test), split.y_test)


# --- search results and the Pareto front ------------------------------------------------------

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
        return [self.evaluated[i] for i in pareto_front([e.cost(cost) for e in self.evaluated],
                                                         [e.accuracy for e in self.evaluated])]

    def best_so_far(self) -> list:
        """Best fitness after each step: the curve that compares search strategies."""
        return list(np.maximum.accumulate(self.history)) if self.history else []

    def table(self, rows: Optional[Sequence[Evaluation]] = None, limit: Optional[int] = None) -> str:
        """A text table of ``rows`` (default: evaluated candidates, most accurate first)."""
        rows = list(rows) if rows is not None else sorted(self.evaluated, key=lambda e: (-e.accuracy, e.index))
        rows = rows[:limit] if limit is not None else rows
        dtype = self.constraints.dtype if self.constraints is not None else ""
        header = f"{'#':>4}  {'candidate':<24}{'accuracy':>9}{'RAM ' + dtype:>12}{'flash ' + dtype:>13}" \
                 f"{'latency':>10}{'MACs':>12}"
        lines = [header, "-" * len(header)]
        for e in rows:
            f = e.feasibility
            costs = (f"{format_bytes(f.peak_ram_bytes):>12}{format_bytes(f.flash_bytes):>13}"
                     f"{f.latency_s * 1000:>8.1f}ms{f.macs:>12,}") if f else ""
            accuracy = "rejected" if e.accuracy is None else f"{e.accuracy:.1%}"
            lines.append(f"{e.index:>4}  {e.candidate.label:<24}{accuracy:>9}{costs}")
        return "\n".join(lines)

    def summary(self) -> str:
        """One line: what ran, how long, how many candidates, the best one."""
        best = self.best()
        return (f"{self.method} search: {len(self.evaluated)} candidates trained, {len(self.rejected)} rejected "
                f"before training, {self.seconds:.0f} s (stopped by {self.stopped_by}); "
                f"best {best.candidate.label} at {best.accuracy:.1%}")


# --- the two strategies -----------------------------------------------------------------------

class _Evaluator:
    """Shared bookkeeping of both searches: constraints, cache, budgets, progress bar."""

    def __init__(self, method, space, constraints, fitness, max_candidates, max_seconds, seed, progress,
                 max_rejections, clock):
        if not isinstance(space, SearchSpace):
            raise ValueError(f"space is a {type(space).__name__}; pass a nas.SearchSpace.")
        if constraints is not None and not isinstance(constraints, Constraints):
            raise ValueError(f"constraints is a {type(constraints).__name__}; pass a nas.Constraints or None.")
        if not callable(fitness):
            raise ValueError(f"fitness={fitness!r} is not callable; pass a function of a Candidate "
                             "that returns an accuracy, such as nas.ProxyFitness().")
        if not _is_int(max_candidates) or max_candidates < 1:
            raise ValueError(f"max_candidates={max_candidates!r} is not valid; use a positive integer.")
        if max_seconds is not None and not (_is_number(max_seconds) and max_seconds > 0):
            raise ValueError(f"max_seconds={max_seconds!r} is not valid; use seconds > 0 or None.")
        if not callable(clock):
            raise ValueError(f"clock={clock!r} is not callable; use time.perf_counter (wall time) or "
                             "time.process_time (CPU time).")
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
            evaluation = Evaluation(len(self.evaluated), candidate, feasibility, accuracy,
                                    time.perf_counter() - started)
            self.evaluated.append(evaluation)
            self.seen[key] = evaluation
            best = max(e.accuracy for e in self.evaluated)
            self.bar.update(1)
            self.bar.set_postfix_str(f"best {best:.1%}")
        self.history.append(accuracy)
        return accuracy

    def result(self) -> SearchResult:
        self.bar.close()
        return SearchResult(self.method, self.evaluated, self.rejected, self.history, self.constraints,
                            self.clock() - self.start, self.stopped_by)


def random_search(space: SearchSpace, constraints: Optional[Constraints], fitness: Callable,
                  max_candidates: int = 20, max_seconds: Optional[float] = None, seed: int = 0,
                  progress: bool = True, max_rejections: int = 200,
                  clock: Callable = time.perf_counter) -> SearchResult:
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
    run = _Evaluator("random", space, constraints, fitness, max_candidates, max_seconds, seed, progress,
                     max_rejections, clock)
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


def evolutionary_search(space: SearchSpace, constraints: Optional[Constraints], fitness: Callable,
                        max_candidates: int = 40, max_seconds: Optional[float] = None, population_size: int = 10,
                        sample_size: int = 3, seed: int = 0, progress: bool = True,
                        max_rejections: int = 200, clock: Callable = time.perf_counter) -> SearchResult:
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
        raise ValueError(f"sample_size={sample_size!r} is not valid; use an integer from 1 to population_size "
                         f"({population_size}).")
    run = _Evaluator("evolution", space, constraints, fitness, max_candidates, max_seconds, seed, progress,
                     max_rejections, clock)
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


# --- the plot ---------------------------------------------------------------------------------

def plot_search(*results: SearchResult, baseline: Optional[tuple] = None, axes=None):
    """Accuracy against peak RAM and against flash, Pareto fronts highlighted, limits drawn.

    Parameters
    ----------
    *results : SearchResult
        One or more searches with the same constraints (e.g. random and evolution);
        each gets its own colour.
    baseline : (Evaluation or Feasibility, float), optional
        A reference model to mark with a star: its costs and its accuracy.
    axes : two matplotlib Axes, optional
        Where to draw; by default a new figure with two panels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    if not results or not all(isinstance(r, SearchResult) for r in results):
        raise ValueError("Pass one or more SearchResult objects, e.g. plot_search(random_result, evolution_result).")
    constraints = results[0].constraints
    if constraints is None:
        raise ValueError("This search ran without constraints, so there are no hardware costs to plot.")
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), sharey=True)
    else:
        fig = axes[0].figure
    panels = (("peak_ram_bytes", "peak RAM (activations)", constraints.ram_limit_bytes),
              ("flash_bytes", "flash (weights)", constraints.flash_limit_bytes))
    for ax, (cost, title, limit) in zip(axes, panels):
        for colour, result in enumerate(results):
            xs = [e.cost(cost) / 1024 for e in result.evaluated]
            ys = [e.accuracy * 100 for e in result.evaluated]
            ax.scatter(xs, ys, s=18, alpha=0.45, color=f"C{colour}", label=f"{result.method} ({len(xs)})")
            front = result.front(cost)
            ax.step([e.cost(cost) / 1024 for e in front], [e.accuracy * 100 for e in front], where="post",
                    color=f"C{colour}", lw=1.5)
            ax.scatter([e.cost(cost) / 1024 for e in front], [e.accuracy * 100 for e in front], s=40,
                       color=f"C{colour}", edgecolor="black", zorder=3)
            rejected = [e.cost(cost) / 1024 for e in result.rejected]
            if rejected:
                ax.plot(rejected, [0.02] * len(rejected), "|", color=f"C{colour}", ms=12, mew=1.5,
                        transform=ax.get_xaxis_transform(), label=f"{result.method}: rejected ({len(rejected)})")
        if baseline is not None:
            costs, accuracy = baseline
            costs = costs.feasibility if isinstance(costs, Evaluation) else costs
            ax.scatter([getattr(costs, cost) / 1024], [accuracy * 100], marker="*", s=220, color="gold",
                       edgecolor="black", zorder=4, label="baseline")
        ax.axvline(limit / 1024, color="C3", ls="--", lw=1.2,
                   label=f"{constraints.target.id} limit ({format_bytes(limit)})")
        ax.set_xscale("log")
        ax.set(xlabel=f"{title}, KB ({constraints.dtype}, log scale)", title=f"accuracy vs {title}")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("proxy accuracy (%)")
    axes[0].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig
