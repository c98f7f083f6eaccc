"""The population as the store knows it at the start of an iteration.

Everything is read back from the lineage store and filtered to programs created *before* the
iteration, so a replayed iteration (after a crash) sees exactly the pool it saw the first time.
"""

from __future__ import annotations

import json
from typing import Any

from ..lineage import LineageStore
from ..lineage.duplicates import duplicate_children
from ..meta.base import LineageEntry, ProgramSnapshot
from ..strategies.selectors import PoolEntry


def pool_entries(store: LineageStore, campaign_id: str, before_iteration: int,
                 cost_objective: str = "tokens") -> list[PoolEntry]:
    """Evaluated programs created before the iteration (static subset; not gate-failed, and
    not an evaluation that ended in ``status=error``)."""
    rows = store.query_dicts(
        "SELECT p.id, p.iteration, e.id AS evaluation_id, e.score, e.tokens_per_query, "
        "e.calls_per_query FROM programs p JOIN evaluations e ON e.program_id = p.id "
        "WHERE p.campaign_id = ? AND e.split = 'static' AND e.status NOT IN ('gate_failed', 'error') "
        "AND p.iteration < ? ORDER BY p.iteration, p.created_at, p.id",
        [campaign_id, before_iteration])
    children = dict(store.query(
        "SELECT parent, count(*) FROM (SELECT unnest(parent_ids) AS parent FROM programs "
        "WHERE campaign_id = ? AND iteration < ?) GROUP BY parent",
        [campaign_id, before_iteration]))
    # every pool member's per-item scores in one query (not one query per program)
    per_items: dict[int, dict[str, float]] = {}
    for evaluation_id, item_id, score in store.query(
            "SELECT r.evaluation_id, r.item_id, r.score FROM item_results r JOIN evaluations e "
            "ON e.id = r.evaluation_id JOIN programs p ON p.id = e.program_id "
            "WHERE p.campaign_id = ? AND e.split = 'static' AND e.status NOT IN ('gate_failed', 'error') "
            "AND p.iteration < ?", [campaign_id, before_iteration]):
        per_items.setdefault(evaluation_id, {})[item_id] = float(score or 0.0)
    entries = []
    seen: set[str] = set()
    for row in rows:
        if row["id"] in seen:
            continue
        seen.add(row["id"])
        per_item = per_items.get(row["evaluation_id"], {})
        cost = row["tokens_per_query"] if cost_objective == "tokens" else row["calls_per_query"]
        entries.append(PoolEntry(program_id=row["id"], score=float(row["score"] or 0.0),
                                 per_item=dict(per_item),
                                 children=int(children.get(row["id"], 0)),
                                 cost=float(cost or 0.0), iteration=int(row["iteration"])))
    return entries


def program_row(store: LineageStore, program_id: str) -> dict[str, Any]:
    rows = store.query_dicts("SELECT * FROM programs WHERE id = ?", [program_id])
    if not rows:
        raise KeyError(program_id)
    return rows[0]


def static_score(store: LineageStore, program_id: str) -> tuple[float | None, dict[str, float]]:
    rows = store.query("SELECT score, per_category, status FROM evaluations WHERE program_id = ? "
                       "AND split = 'static' ORDER BY id LIMIT 1", [program_id])
    if not rows or rows[0][2] == "gate_failed":
        return None, {}
    return float(rows[0][0] or 0.0), json.loads(rows[0][1] or "{}")


def snapshot(store: LineageStore, program_id: str) -> ProgramSnapshot:
    row = program_row(store, program_id)
    score, per_category = static_score(store, program_id)
    design = json.loads(row["design"]) if row.get("design") else None
    return ProgramSnapshot(program_id=program_id, source=row["source"], score=score,
                           per_category=per_category,
                           commit_message=row.get("commit_message") or "", design=design)


def _delta(store: LineageStore, program_id: str, parents: list[str]) -> tuple[float | None, float | None]:
    score, _ = static_score(store, program_id)
    if score is None or not parents:
        return score, None
    parent_score, _ = static_score(store, parents[0])
    return score, None if parent_score is None else score - parent_score


def lineage_log(store: LineageStore, parent_id: str, before_iteration: int,
                max_ancestors: int = 8) -> tuple[LineageEntry, ...]:
    """Ancestors of ``parent_id`` (oldest first), the parent, and its already-tried children."""
    chain: list[dict[str, Any]] = []
    current: str | None = parent_id
    while current and len(chain) < max_ancestors + 1:
        row = program_row(store, current)
        chain.append(row)
        parents = list(row.get("parent_ids") or [])
        current = parents[0] if parents else None
    entries: list[LineageEntry] = []
    for depth, row in enumerate(reversed(chain)):
        relation = "parent" if depth == len(chain) - 1 else "ancestor"
        score, delta = _delta(store, row["id"], list(row.get("parent_ids") or []))
        entries.append(LineageEntry(row["id"], relation, score, delta,
                                    row.get("commit_message") or "",
                                    regression=delta is not None and delta < 0))
    children = store.query_dicts(
        "SELECT id, parent_ids, commit_message, iteration FROM programs WHERE campaign_id = "
        "(SELECT campaign_id FROM programs WHERE id = ?) AND list_contains(parent_ids, ?) "
        "AND iteration < ? ORDER BY iteration, created_at, id",
        [parent_id, parent_id, before_iteration])
    tried: list[tuple[int, int, LineageEntry]] = []
    for child in children:
        score, delta = _delta(store, child["id"], list(child["parent_ids"]))
        tried.append((child["iteration"], 0, LineageEntry(
            child["id"], "child", score, delta, child.get("commit_message") or "",
            regression=delta is not None and delta < 0)))
    # proposals from this parent that equalled a program already in the pool: tried too
    parent_score, _ = static_score(store, parent_id)
    for duplicate in duplicate_children(store, parent_id, before_iteration):
        score, _ = static_score(store, duplicate["duplicate_of"])
        delta = None if score is None or parent_score is None else score - parent_score
        tried.append((duplicate["iteration"], 1, LineageEntry(
            duplicate["duplicate_of"], "child", score, delta,
            duplicate.get("commit_message") or "", regression=delta is not None and delta < 0,
            duplicate=True)))
    tried.sort(key=lambda entry: entry[:2])  # by iteration; stable within one
    return tuple(entries) + tuple(entry for _, _, entry in tried)
