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


def _evaluation_summary(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"score": row["score"], "status": row["status"], "n_items": row["n_items"],
            "per_category": decode_json(row["per_category"], {}),
            "tokens_per_query": row["tokens_per_query"], "calls_per_query": row["calls_per_query"]}


def _lineage(store: LineageStore, program_id: str) -> list[dict[str, Any]]:
    """The program and its first-parent ancestors, newest first."""
    chain: list[dict[str, Any]] = []
    seen: set[str] = set()
    current: str | None = program_id
    while current and current not in seen:
        seen.add(current)
        rows = store.query_dicts(
            "SELECT p.id, p.parent_ids, p.iteration, p.origin, p.mutator, p.name, "
            "p.commit_message, (SELECT score FROM evaluations e WHERE e.program_id = p.id AND "
            "e.split = 'static' AND e.status <> 'gate_failed' ORDER BY e.id LIMIT 1) AS val "
            "FROM programs p WHERE p.id = ?", [current])
        if not rows:
            break
        row = rows[0]
        parents = list(row["parent_ids"] or [])
        chain.append({"id": row["id"], "iteration": row["iteration"], "origin": row["origin"],
                      "mutator": row["mutator"], "name": row["name"], "val_score": row["val"],
                      "parents": parents, "commit_message": row["commit_message"] or ""})
        current = parents[0] if parents else None
    return chain


def _examples(store: LineageStore, program_id: str) -> tuple[list[dict], list[dict]]:
    """Stored write examples (one per evaluation, deduplicated) and static-trace queries."""
    writes: list[dict[str, Any]] = []
    seen: set[str] = set()
    for (value,) in store.query("SELECT write_example FROM evaluations WHERE program_id = ? "
                                "AND write_example IS NOT NULL ORDER BY id", [program_id]):
        example = decode_json(value, None)
        if isinstance(example, dict) and isinstance(example.get("item"), dict):
            key = json.dumps(example, sort_keys=True, default=str)
            if key not in seen:
                seen.add(key)
                writes.append({"item": example["item"],
                               "raw_text": str(example.get("raw_text", ""))})
    queries: list[dict[str, Any]] = []
    keys: set[str] = set()
    rows = store.query(
        "SELECT i.trace FROM item_results i JOIN evaluations e ON e.id = i.evaluation_id "
        "WHERE e.program_id = ? AND e.split = 'static' ORDER BY e.id, i.rowid LIMIT ?",
        [program_id, MAX_QUERIES * 4])
    for (trace,) in rows:
        query = decode_json(trace, {}).get("query") if trace else None
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
    rows = store.query("SELECT item_id, group_id, retrieved, trace FROM item_results "
                       "WHERE evaluation_id = ? ORDER BY rowid", [evaluation_id])
    return [{"item_id": item_id, "group_id": group_id, "retrieved": retrieved or "",
             "query": decode_json(trace, {}).get("query") if trace else None}
            for item_id, group_id, retrieved, trace in rows]


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
    row = store.query_dicts("SELECT * FROM programs WHERE id = ?", [program_id])[0]
    if row["gate_status"] == "failed":
        raise UsageError(f"program {program_id[:12]} failed the gates "
                         f"({row['gate_stage']}); export a program that ran")
    evaluations = store.query_dicts(
        "SELECT * FROM evaluations WHERE program_id = ? AND status <> 'gate_failed' "
        "ORDER BY id", [program_id])
    static = next((e for e in evaluations if e["split"] == "static"), None)
    test = next((e for e in evaluations if e["split"] == "test"), None)
    models = dict(config.get("models", {}))
    models.pop("prices", None)
    # roles served by a Python caller's model objects (evolve.campaign.user_parts), not the
    # config's names: say so, and never replay them with the offline model
    objects = store.get_state(campaign.get("id") or "", "python_objects", None) or {}
    models.update({key.split(".", 1)[1]: f"python:{path}" for key, path in objects.items()
                   if key.startswith("models.")})
    embedder = str(models.get("embedder") or "offline")
    # The embedder that actually ran ("offline" is hybrid, or hashing without wordllama).
    used = store.query("SELECT model FROM llm_calls WHERE role = 'embedder' AND error IS NULL "
                       "LIMIT 1")
    actual = used[0][0] if used else None
    embedder_export = actual if actual in set(OFFLINE_EMBEDDERS.values()) \
        else OFFLINE_EMBEDDERS.get(embedder)
    writes, queries = _examples(store, program_id)
    return ProgramExport(
        program_id=program_id, source=row["source"],
        commit_message=row["commit_message"] or "",
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
        static_items=_static_items(store, static["id"] if static else None))


def read_program_export(run_dir: str | Path, program: str | None) -> ProgramExport:
    """Resolve and read one program of RUN_DIR from a snapshot (see the module docstring)."""
    store = open_snapshot(run_dir)
    try:
        return _read(store, program)
    finally:
        with contextlib.suppress(Exception):
            store.close()
