"""Everything the report, the plots and the exporter read from a run's lineage database.

Contract: ``load_run(run_dir)`` opens a *snapshot* of ``RUN_DIR/lineage.duckdb`` (so it works
on a live campaign and never locks its database), reads the whole report model in a handful of
bulk queries (fast for hundreds of programs), closes the snapshot and deletes it. Bad input
(not a run directory, a corrupted database) raises ``UsageError`` with one line.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..lineage import LineageStore, decode_json
from ..lineage.queries import campaign_status, open_run
from ..lineage.records import ProgramRecord, read_evaluations, read_events, read_programs
from ..lineage.report_queries import lowest_items

FAILED_ITEMS_PER_PROGRAM = 8  # traces kept per program page (pages stay small)


@dataclass
class ProgramInfo:
    """One program with its static-validation and test results (no source: see ``sources``)."""

    id: str
    name: str | None
    parents: list[str]
    iteration: int
    generation: int
    origin: str
    mutator: str | None
    commit_message: str
    gate_status: str
    gate_stage: str | None
    gate_message: str | None
    status: str
    val_score: float | None = None
    per_category: dict[str, float] = field(default_factory=dict)
    tokens_per_query: float | None = None
    calls_per_query: float | None = None
    test_score: float | None = None
    test_per_category: dict[str, float] = field(default_factory=dict)
    val_evaluation_id: int | None = None
    children: list[str] = field(default_factory=list)

    @property
    def short(self) -> str:
        return self.id[:8]

    @property
    def title(self) -> str:
        """Seed name, else the first line of the commit message."""
        return self.name or (self.commit_message.split("\n")[0] if self.commit_message else "")


@dataclass
class RunData:
    """The report model of one run (see the module contract)."""

    run_dir: Path
    campaign: dict[str, Any]
    config: dict[str, Any]
    status: dict[str, Any]
    programs: list[ProgramInfo]
    events: list[dict[str, Any]]
    category_names: dict[str, str]
    sources: dict[str, str] = field(default_factory=dict)
    evaluations: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    failed_items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def by_id(self) -> dict[str, ProgramInfo]:
        return {p.id: p for p in self.programs}

    @property
    def best(self) -> ProgramInfo | None:
        best_id = self.status.get("best_program")
        return self.by_id.get(best_id) if best_id else None

    @property
    def seeds(self) -> list[ProgramInfo]:
        return [p for p in self.programs if p.origin == "seed"]

    @property
    def cost_objective(self) -> str:
        return str(self.config.get("search", {}).get("cost_objective", "tokens"))

    def cost_of(self, program: ProgramInfo) -> float | None:
        """Cost per query under the campaign's cost objective (tokens or LLM calls)."""
        if self.cost_objective == "llm_calls":
            return program.calls_per_query
        return program.tokens_per_query

    def categories(self) -> list[str]:
        """Category keys seen in any evaluation, in natural order."""
        keys = {k for p in self.programs for k in p.per_category}
        return sorted(keys, key=lambda k: (not k.isdigit(), int(k) if k.isdigit() else 0, k))

    def category_label(self, key: str) -> str:
        name = self.category_names.get(key)
        return f"{key} {name}" if name else key


def category_names_for(task: str | None) -> dict[str, str]:
    """Human names of a task's numeric categories, when the task is a known one."""
    try:
        if task == "dialog-synth":
            from ..tasks.synth.dialog_synth import SYNTH_CATEGORIES

            return dict(SYNTH_CATEGORIES)
        if task == "locomo":
            from ..tasks.locomo import LOCOMO_CATEGORIES

            return dict(LOCOMO_CATEGORIES)
    except ImportError:  # pragma: no cover - both modules ship with evolve
        pass
    return {}


def _program_infos(programs: list[ProgramRecord]) -> list[ProgramInfo]:
    infos = []
    for r in programs:
        status = "gate_failed" if r.gate_status == "failed" else (r.gate_status or "-")
        infos.append(ProgramInfo(
            id=r.id, name=r.name, parents=list(r.parent_ids),
            iteration=int(r.iteration or 0), generation=int(r.generation or 0),
            origin=r.origin or "-", mutator=r.mutator,
            commit_message=r.commit_message or "", gate_status=r.gate_status or "-",
            gate_stage=r.gate_stage, gate_message=r.gate_message, status=status))
    return infos


# the evaluation fields the report pages read (an evaluation's row on its program page)
_EVALUATION_KEYS = ("id", "program_id", "split", "subset", "status", "score", "per_category",
                    "n_items", "llm_calls", "tokens_in", "tokens_out", "cost_usd",
                    "tokens_per_query", "calls_per_query", "sandbox_mode", "error", "duration_s",
                    "gate_stage")


def _attach_evaluations(store: LineageStore, programs: list[ProgramInfo]) -> dict[str, list]:
    """Fill static/test scores; returns every evaluation per program (id order)."""
    by_id = {p.id: p for p in programs}
    evaluations: dict[str, list[dict[str, Any]]] = {}
    for record in read_evaluations(store):
        row = {key: getattr(record, key) for key in _EVALUATION_KEYS}
        evaluations.setdefault(record.program_id, []).append(row)
        program = by_id.get(record.program_id)
        if program is None:
            continue
        if record.split == "static" and program.val_evaluation_id is None:
            program.val_evaluation_id = record.id
            if record.status == "gate_failed":
                program.status = "gate_failed"
                continue
            program.status = record.status or program.status
            program.val_score = record.score
            program.per_category = {str(k): float(v) for k, v in record.per_category.items()}
            program.tokens_per_query = record.tokens_per_query
            program.calls_per_query = record.calls_per_query
        elif record.split == "test" and program.test_score is None \
                and record.status != "gate_failed":
            program.test_score = record.score
            program.test_per_category = {str(k): float(v)
                                         for k, v in record.per_category.items()}
    for program in programs:
        for parent in program.parents[:1]:
            if parent in by_id:
                by_id[parent].children.append(program.id)
    return evaluations


def _failed_items(store: LineageStore, programs: list[ProgramInfo],
                  per_program: int) -> dict[str, list[dict[str, Any]]]:
    """Up to ``per_program`` lowest-scoring static items per program, with their traces."""
    ids = [p.val_evaluation_id for p in programs if p.val_evaluation_id is not None]
    owner = {p.val_evaluation_id: p.id for p in programs}
    out: dict[str, list[dict[str, Any]]] = {}
    for item in lowest_items(store, ids, per_program):
        trace = item.trace if item.trace is not None else {}
        row = {field.name: getattr(item, field.name) for field in dataclasses.fields(item)
               if field.name != "trace"}
        failed = out.setdefault(owner[item.evaluation_id], [])
        row["rank"] = len(failed) + 1
        row["query"] = trace.get("query") if isinstance(trace, dict) else None
        row["rationale"] = trace.get("rationale") if isinstance(trace, dict) else None
        failed.append(row)
    return out


def _with_defaults(config: dict[str, Any]) -> dict[str, Any]:
    """The recorded config over the defaults, so older or partial records still render."""
    from ..config.load import config_to_dict
    from ..config.sections import CampaignConfig

    merged = config_to_dict(CampaignConfig())
    for section, values in (config or {}).items():
        if isinstance(values, dict) and isinstance(merged.get(section), dict):
            merged[section].update(values)
        else:
            merged[section] = values
    return merged


def read_run(store: LineageStore, run_dir: Path, *, with_sources: bool = True,
             failed_per_program: int = FAILED_ITEMS_PER_PROGRAM) -> RunData:
    """The report model from an open (snapshot) store."""
    campaign = store.campaign() or {}
    config = _with_defaults(decode_json(campaign.get("config"), {}))
    campaign = dict(campaign)
    for key in ("task_args", "seeds", "versions"):
        campaign[key] = decode_json(campaign.get(key), {} if key != "seeds" else [])
    campaign.pop("subsets", None)  # large and not shown
    records = read_programs(store)
    programs = _program_infos(records)
    evaluations = _attach_evaluations(store, programs)
    events = [dataclasses.asdict(event) for event in read_events(store)]
    data = RunData(run_dir=Path(run_dir), campaign=campaign, config=config,
                   status=campaign_status(store), programs=programs, events=events,
                   category_names=category_names_for(campaign.get("task")),
                   evaluations=evaluations)
    if with_sources:
        data.sources = {record.id: record.source for record in records}
    data.failed_items = _failed_items(store, programs, failed_per_program)
    return data


_SNAPSHOT_PATH = re.compile(r"(/[^\s\"']*?evolve-snapshot-[A-Za-z0-9_]+)/")


def _one_line(run_dir: str | Path, exc: Exception) -> UsageError:
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    first = _SNAPSHOT_PATH.sub(str(Path(run_dir)) + "/", first)
    return UsageError(f"{run_dir}: the lineage database cannot be read: {first}")


def open_snapshot(run_dir: str | Path) -> LineageStore:
    """``open_run`` whose every failure (also inside a damaged database) is a one-line
    UsageError naming the run's database; ``store.close()`` deletes the snapshot again."""
    try:
        return open_run(run_dir)
    except UsageError:
        raise
    except Exception as exc:  # duckdb raises assorted errors for damaged files
        raise _one_line(run_dir, exc) from None


def load_run(run_dir: str | Path, **options: Any) -> RunData:
    """Open a snapshot of RUN_DIR, read the report model, clean the snapshot up."""
    store = open_snapshot(run_dir)
    try:
        return read_run(store, Path(run_dir), **options)
    except UsageError:
        raise
    except Exception as exc:  # a database that opens but is damaged inside
        raise _one_line(run_dir, exc) from None
    finally:
        with contextlib.suppress(Exception):
            store.close()
