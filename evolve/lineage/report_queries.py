"""Item-level reads the report, ``evolve show`` and the exporter need beyond the plain record
readers (``records``): the lowest-scoring items of evaluations, a program's static traces, the
first static score that counts, the model that served a role.

Each function returns records (``ItemRecord``) or plain values, never rows; like the readers
it takes a ``LineageStore``, typically a snapshot (``open_readonly``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .records import ItemRecord
from .store import LineageStore, decode_json

_ITEM_COLUMNS = ("evaluation_id, item_id, group_id, category, question, gold, answer, "
                 "retrieved, score, error, trace")


def _item(row: tuple[Any, ...]) -> ItemRecord:
    (evaluation_id, item_id, group_id, category, question, gold, answer, retrieved, score,
     error, trace) = row
    return ItemRecord(evaluation_id, item_id, group_id, category, question, gold, answer,
                      retrieved, score, error, decode_json(trace, None))


def lowest_items(store: LineageStore, evaluation_ids: Sequence[int],
                 per_evaluation: int) -> list[ItemRecord]:
    """Up to ``per_evaluation`` items scoring below 1 of each evaluation, lowest first (ties
    in dataset order), grouped by evaluation id; one query for all evaluations."""
    if not evaluation_ids or per_evaluation <= 0:
        return []
    placeholders = ", ".join("?" for _ in evaluation_ids)
    rows = store.query(
        f"SELECT {_ITEM_COLUMNS} FROM (SELECT {_ITEM_COLUMNS}, row_number() OVER (PARTITION BY "
        "evaluation_id ORDER BY score, rowid) AS rank FROM item_results "
        f"WHERE evaluation_id IN ({placeholders}) AND score < 1) WHERE rank <= ? "
        "ORDER BY evaluation_id, rank", [*evaluation_ids, per_evaluation])
    return [_item(row) for row in rows]


def static_traces(store: LineageStore, program_id: str, limit: int) -> list[Any]:
    """The first ``limit`` item traces of the program's static evaluations (evaluation order,
    then dataset order), decoded (None where an item has none)."""
    rows = store.query(
        "SELECT i.trace FROM item_results i JOIN evaluations e ON e.id = i.evaluation_id "
        "WHERE e.program_id = ? AND e.split = 'static' ORDER BY e.id, i.rowid LIMIT ?",
        [program_id, limit])
    return [decode_json(trace, None) if trace else None for (trace,) in rows]


def counted_static_score(store: LineageStore, program_id: str) -> float | None:
    """Score of the program's first static evaluation a gate did not stop (None: none)."""
    rows = store.query("SELECT score FROM evaluations WHERE program_id = ? AND split = 'static' "
                       "AND status <> 'gate_failed' ORDER BY id LIMIT 1", [program_id])
    return rows[0][0] if rows else None


def model_of_role(store: LineageStore, role: str) -> str | None:
    """A model that served ``role`` without error in some logged call (None: no such call)."""
    rows = store.query("SELECT model FROM llm_calls WHERE role = ? AND error IS NULL LIMIT 1",
                       [role])
    return rows[0][0] if rows else None
