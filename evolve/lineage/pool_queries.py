"""What the campaign loop reads back about its population: pool members, their per-item
scores and child counts, a program's static score, its already-tried children.

Every query filters to programs created *before* an iteration where the loop needs it, so a
replayed iteration (after a crash) reads exactly what it read the first time. The loop turns
these rows into the selector-facing ``PoolEntry`` (``evolve.campaign.pool``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .store import LineageStore, decode_json

# a static evaluation that counts: not stopped by a gate, not an incomplete (error) run (the
# pool, the gains and the no-op check all mean this one; ``e`` aliases ``evaluations``)
COUNTED_STATIC = "e.split = 'static' AND e.status NOT IN ('gate_failed', 'error')"


@dataclass(frozen=True)
class PoolRow:
    """A program created before an iteration with a static evaluation that counts (its
    first such evaluation comes first; ``pool_rows`` lists one row per evaluation)."""

    program_id: str
    iteration: int
    evaluation_id: int
    score: float | None
    tokens_per_query: float | None
    calls_per_query: float | None


@dataclass(frozen=True)
class StaticScore:
    """The first static evaluation of a program: its score, per-category scores, status."""

    score: float | None
    per_category: dict[str, float]
    status: str


@dataclass(frozen=True)
class TriedChild:
    """A program proposed from a parent (the lineage log's already-tried children)."""

    id: str
    parent_ids: tuple[str, ...]
    commit_message: str | None
    iteration: int


def pool_rows(store: LineageStore, campaign_id: str, before_iteration: int) -> list[PoolRow]:
    """The campaign's counted static evaluations of programs created before the iteration,
    in creation order (iteration, created_at, id)."""
    rows = store.query(
        "SELECT p.id, p.iteration, e.id, e.score, e.tokens_per_query, e.calls_per_query "
        f"FROM programs p JOIN evaluations e ON e.program_id = p.id WHERE p.campaign_id = ? "
        f"AND {COUNTED_STATIC} AND p.iteration < ? ORDER BY p.iteration, p.created_at, p.id",
        [campaign_id, before_iteration])
    return [PoolRow(*row) for row in rows]


def child_counts(store: LineageStore, campaign_id: str, before_iteration: int) -> dict[str, int]:
    """How many programs created before the iteration name each program as a parent."""
    return {str(parent): int(count) for parent, count in store.query(
        "SELECT parent, count(*) FROM (SELECT unnest(parent_ids) AS parent FROM programs "
        "WHERE campaign_id = ? AND iteration < ?) GROUP BY parent",
        [campaign_id, before_iteration])}


def pool_item_scores(store: LineageStore, campaign_id: str,
                     before_iteration: int) -> dict[int, dict[str, float]]:
    """Per-item scores of every counted static evaluation (``pool_rows``), by evaluation id,
    in one query rather than one per program."""
    out: dict[int, dict[str, float]] = {}
    for evaluation_id, item_id, score in store.query(
            "SELECT r.evaluation_id, r.item_id, r.score FROM item_results r JOIN evaluations e "
            "ON e.id = r.evaluation_id JOIN programs p ON p.id = e.program_id "
            f"WHERE p.campaign_id = ? AND {COUNTED_STATIC} AND p.iteration < ?",
            [campaign_id, before_iteration]):
        out.setdefault(evaluation_id, {})[item_id] = float(score or 0.0)
    return out


def static_score(store: LineageStore, program_id: str) -> StaticScore | None:
    """The program's first static evaluation (None when it has none)."""
    rows = store.query("SELECT score, per_category, status FROM evaluations WHERE program_id = ? "
                       "AND split = 'static' ORDER BY id LIMIT 1", [program_id])
    if not rows:
        return None
    score, per_category, status = rows[0]
    return StaticScore(score, decode_json(per_category, {}), status)


def tried_children(store: LineageStore, parent_id: str, before_iteration: int) -> list[TriedChild]:
    """Programs of the parent's campaign created before the iteration from ``parent_id``."""
    rows = store.query(
        "SELECT id, parent_ids, commit_message, iteration FROM programs WHERE campaign_id = "
        "(SELECT campaign_id FROM programs WHERE id = ?) AND list_contains(parent_ids, ?) "
        "AND iteration < ? ORDER BY iteration, created_at, id",
        [parent_id, parent_id, before_iteration])
    return [TriedChild(pid, tuple(parents or ()), message, iteration)
            for pid, parents, message, iteration in rows]


def proposed_children(store: LineageStore, parent_id: str, iterations: range) -> list[TriedChild]:
    """The first proposals (no gate fix or repair) made from ``parent_id`` in ``iterations``,
    by iteration then id: what a steady child's meta-agent is told is still being evaluated.
    Ordered by id, not by when they were stored, so the order is the same in every run."""
    if not iterations:
        return []
    rows = store.query(
        "SELECT id, parent_ids, commit_message, iteration FROM programs WHERE campaign_id = "
        "(SELECT campaign_id FROM programs WHERE id = ?) AND list_contains(parent_ids, ?) "
        "AND iteration >= ? AND iteration < ? AND origin IS DISTINCT FROM 'repair' "
        "ORDER BY iteration, id",
        [parent_id, parent_id, iterations.start, iterations.stop])
    return [TriedChild(pid, tuple(parents or ()), message, iteration)
            for pid, parents, message, iteration in rows]

