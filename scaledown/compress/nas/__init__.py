"""Hardware-aware architecture search: find a small network that fits the board and is accurate.

Four pieces, each short enough to read beside chapter 5:

1. **A search space** (:class:`SearchSpace`): MobileNet-style networks from
   ``scaledown.foundations.models`` described by six knobs — block ``family`` (MobileNet v1
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

>>> from scaledown.compress import nas
>>> space, constraints = nas.SearchSpace(), nas.Constraints(target="nano33ble")
>>> result = nas.evolutionary_search(space, constraints, nas.ProxyFitness(),
...                                  max_candidates=40, max_seconds=600, seed=0)  # doctest: +SKIP
>>> nas.plot_search(result)                                                      # doctest: +SKIP

Modules: ``space``, ``constraints``, ``proxy`` (PyTorch training: the framework edge),
``results`` (Pareto fronts), ``search`` (the two strategies), ``plot``.
"""

from scaledown.compress.nas.constraints import Constraints, Feasibility  # noqa: F401
from scaledown.compress.nas.plot import plot_search  # noqa: F401
from scaledown.compress.nas.proxy import ProxyFitness, recalibrate_batchnorm, train_and_test  # noqa: F401
from scaledown.compress.nas.results import COSTS, Evaluation, SearchResult, pareto_front  # noqa: F401
from scaledown.compress.nas.search import evolutionary_search, random_search  # noqa: F401
from scaledown.compress.nas.space import FAMILIES, KNOBS, Candidate, SearchSpace, baseline_candidate  # noqa: F401
