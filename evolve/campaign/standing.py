"""Where a campaign stands, read from its pool: the best program, how long ago it was found,
and the Pareto front of score against the cost objective (kept in the campaign's state)."""

from __future__ import annotations

from ..lineage import LineageStore
from ..lineage.noops import no_op_ids
from ..strategies.pareto import pareto_front
from ..strategies.selectors import PoolEntry
from .pool import pool_entries

EVERY_ITERATION = 10**9  # a pool bound later than any iteration: every member


def best_in_pool(store: LineageStore, campaign_id: str,
                 pool: list[PoolEntry] | None = None) -> tuple[str | None, float | None]:
    """Id and validation score of the best pool member (the oldest among ties); ``pool``:
    the whole pool when the caller has read it already."""
    if pool is None:
        pool = pool_entries(store, campaign_id, EVERY_ITERATION)
    if not pool:
        return None, None
    best = max(pool, key=lambda p: p.score)  # max keeps the first (oldest) among ties
    return best.program_id, best.score


def iterations_since_best(store: LineageStore, campaign_id: str, done: int,
                          pool: list[PoolEntry] | None = None) -> int:
    """Iterations run since the best of the first ``done`` iterations joined the pool
    (``pool``: the pool at ``done + 1`` when the caller has read it already), leaving out
    rounds whose children were all no-ops (``evolve.lineage.noops``): they tried nothing."""
    if pool is None:
        pool = pool_entries(store, campaign_id, done + 1)
    if not pool:
        return 0
    best = max(pool, key=lambda p: p.score)
    # a round whose every pool member answered exactly as its parent tried nothing new
    after = [p for p in pool if p.iteration > best.iteration]
    no_ops = no_op_ids(store) if after else set()
    idle_rounds = {p.iteration for p in after} - {p.iteration for p in after
                                                  if p.program_id not in no_ops}
    return done - best.iteration - len(idle_rounds)


def record_pareto_front(store: LineageStore, campaign_id: str, cost_objective: str) -> None:
    """Score vs cost per query (the campaign's second objective), kept in the record."""
    pool = pool_entries(store, campaign_id, EVERY_ITERATION, cost_objective)
    front = pareto_front([(p.program_id, p.score, p.cost) for p in pool])
    store.set_state(campaign_id, "pareto_front", {
        "cost_objective": cost_objective,
        "programs": [{"id": p.program_id, "score": p.score, "cost": p.cost}
                     for p in pool if p.program_id in set(front)]})


def count_failed_proposal(store: LineageStore, campaign_id: str, failed: bool,
                          error: str | None) -> None:
    """Failed proposals in a row (for the ``max_failed_proposals`` stopper; kept in the
    store so a resumed campaign goes on counting)."""
    streak = store.get_state(campaign_id, "failed_proposals", None) or {}
    count = int(streak.get("failed_proposals_in_a_row", 0)) + 1 if failed else 0
    store.set_state(campaign_id, "failed_proposals", {
        "failed_proposals_in_a_row": count,
        "last_proposal_error": (error or "no program") if failed else ""})
