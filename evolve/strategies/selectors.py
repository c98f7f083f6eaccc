"""Parent selection strategies: which pool program the next child is mutated from.

Every strategy implements ``ParentSelector``; ``make_selector(name, temperature)`` builds one
from ``search.selector``. Implementations also expose ``probabilities(pool)`` (the exact
distribution ``select`` samples from), used by tests and shown in reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from evolve.registry import SELECTORS as REGISTRY

TIE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class PoolEntry:
    """A program in the pool, as selectors see it.

    ``score``: static-validation score in [0, 1]; ``per_item``: item id -> score on that set;
    ``children``: children proposed from it so far; ``cost``: its cost objective (tokens or LLM
    calls per evaluation); ``iteration``: when it joined (seeds: 0), older = smaller.
    """

    program_id: str
    score: float
    per_item: dict[str, float] = field(default_factory=dict)
    children: int = 0
    cost: float = 0.0
    iteration: int = 0


@runtime_checkable
class ParentSelector(Protocol):
    """Chooses a parent from a non-empty pool.

    Contract: ``select`` returns an element of ``pool``; it draws randomness only from ``rng``
    (so a campaign seeded per iteration replays exactly on resume) and never mutates the pool.
    ``ValueError`` on an empty pool.
    """

    name: str

    def select(self, pool: Sequence[PoolEntry], rng: np.random.Generator) -> PoolEntry: ...


def _check(pool: Sequence[PoolEntry]) -> None:
    if not pool:
        raise ValueError("cannot select a parent from an empty pool")


def _draw(pool: Sequence[PoolEntry], probs: np.ndarray, rng: np.random.Generator) -> PoolEntry:
    return pool[int(rng.choice(len(pool), p=probs))]


def _normalise(weights: np.ndarray) -> np.ndarray:
    """Weights -> probabilities; all-zero weights -> uniform."""
    weights = np.clip(np.asarray(weights, dtype=np.float64), 0.0, None)
    total = weights.sum()
    if not np.isfinite(total) or total <= 0.0:
        return np.full(len(weights), 1.0 / len(weights))
    return weights / total


class SoftmaxSelector:
    """P(i) ~ exp(score_i / tau) (M*: tau = 0.15). Max-shifted, so it is stable for any tau."""

    name = "softmax"

    def __init__(self, temperature: float = 0.15) -> None:
        if temperature <= 0:
            raise ValueError(f"softmax temperature must be > 0, got {temperature}")
        self.temperature = float(temperature)

    def probabilities(self, pool: Sequence[PoolEntry]) -> np.ndarray:
        _check(pool)
        scores = np.array([e.score for e in pool], dtype=np.float64) / self.temperature
        return _normalise(np.exp(scores - scores.max()))

    def select(self, pool: Sequence[PoolEntry], rng: np.random.Generator) -> PoolEntry:
        return _draw(pool, self.probabilities(pool), rng)


class ArgmaxSelector:
    """Always the best score; ties (within 1e-9) go to the oldest (smallest iteration, then
    earliest in the pool). Uses no randomness."""

    name = "argmax"

    def probabilities(self, pool: Sequence[PoolEntry]) -> np.ndarray:
        _check(pool)
        best = max(e.score for e in pool)
        index = min((i for i, e in enumerate(pool) if e.score >= best - TIE_TOLERANCE),
                    key=lambda i: (pool[i].iteration, i))
        probs = np.zeros(len(pool))
        probs[index] = 1.0
        return probs

    def select(self, pool: Sequence[PoolEntry], rng: np.random.Generator) -> PoolEntry:
        return pool[int(np.argmax(self.probabilities(pool)))]


class NoveltySelector:
    """P(i) ~ score_i / (1 + children_i): good programs, favouring the little-explored ones.
    Uniform when every score is 0."""

    name = "novelty"

    def probabilities(self, pool: Sequence[PoolEntry]) -> np.ndarray:
        _check(pool)
        return _normalise(np.array([max(e.score, 0.0) / (1.0 + e.children) for e in pool]))

    def select(self, pool: Sequence[PoolEntry], rng: np.random.Generator) -> PoolEntry:
        return _draw(pool, self.probabilities(pool), rng)


class LineageSelector:
    """A single lineage (the M* ablation): always the newest program, so the search is one
    chain with no branching back to an older, better program. Among programs of the newest
    iteration (the seeds, or siblings of one batch) the best score wins, ties to the earliest
    in the pool. Uses no randomness."""

    name = "lineage"

    def probabilities(self, pool: Sequence[PoolEntry]) -> np.ndarray:
        _check(pool)
        newest = max(e.iteration for e in pool)
        index = max((i for i, e in enumerate(pool) if e.iteration == newest),
                    key=lambda i: (pool[i].score, -i))
        probs = np.zeros(len(pool))
        probs[index] = 1.0
        return probs

    def select(self, pool: Sequence[PoolEntry], rng: np.random.Generator) -> PoolEntry:
        return pool[int(np.argmax(self.probabilities(pool)))]


def _dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """a is at least as good as b on every item and better on one."""
    return bool(np.all(a >= b - TIE_TOLERANCE) and np.any(a > b + TIE_TOLERANCE))


class ParetoSelector:
    """GEPA-style per-item Pareto selection.

    For each item (union of ``per_item`` keys; a missing item scores 0) the winners are the
    entries within 1e-9 of the best score on it; items nobody scored above 0 are skipped (they
    would make every program a winner). Winners dominated by another winner on all items are
    dropped; each survivor is drawn with probability ~ the number of items it wins. Falls back
    to ``ArgmaxSelector`` when no item has a positive best.
    """

    name = "pareto"

    def wins(self, pool: Sequence[PoolEntry]) -> np.ndarray:
        """Number of items each entry wins, after removing dominated winners."""
        _check(pool)
        items = sorted({key for e in pool for key in e.per_item})
        matrix = np.array([[e.per_item.get(k, 0.0) for k in items] for e in pool],
                          dtype=np.float64).reshape(len(pool), len(items))
        best = matrix.max(axis=0) if items else np.zeros(0)
        useful = best > TIE_TOLERANCE
        winners = (matrix >= best - TIE_TOLERANCE) & useful  # [entries, items]
        candidates = [i for i in range(len(pool)) if winners[i].any()]
        survivors = {i for i in candidates
                     if not any(_dominates(matrix[j], matrix[i]) for j in candidates if j != i)}
        counts = winners.sum(axis=1).astype(np.float64)
        return np.array([counts[i] if i in survivors else 0.0 for i in range(len(pool))])

    def probabilities(self, pool: Sequence[PoolEntry]) -> np.ndarray:
        wins = self.wins(pool)
        if wins.sum() <= 0:
            return ArgmaxSelector().probabilities(pool)
        return wins / wins.sum()

    def select(self, pool: Sequence[PoolEntry], rng: np.random.Generator) -> PoolEntry:
        return _draw(pool, self.probabilities(pool), rng)


# Factories of the built-in names (``evolve.registry.SELECTORS`` lists them; softmax is
# ``SoftmaxSelector`` itself): each takes the softmax temperature.
def argmax_selector(_temperature: float) -> ParentSelector:
    return ArgmaxSelector()


def novelty_selector(_temperature: float) -> ParentSelector:
    return NoveltySelector()


def pareto_selector(_temperature: float) -> ParentSelector:
    return ParetoSelector()


def lineage_selector(_temperature: float) -> ParentSelector:
    return LineageSelector()


SELECTORS = REGISTRY.builtin_names


def make_selector(name: str | ParentSelector, temperature: float = 0.15) -> ParentSelector:
    """The selector called ``name`` (a name of ``evolve.registry.SELECTORS``); UsageError
    otherwise. An object with a ``select`` method is used as it is (TypeError when it has
    none)."""
    if not isinstance(name, str):
        from evolve.objects import require

        return require(name, "selector")
    selector: ParentSelector = REGISTRY.get(name)(temperature)
    return selector
