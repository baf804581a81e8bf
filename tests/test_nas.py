"""scaledown.compress.nas: the search space, constraints checked before training, Pareto fronts, the two searches."""

import dataclasses

import numpy as np
import pytest

from scaledown.compress import nas
from scaledown.foundations import models

SPACE = nas.SearchSpace()
# A small space for the searches with a fake fitness: 2 * 3 * 2 * 2 * 2 * 2 = 96 knob settings.
TOY = nas.SearchSpace(
    widths=(0.5, 1.0, 1.5), depths=(1.0, 2.0), kernel_sizes=(3, 5), expansions=(2, 6), resolutions=(16, 32)
)
OPTIMUM = nas.Candidate("mobilenet_v2", 1.5, 2.0, 5, 6, 16)


def toy_fitness(candidate):
    """Higher the more knobs agree with OPTIMUM, measured by option index (1.0 exactly at OPTIMUM)."""
    distance = sum(
        abs(TOY.options(k).index(getattr(candidate, k)) - TOY.options(k).index(getattr(OPTIMUM, k))) for k in nas.KNOBS
    )
    return 1.0 - distance / 10


def test_sampling_respects_the_space():
    rng = np.random.default_rng(0)
    samples = [SPACE.sample(rng) for _ in range(300)]
    assert all(c in SPACE for c in samples)
    for knob in nas.KNOBS:  # every option of every knob shows up
        assert {getattr(c, knob) for c in samples} == set(SPACE.options(knob))


def test_mutation_changes_exactly_one_active_knob():
    rng = np.random.default_rng(1)
    for _ in range(200):
        parent = SPACE.sample(rng)
        child = SPACE.mutate(parent, rng)
        changed = [k for k in nas.KNOBS if getattr(child, k) != getattr(parent, k)]
        assert len(changed) == 1 and changed[0] in parent.active_knobs() and child in SPACE
        assert child.key() != parent.key()


def test_baseline_candidate_is_chapter_1s_model():
    assert nas.baseline_candidate().spec() == models.baseline_spec()


def test_space_size_counts_v1_once_per_expansion():
    space = nas.SearchSpace(
        widths=(0.5, 1.0), depths=(1.0,), kernel_sizes=(3,), expansions=(2, 4, 6), resolutions=(32,)
    )
    assert space.size() == 2 + 2 * 3


def test_bad_space_is_a_clear_error():
    with pytest.raises(ValueError, match=r"kernel_sizes=\(3, 4\) is not valid; use a non-empty tuple"):
        nas.SearchSpace(kernel_sizes=(3, 4))


def test_constraints_reject_a_too_big_candidate_with_the_reason():
    constraints = nas.Constraints(target="nano33ble")
    wide_and_big = nas.Candidate("mobilenet_v2", 2.0, 1.0, 3, 6, 96)
    verdict = constraints.check(wide_and_big)
    assert not verdict.ok
    assert any(r.startswith("RAM: ") and "over the 256.0 KB of nano33ble" in r for r in verdict.reasons)
    assert verdict.peak_ram_bytes > constraints.ram_limit_bytes


def test_constraints_accept_the_baseline_as_int8():
    verdict = nas.Constraints(target="nano33ble", max_latency_s=0.02).check(nas.baseline_candidate())
    assert verdict.ok and verdict.reasons == ()
    # peak: block 0's depthwise input and output, 16x16x16 int8 each
    assert verdict.flash_bytes < 40 * 1024 and verdict.peak_ram_bytes == 2 * 16 * 16 * 16


def test_latency_budget_rejects_with_the_reason():
    verdict = nas.Constraints(target="nano33ble", max_latency_s=0.001).check(nas.baseline_candidate())
    assert not verdict.ok and verdict.reasons[0].startswith("latency: about 12.5 ms")


def test_pareto_front_on_hand_made_points():
    costs = [10, 20, 20, 30, 40, 5, 40]
    scores = [0.50, 0.70, 0.60, 0.65, 0.90, 0.40, 0.90]
    # 2 is dominated by 1 (same cost, lower score), 3 by 1 (costs more, scores less), 6 repeats 4.
    assert nas.pareto_front(costs, scores) == [5, 0, 1, 4]


def test_pareto_front_needs_one_score_per_cost():
    with pytest.raises(ValueError, match="costs has 2 values and scores 1"):
        nas.pareto_front([1, 2], [0.5])


def test_evolution_finds_the_optimum_of_a_toy_objective():
    result = nas.evolutionary_search(
        TOY, None, toy_fitness, max_candidates=60, population_size=8, sample_size=3, seed=0, progress=False
    )
    assert result.best().candidate.key() == OPTIMUM.key() and result.best().accuracy == 1.0
    assert len(result.evaluated) <= 60 and len({e.candidate.key() for e in result.evaluated}) == len(result.evaluated)


def test_evolution_beats_random_search_on_the_toy_objective():
    seeds = range(5)
    evolution = [
        nas.evolutionary_search(TOY, None, toy_fitness, max_candidates=30, seed=s, progress=False).best().accuracy
        for s in seeds
    ]
    random = [
        nas.random_search(TOY, None, toy_fitness, max_candidates=30, seed=s, progress=False).best().accuracy
        for s in seeds
    ]
    assert np.mean(evolution) > np.mean(random)


def test_same_seed_same_search():
    def run(seed, search):
        result = search(TOY, None, toy_fitness, max_candidates=15, seed=seed, progress=False)
        return [e.candidate for e in result.evaluated], result.history

    for search in (nas.random_search, nas.evolutionary_search):
        assert run(3, search) == run(3, search)
        assert run(3, search) != run(4, search)


def test_time_budget_stops_the_search():
    result = nas.random_search(TOY, None, toy_fitness, max_candidates=50, max_seconds=1e-9, seed=0, progress=False)
    assert result.stopped_by == "time" and result.evaluated == []


def test_search_skips_infeasible_candidates_before_training():
    trained = []

    def fitness(candidate):
        trained.append(candidate)
        return candidate.width

    space = nas.SearchSpace(
        families=("mobilenet_v2",),
        widths=(0.25, 2.0),
        depths=(1.0,),
        kernel_sizes=(3,),
        expansions=(6,),
        resolutions=(16, 96),
    )
    result = nas.random_search(
        space, nas.Constraints(target="nano33ble"), fitness, max_candidates=3, seed=0, progress=False
    )
    assert [c.key() for c in trained] == [e.candidate.key() for e in result.evaluated]
    assert all(e.feasibility.ok for e in result.evaluated)
    assert {e.candidate for e in result.rejected} == {nas.Candidate("mobilenet_v2", 2.0, 1.0, 3, 6, 96)}
    assert result.best().candidate.width == 2.0 and result.front("flash_bytes")[-1] is result.best()


def test_proxy_fitness_trains_and_scores_on_validation():
    fitness = nas.ProxyFitness(epochs=3, train_limit=600, validation_size=100, threads=1)
    x_train, _, x_val, y_val = fitness.data(16)
    assert x_train.shape == (600, 1, 16, 16) and x_val.shape == (100, 1, 16, 16)
    candidate = nas.Candidate("mobilenet_v1", 0.5, 0.5, 3, 6, 16)
    accuracy = fitness(candidate)
    assert accuracy == fitness(candidate)  # seeded: the same score twice
    assert (100 * accuracy).is_integer()  # a count of the 100 validation images
    # Chance is 0.1; this run scores 0.7. Without training, or with BatchNorm statistics that still
    # remember the random network, the model predicts one class and scores about 0.1.
    assert accuracy > 0.5


def test_plot_draws_both_fronts_and_limits():
    import matplotlib

    matplotlib.use("Agg")
    constraints = nas.Constraints(target="nano33ble")
    costs = [nas.Feasibility(True, (), ram, flash, 0.01, 1000, 100) for ram, flash in ((2048, 9000), (4096, 40000))]
    evaluated = [
        nas.Evaluation(i, nas.baseline_candidate(), f, accuracy)
        for i, (f, accuracy) in enumerate(zip(costs, (0.8, 0.9)))
    ]
    result = nas.SearchResult("random", evaluated, [], [0.8, 0.9], constraints, 1.0, "candidates")
    fig = nas.plot_search(result, baseline=(costs[0], 0.85))
    assert len(fig.axes) == 2
    assert [line.get_xdata()[0] for ax in fig.axes for line in ax.lines if line.get_linestyle() == "--"] == [
        constraints.ram_limit_bytes / 1024,
        constraints.flash_limit_bytes / 1024,
    ]


def test_candidate_label():
    assert nas.Candidate("mobilenet_v2", 1.5, 2.0, 5, 4, 24).label == "v2 w1.5 d2 k5 t4 @24"
    assert dataclasses.replace(nas.baseline_candidate(), expansion=2).key() == nas.baseline_candidate().key()
