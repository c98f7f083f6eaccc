"""Parent selectors (empirical frequencies vs. their stated weights) and the cost Pareto front."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from evolve.errors import UsageError
from evolve.strategies.pareto import pareto_front
from evolve.strategies.selectors import (
    ArgmaxSelector,
    LineageSelector,
    NoveltySelector,
    ParentSelector,
    ParetoSelector,
    PoolEntry,
    SoftmaxSelector,
    make_selector,
)

DRAWS = 20000


def _frequencies(selector: ParentSelector, pool: list[PoolEntry], seed: int = 0) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    counts = Counter(selector.select(pool, rng).program_id for _ in range(DRAWS))
    return {entry.program_id: counts[entry.program_id] / DRAWS for entry in pool}


def _assert_close(freq: dict[str, float], expected: dict[str, float], tol: float = 0.015) -> None:
    for key, p in expected.items():
        assert abs(freq[key] - p) < tol, (key, freq[key], p)


POOL = [PoolEntry("a", 0.40, iteration=0), PoolEntry("b", 0.55, iteration=0, children=3),
        PoolEntry("c", 0.50, iteration=2), PoolEntry("d", 0.10, iteration=3)]


def test_softmax_frequencies_match_weights():
    tau = 0.15
    weights = {e.program_id: np.exp(e.score / tau) for e in POOL}
    total = sum(weights.values())
    _assert_close(_frequencies(SoftmaxSelector(tau), POOL),
                  {k: w / total for k, w in weights.items()})


def test_softmax_is_stable_for_tiny_temperature_and_large_scores():
    pool = [PoolEntry("a", 1000.0), PoolEntry("b", 999.0)]
    probs = SoftmaxSelector(1e-4).probabilities(pool)
    assert np.all(np.isfinite(probs)) and probs[0] == pytest.approx(1.0)
    assert SoftmaxSelector(1e-4).select(pool, np.random.default_rng(0)).program_id == "a"
    flat = SoftmaxSelector(1e6).probabilities(POOL)
    assert np.allclose(flat, 0.25, atol=1e-6)


def test_argmax_best_and_ties_to_oldest():
    rng = np.random.default_rng(0)
    assert ArgmaxSelector().select(POOL, rng).program_id == "b"
    tied = [PoolEntry("new", 0.7, iteration=5), PoolEntry("old", 0.7 - 1e-12, iteration=1),
            PoolEntry("low", 0.2, iteration=0)]
    assert {ArgmaxSelector().select(tied, rng).program_id for _ in range(50)} == {"old"}


def test_lineage_follows_the_newest_program_not_the_best():
    selector = LineageSelector()
    # "b" scores best but "d" is newest: the single lineage keeps extending the chain
    assert selector.select(POOL, np.random.default_rng(0)).program_id == "d"
    # seeds only (all iteration 0): the best seed starts the chain, ties to the earliest
    seeds = [PoolEntry("s1", 0.3), PoolEntry("s2", 0.6), PoolEntry("s3", 0.6)]
    assert selector.select(seeds, np.random.default_rng(0)).program_id == "s2"
    # siblings of one batch: the best of the newest iteration
    batch = [*POOL, PoolEntry("e", 0.2, iteration=4), PoolEntry("f", 0.35, iteration=4)]
    assert list(selector.probabilities(batch)) == [0, 0, 0, 0, 0, 1.0]
    assert make_selector("lineage").name == "lineage"


def test_novelty_frequencies_match_score_over_children():
    weights = {e.program_id: e.score / (1 + e.children) for e in POOL}
    total = sum(weights.values())
    freq = _frequencies(NoveltySelector(), POOL, seed=1)
    _assert_close(freq, {k: w / total for k, w in weights.items()})
    assert freq["c"] > freq["b"]  # b scores higher but was explored three times


def test_novelty_uniform_when_all_scores_zero():
    pool = [PoolEntry(str(i), 0.0) for i in range(4)]
    assert np.allclose(NoveltySelector().probabilities(pool), 0.25)


def test_pareto_per_item_wins_and_dominance():
    pool = [
        # a wins q1 and q2 (tie on q2 with c), b wins q3, c wins q2 (tie) and q4,
        # d wins nothing, e ties a on q1 but is dominated by a.
        PoolEntry("a", 0.6, per_item={"q1": 1.0, "q2": 1.0, "q3": 0.0, "q4": 0.2}),
        PoolEntry("b", 0.3, per_item={"q1": 0.0, "q2": 0.0, "q3": 0.9, "q4": 0.3}),
        PoolEntry("c", 0.5, per_item={"q1": 0.0, "q2": 1.0, "q3": 0.0, "q4": 0.8}),
        PoolEntry("d", 0.4, per_item={"q1": 0.5, "q2": 0.5, "q3": 0.5, "q4": 0.5}),
        PoolEntry("e", 0.5, per_item={"q1": 1.0, "q2": 0.5, "q3": 0.0, "q4": 0.2}),
        # q5: nobody scored, so it makes nobody a winner
        PoolEntry("f", 0.0, per_item={"q5": 0.0}),
    ]
    selector = ParetoSelector()
    assert list(selector.wins(pool)) == [2, 1, 2, 0, 0, 0]
    _assert_close(_frequencies(selector, pool, seed=2),
                  {"a": 0.4, "b": 0.2, "c": 0.4, "d": 0.0, "e": 0.0, "f": 0.0})


def test_pareto_equal_programs_both_stay_and_fallback_to_argmax():
    twins = [PoolEntry("x", 0.5, per_item={"q": 1.0}), PoolEntry("y", 0.5, per_item={"q": 1.0})]
    assert np.allclose(ParetoSelector().probabilities(twins), [0.5, 0.5])
    nothing = [PoolEntry("x", 0.2, iteration=1), PoolEntry("y", 0.3, iteration=2)]
    assert ParetoSelector().select(nothing, np.random.default_rng(0)).program_id == "y"


def test_selection_is_reproducible_with_the_same_rng_seed():
    for name in ("softmax", "novelty", "pareto", "argmax"):
        selector = make_selector(name, 0.15)
        runs = [[selector.select(POOL, rng).program_id for _ in range(30)]
                for rng in (np.random.default_rng(9), np.random.default_rng(9))]
        assert runs[0] == runs[1]


def test_make_selector_and_errors():
    assert isinstance(make_selector("softmax", 0.3), SoftmaxSelector)
    assert make_selector("softmax", 0.3).temperature == 0.3
    assert isinstance(make_selector("pareto", 0.15), ParentSelector)
    with pytest.raises(UsageError, match="unknown parent selector 'best'"):
        make_selector("best", 0.15)
    with pytest.raises(ValueError):
        SoftmaxSelector(0.15).select([], np.random.default_rng(0))


# -- cost Pareto front -------------------------------------------------------------------------

def test_pareto_front_max_score_min_cost():
    points = [("cheap", 0.3, 10.0), ("mid", 0.5, 20.0), ("dear", 0.7, 50.0),
              ("worse", 0.4, 30.0),      # dominated by mid (better and cheaper)
              ("same", 0.5, 20.0),       # equal to mid: stays
              ("costly", 0.7, 60.0),     # dominated by dear (same score, cheaper)
              ("failed", None, 5.0), ("nan", float("nan"), 1.0)]
    assert pareto_front(points) == ["cheap", "mid", "same", "dear"]


def test_pareto_front_single_and_empty():
    assert pareto_front([]) == []
    assert pareto_front([("only", 0.1, 3.0)]) == ["only"]
    assert pareto_front([("a", 0.9, 1.0), ("b", 0.1, 9.0)]) == ["a"]
