"""What an export needs to know about one program of a run, read from a snapshot of its database.

``read_program_export(run_dir, prefix)`` resolves the program (None = the best by static
validation, as ``evolve status`` reports it) and returns a ``ProgramExport``: source, campaign
facts, models, scores (validation and test, per category), lineage (ancestors with commit
messages), the stored write examples and the queries of its stored item traces.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..lineage import LineageStore, decode_json
from ..lineage.queries import campaign_status, resolve_program_id
from ..lineage.records import EvaluationRecord, read_evaluations, read_items, read_program
from ..lineage.report_queries import counted_static_score, model_of_role, static_traces
from ..report.data import category_names_for, open_snapshot
from .runtime import OFFLINE_EMBEDDERS

MAX_QUERIES = 40


@dataclass
class ProgramExport:
    """One program and its campaign facts (see the module docstring)."""

    program_id: str
    source: str
    commit_message: str
    campaign_name: str
    campaign_id: str
    task: str
    task_args: dict[str, Any]
    protocol: str
    models: dict[str, Any]
    embedder: str
    embedder_export: str | None
    toolkit_model: str
    scores: dict[str, Any]
    lineage: list[dict[str, Any]]
    write_examples: list[dict[str, Any]] = field(default_factory=list)
    queries: list[dict[str, Any]] = field(default_factory=list)
    evolve_version: str = ""
    subsets: dict[str, Any] = field(default_factory=dict)  # the campaign's recorded subsets
    static_items: list[dict[str, Any]] = field(default_factory=list)  # group, query, retrieved


def _evaluation_summary(record: EvaluationRecord | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {"score": record.score, "status": record.status, "n_items": record.n_items,
            "per_category": record.per_category, "tokens_per_query": record.tokens_per_query,
            "calls_per_query": record.calls_per_query}


def _lineage(store: LineageStore, program_id: str) -> list[dict[str, Any]]:
    """The program and its first-parent ancestors, newest first."""
    chain: list[dict[str, Any]] = []
    seen: set[str] = set()
    current: str | None = program_id
    while current and current not in seen:
        seen.add(current)
        record = read_program(store, current)
        if record is None:
            break
        parents = list(record.parent_ids)
        chain.append({"id": record.id, "iteration": record.iteration, "origin": record.origin,
                      "mutator": record.mutator, "name": record.name,
                      "val_score": counted_static_score(store, record.id), "parents": parents,
                      "commit_message": record.commit_message or ""})
        current = parents[0] if parents else None
    return chain


def _examples(store: LineageStore, program_id: str) -> tuple[list[dict], list[dict]]:
    """Stored write examples (one per evaluation, deduplicated) and static-trace queries."""
    writes: list[dict[str, Any]] = []
    seen: set[str] = set()
    for evaluation in read_evaluations(store, program_id=program_id):
        example = evaluation.write_example
        if isinstance(example, dict) and isinstance(example.get("item"), dict):
            key = json.dumps(example, sort_keys=True, default=str)
            if key not in seen:
                seen.add(key)
                writes.append({"item": example["item"],
                               "raw_text": str(example.get("raw_text", ""))})
    queries: list[dict[str, Any]] = []
    keys: set[str] = set()
    for trace in static_traces(store, program_id, MAX_QUERIES * 4):
        query = trace.get("query") if isinstance(trace, dict) else None
        if isinstance(query, dict) and len(queries) < MAX_QUERIES:
            key = json.dumps(query, sort_keys=True, default=str)
            if key not in keys:
                keys.add(key)
                queries.append(query)
    return writes, queries


def _static_items(store: LineageStore, evaluation_id: int | None) -> list[dict[str, Any]]:
    """Group id, query and stored read output of every item of the static evaluation."""
    if evaluation_id is None:
        return []
    return [{"item_id": item.item_id, "group_id": item.group_id, "retrieved": item.retrieved or "",
             "query": item.trace.get("query") if isinstance(item.trace, dict) else None}
            for item in read_items(store, evaluation_id)]


def _read(store: LineageStore, program: str | None) -> ProgramExport:
    campaign = store.campaign() or {}
    config = decode_json(campaign.get("config"), {})
    if program is None:
        best = campaign_status(store).get("best_program")
        if not best:
            raise UsageError("the run has no evaluated program yet; nothing to export")
        program_id = best
    else:
        program_id = resolve_program_id(store, program)
    row = read_program(store, program_id)
    assert row is not None  # the best program, or one resolve_program_id found
    if row.gate_status == "failed":
        raise UsageError(f"program {program_id[:12]} failed the gates "
                         f"({row.gate_stage}); export a program that ran")
    evaluations = [e for e in read_evaluations(store, program_id=program_id)
                   if e.status != "gate_failed"]
    static = next((e for e in evaluations if e.split == "static"), None)
    test = next((e for e in evaluations if e.split == "test"), None)
    models = dict(config.get("models", {}))
    models.pop("prices", None)
    # roles served by a Python caller's model objects (evolve.campaign.user_parts), not the
    # config's names: say so, and never replay them with the offline model
    objects = store.get_state(campaign.get("id") or "", "python_objects", None) or {}
    models.update({key.split(".", 1)[1]: f"python:{path}" for key, path in objects.items()
                   if key.startswith("models.")})
    embedder = str(models.get("embedder") or "offline")
    # The embedder that actually ran ("offline" is hybrid, or hashing without wordllama).
    actual = model_of_role(store, "embedder")
    embedder_export = actual if actual in set(OFFLINE_EMBEDDERS.values()) \
        else OFFLINE_EMBEDDERS.get(embedder)
    writes, queries = _examples(store, program_id)
    return ProgramExport(
        program_id=program_id, source=row.source, commit_message=row.commit_message or "",
        campaign_name=campaign.get("name") or "campaign", campaign_id=campaign.get("id") or "",
        task=campaign.get("task") or "", task_args=decode_json(campaign.get("task_args"), {}),
        protocol=campaign.get("protocol") or "offline", models=models, embedder=embedder,
        embedder_export=embedder_export,
        toolkit_model=str(models.get("toolkit") or models.get("task") or "offline"),
        scores={"validation": _evaluation_summary(static), "test": _evaluation_summary(test),
                "category_names": category_names_for(campaign.get("task"))},
        lineage=_lineage(store, program_id), write_examples=writes, queries=queries,
        evolve_version=str(decode_json(campaign.get("versions"), {}).get("evolve", "")),
        subsets=decode_json(campaign.get("subsets"), {}),
        static_items=_static_items(store, static.id if static else None))


def read_program_export(run_dir: str | Path, program: str | None) -> ProgramExport:
    """Resolve and read one program of RUN_DIR from a snapshot (see the module docstring)."""
    store = open_snapshot(run_dir)
    try:
        return _read(store, program)
    finally:
        with contextlib.suppress(Exception):
            store.close()
