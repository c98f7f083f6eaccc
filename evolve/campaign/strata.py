"""A static validation set with the test split's category mix (``[data] stratify = "test"``).

Each category gets its share of the static items (``category_quotas``: largest remainder, what a
small category cannot take goes to the others), and within a category the items are chosen by
the same k-means pick as an unstratified set (``subsets.select_static_val``). Deterministic for
a given seed; returns plain ids, stored in the campaign record like every other subset.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from evolve.tasks.base import EvalItem

from .subsets import select_static_val


def category_quotas(available: Mapping[str, int], shares: Mapping[str, float],
                    size: int) -> dict[str, int]:
    """How many static items each category gets: ``size`` split by ``shares``, never more
    than a category has. Each category first gets the floor of its exact share; the rest go
    one at a time to the open category furthest below its exact share (largest remainder), so
    what a small category cannot take goes to the others. Without any share for the available
    categories, their sizes are the shares. Deterministic; ties go to the first name sorted."""
    total = min(size, sum(available.values()))
    weights = {c: float(shares.get(c, 0.0)) for c in available}
    if sum(weights.values()) <= 0:
        weights = {c: float(n) for c, n in available.items()}
    weight = sum(weights.values())
    target = {c: total * w / weight for c, w in weights.items()}
    quotas = {c: min(available[c], int(math.floor(target[c]))) for c in available}
    while sum(quotas.values()) < total:
        open_ = [c for c in sorted(available) if quotas[c] < available[c]]
        neediest = max(open_, key=lambda c: target[c] - quotas[c])  # first wins a tie
        quotas[neediest] += 1
    return quotas


def select_static_val_stratified(items: Sequence[EvalItem], question_vectors: np.ndarray,
                                 size: int, seed: int,
                                 shares: Mapping[str, float]) -> list[str]:
    """``size`` items, each category taking its share (``category_quotas``: typically the
    test split's category mix), chosen within a category by ``select_static_val`` (k-means
    over that category's question vectors). Returned in the items' original order."""
    if len(question_vectors) != len(items):
        raise ValueError(f"{len(items)} items but {len(question_vectors)} question vectors")
    by_category: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        by_category.setdefault(item.category, []).append(index)
    quotas = category_quotas({c: len(ix) for c, ix in by_category.items()}, shares, size)
    vectors = np.asarray(question_vectors)
    chosen: set[str] = set()
    for category in sorted(by_category):
        indices = by_category[category]
        chosen.update(select_static_val([items[i] for i in indices], vectors[indices],
                                        quotas[category], seed))
    return [item.id for item in items if item.id in chosen]


def category_shares(items: Iterable[EvalItem]) -> dict[str, float]:
    """Each category's share of ``items`` (empty for no items)."""
    counts: dict[str, int] = {}
    for item in items:
        counts[item.category] = counts.get(item.category, 0) + 1
    total = sum(counts.values())
    return {c: n / total for c, n in counts.items()} if total else {}
