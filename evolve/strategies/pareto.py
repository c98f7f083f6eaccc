"""The score/cost Pareto front of a campaign's programs (higher score, lower cost)."""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence


def pareto_front(points: Sequence[tuple[Hashable, float | None, float | None]]) -> list[Hashable]:
    """Ids of the non-dominated points, cheapest first (ties: higher score, then input order).

    A point is dominated when another has score >= and cost <= with at least one strict.
    Points with equal score and cost do not dominate each other, so both stay. Points whose
    score or cost is None or NaN (not evaluated, failed) are left out.
    """
    valid = [(pid, float(s), float(c)) for pid, s, c in points
             if s is not None and c is not None and not math.isnan(s) and not math.isnan(c)]
    front = []
    for index, (pid, score, cost) in enumerate(valid):
        dominated = any((s >= score and c <= cost) and (s > score or c < cost)
                        for other, (_, s, c) in enumerate(valid) if other != index)
        if not dominated:
            front.append((cost, -score, index, pid))
    return [pid for *_, pid in sorted(front, key=lambda t: t[:3])]
