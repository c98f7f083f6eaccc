"""Typed, read-only records of a run's lineage database, and the queries that read them.

One frozen dataclass per table a user reads: ``CampaignRecord``, ``ProgramRecord``,
``EvaluationRecord``, ``ItemRecord`` (``item_results``) and ``EventRecord``. Each field is
the column of the same name (docs/lineage.md), JSON columns decoded, lists as tuples; each
query selects exactly the fields of its record, so a column added to the schema later
changes nothing here until a field is added for it. Every reader takes a ``LineageStore``,
typically a snapshot (``open_readonly``), so reading never locks a running campaign.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from .store import LineageStore, decode_json

R = TypeVar("R")


@dataclass(frozen=True)
class CampaignRecord:
    """The campaign of a run: its config (as recorded, a ``{section: {key: value}}`` dict),
    task, seeds and how it ended (``finished_at`` None: unfinished)."""

    id: str
    name: str
    task: str
    task_args: dict[str, str]
    protocol: str
    config: dict[str, Any]
    seeds: tuple[str, ...]
    versions: dict[str, str]
    rng_seed: int
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    stop_reason: str | None


@dataclass(frozen=True)
class ProgramRecord:
    """A program ever proposed, rejected ones too. ``id`` is the sha256 of ``source``;
    ``gate_status``: pending | passed | failed | error; ``origin``: seed | mutation |
    crossover | repair."""

    id: str
    campaign_id: str
    name: str | None
    source: str
    parent_ids: tuple[str, ...]
    generation: int
    iteration: int
    origin: str
    mutator: str | None
    commit_message: str | None
    gate_status: str
    gate_stage: str | None
    gate_message: str | None
    design: dict[str, Any] | None
    created_at: datetime.datetime | None


@dataclass(frozen=True)
class EvaluationRecord:
    """One evaluation of a program on a subset. ``split``: static | reflect | test;
    ``subset``: the key of the exact item set; ``status``: ok | gate_failed |
    runtime_violation | error."""

    id: int
    campaign_id: str
    program_id: str
    split: str
    subset: str
    status: str
    score: float | None
    per_category: dict[str, float]
    n_items: int | None
    llm_calls: int | None
    tokens_in: int | None
    tokens_out: int | None
    cost_usd: float | None
    tokens_per_query: float | None
    calls_per_query: float | None
    sandbox_mode: str | None
    error: str | None
    duration_s: float | None
    gate_stage: str | None
    failed_items: int | None
    skipped_episodes: int | None
    extraction_failures: int | None
    query_fallbacks: int | None
    coercions: int | None
    created_at: datetime.datetime | None
    # ``{"raw_text", "item"}`` of one episode the program ingested (what the meta-agent sees)
    write_example: dict[str, Any] | None = None


@dataclass(frozen=True)
class ItemRecord:
    """One evaluation item: the question, the gold and given answers, what ``read()``
    returned, its score and the full trace (a dict)."""

    evaluation_id: int
    item_id: str
    group_id: str | None
    category: str | None
    question: str | None
    gold: str | None
    answer: str | None
    retrieved: str | None
    score: float | None
    error: str | None
    trace: dict[str, Any] | None


@dataclass(frozen=True)
class EventRecord:
    """Something the campaign noted: gate failures, repairs, errors, stops, resumes."""

    id: int
    campaign_id: str
    iteration: int | None
    kind: str
    program_id: str | None
    message: str
    data: Any
    created_at: datetime.datetime | None


# JSON columns -> the value a NULL reads as
_JSON: dict[str, Any] = {"task_args": {}, "config": {}, "seeds": (), "versions": {}, "design": None,
         "per_category": {}, "trace": None, "data": None, "write_example": None}


def _columns(record: type) -> list[str]:
    return [f.name for f in dataclasses.fields(record)]


def _build(record: type[R], row: dict[str, Any]) -> R:
    values = {}
    for name, value in row.items():
        if name in _JSON:
            value = decode_json(value, _JSON[name])
        if isinstance(value, list):
            value = tuple(value)
        values[name] = value
    return record(**values)


def _read(store: LineageStore, record: type[R], table: str, where: str = "",
          params: Sequence[Any] = (), order: str = "") -> list[R]:
    sql = f"SELECT {', '.join(_columns(record))} FROM {table}"
    if where:
        sql += f" WHERE {where}"
    if order:
        sql += f" ORDER BY {order}"
    return [_build(record, row) for row in store.query_dicts(sql, params)]


def read_campaign(store: LineageStore) -> CampaignRecord | None:
    """The run's campaign (None for an empty database)."""
    rows = _read(store, CampaignRecord, "campaigns", order="started_at LIMIT 1")
    return rows[0] if rows else None


def read_programs(store: LineageStore, *, origin: str | None = None,
                  gate_status: str | None = None) -> list[ProgramRecord]:
    """Every program, oldest first (ties by id), optionally of one origin / gate status."""
    where, params = _filters(origin=origin, gate_status=gate_status)
    return _read(store, ProgramRecord, "programs", where, params, "iteration, created_at, id")


def read_program(store: LineageStore, program_id: str) -> ProgramRecord | None:
    rows = _read(store, ProgramRecord, "programs", "id = ?", [program_id])
    return rows[0] if rows else None


def program_source(store: LineageStore, program_id: str) -> str:
    """The source of a stored program (KeyError when there is none)."""
    rows = store.query("SELECT source FROM programs WHERE id = ?", [program_id])
    if not rows:
        raise KeyError(program_id)
    return str(rows[0][0])


def read_evaluations(store: LineageStore, *, program_id: str | None = None,
                     split: str | None = None) -> list[EvaluationRecord]:
    """Evaluations in the order they were stored, optionally of one program / split."""
    where, params = _filters(program_id=program_id, split=split)
    return _read(store, EvaluationRecord, "evaluations", where, params, "id")


def read_evaluation(store: LineageStore, evaluation_id: int) -> EvaluationRecord | None:
    """One evaluation by its id."""
    rows = _read(store, EvaluationRecord, "evaluations", "id = ?", [evaluation_id])
    return rows[0] if rows else None


def find_evaluation(store: LineageStore, program_id: str, split: str,
                    subset: str) -> EvaluationRecord | None:
    """The stored evaluation of a program on one exact subset (its first, if several)."""
    rows = _read(store, EvaluationRecord, "evaluations",
                 "program_id = ? AND split = ? AND subset = ?", [program_id, split, subset],
                 "id LIMIT 1")
    return rows[0] if rows else None


def read_items(store: LineageStore, evaluation_id: int) -> list[ItemRecord]:
    """The item results of one evaluation, in dataset order."""
    return _read(store, ItemRecord, "item_results", "evaluation_id = ?", [evaluation_id],
                 "rowid")


def read_traces(store: LineageStore, evaluation_id: int) -> list[dict[str, Any]]:
    """The item traces of one evaluation, in dataset order (items without one left out)."""
    return [item.trace for item in read_items(store, evaluation_id) if item.trace is not None]


def read_events(store: LineageStore, *, kind: str | None = None,
                program_id: str | None = None) -> list[EventRecord]:
    """The campaign's events in the order they happened, optionally of one kind / program."""
    where, params = _filters(kind=kind, program_id=program_id)
    return _read(store, EventRecord, "events", where, params, "id")


def _filters(**wanted: str | None) -> tuple[str, list[Any]]:
    given = {column: value for column, value in wanted.items() if value is not None}
    return " AND ".join(f"{column} = ?" for column in given), list(given.values())
