"""The population as the store knows it at the start of an iteration.

Everything is read back from the lineage store and filtered to programs created *before* the
iteration, so a replayed iteration (after a crash) sees exactly the pool it saw the first time.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..lineage import LineageStore
from ..lineage.duplicates import duplicate_children
from ..lineage.pool_queries import (
    child_counts,
    pool_item_scores,
    pool_rows,
    proposed_children,
    tried_children,
)
from ..lineage.pool_queries import static_score as first_static
from ..lineage.records import ProgramRecord, read_program
from ..lineage.records import program_source as program_source  # the loop reads it here
from ..meta.base import LineageEntry, ProgramSnapshot
from ..strategies.selectors import PoolEntry


def pool_entries(store: LineageStore, campaign_id: str, before_iteration: int,
                 cost_objective: str = "tokens") -> list[PoolEntry]:
    """Evaluated programs created before the iteration (static subset; not gate-failed, and
    not an evaluation that ended in ``status=error``)."""
    children = child_counts(store, campaign_id, before_iteration)
    per_items = pool_item_scores(store, campaign_id, before_iteration)
    entries = []
    seen: set[str] = set()
    for row in pool_rows(store, campaign_id, before_iteration):
        if row.program_id in seen:
            continue
        seen.add(row.program_id)
        per_item = per_items.get(row.evaluation_id, {})
        cost = row.tokens_per_query if cost_objective == "tokens" else row.calls_per_query
        entries.append(PoolEntry(program_id=row.program_id, score=float(row.score or 0.0),
                                 per_item=dict(per_item),
                                 children=int(children.get(row.program_id, 0)),
                                 cost=float(cost or 0.0), iteration=int(row.iteration)))
    return entries


def program_record(store: LineageStore, program_id: str) -> ProgramRecord:
    """The stored program (KeyError when there is none)."""
    record = read_program(store, program_id)
    if record is None:
        raise KeyError(program_id)
    return record


def static_score(store: LineageStore, program_id: str) -> tuple[float | None, dict[str, float]]:
    """Score and per-category scores of the first static evaluation (None, {} when there is
    none or a gate stopped it)."""
    found = first_static(store, program_id)
    if found is None or found.status == "gate_failed":
        return None, {}
    return float(found.score or 0.0), found.per_category


def snapshot(store: LineageStore, program_id: str) -> ProgramSnapshot:
    record = program_record(store, program_id)
    score, per_category = static_score(store, program_id)
    return ProgramSnapshot(program_id=program_id, source=record.source, score=score,
                           per_category=per_category,
                           commit_message=record.commit_message or "", design=record.design)


def best_static_score(store: LineageStore, program_ids: Iterable[str | None]) -> float | None:
    """The best validation score among ``program_ids`` (None entries: rejected children)."""
    scores = [score for score, _ in (static_score(store, pid) for pid in program_ids if pid)
              if score is not None]
    return max(scores) if scores else None


def _delta(store: LineageStore, program_id: str, parents: list[str]) -> tuple[float | None, float | None]:
    score, _ = static_score(store, program_id)
    if score is None or not parents:
        return score, None
    parent_score, _ = static_score(store, parents[0])
    return score, None if parent_score is None else score - parent_score


def lineage_log(store: LineageStore, parent_id: str, before_iteration: int,
                max_ancestors: int = 8, pending: range = range(0)) -> tuple[LineageEntry, ...]:
    """Ancestors of ``parent_id`` (oldest first), the parent, its already-tried children
    (created before ``before_iteration``), then the children first proposed from it in the
    ``pending`` rounds, listed without a score (a steady schedule's rounds in flight)."""
    chain: list[ProgramRecord] = []
    current: str | None = parent_id
    while current and len(chain) < max_ancestors + 1:
        record = program_record(store, current)
        chain.append(record)
        current = record.parent_ids[0] if record.parent_ids else None
    entries: list[LineageEntry] = []
    for depth, record in enumerate(reversed(chain)):
        relation = "parent" if depth == len(chain) - 1 else "ancestor"
        score, delta = _delta(store, record.id, list(record.parent_ids))
        entries.append(LineageEntry(record.id, relation, score, delta,
                                    record.commit_message or "",
                                    regression=delta is not None and delta < 0))
    children = tried_children(store, parent_id, before_iteration)
    tried: list[tuple[int, int, LineageEntry]] = []
    for child in children:
        score, delta = _delta(store, child.id, list(child.parent_ids))
        tried.append((child.iteration, 0, LineageEntry(
            child.id, "child", score, delta, child.commit_message or "",
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
    in_flight = tuple(LineageEntry(child.id, "child", None, None, child.commit_message or "",
                                   pending=True)
                      for child in proposed_children(store, parent_id, pending))
    return tuple(entries) + tuple(entry for _, _, entry in tried) + in_flight
