"""Cross-task transfer: the best program of each run evaluated on every run's task.

Contract of ``transfer_matrix(run_dirs)``: for runs R1..Rn, cell (i, j) is the score of Ri's best
program (by static validation) on Rj's task, built from Rj's campaign record (task name and
arguments) and evaluated on **Rj's held-out test subset as recorded in its campaign** (the
static validation subset when the run has no test items), with a model hub built from Rj's
model settings (the task agent of the column's campaign; offline runs: offline). The diagonal is
each run's own test score. A cell whose evaluation Rj's database already holds (same program,
same subset) is read back instead of run again (``reused``). Runs are read from snapshots.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..lineage.queries import campaign_status
from ..lineage.records import EvaluationRecord, program_source, read_evaluations
from .data import open_snapshot


@dataclass
class RunTask:
    """One run as the transfer matrix sees it: its best program and its task."""

    run_dir: Path
    name: str
    task: str
    task_args: dict[str, str]
    config: dict[str, Any]
    subsets: dict[str, Any]
    best_id: str
    best_source: str
    stored: dict[tuple[str, str], EvaluationRecord] = field(default_factory=dict)

    @property
    def label(self) -> str:
        args = ",".join(f"{k}={v}" for k, v in self.task_args.items())
        return f"{self.name} ({self.task}{' ' + args if args else ''})"

    @property
    def split(self) -> str:
        """'test' (recorded held-out items) or 'static' when the run has no test items."""
        return "test" if self.subsets.get("test_items") else "static"


@dataclass
class Cell:
    score: float | None
    status: str
    n_items: int
    reused: bool
    error: str | None = None


def load_run_task(run_dir: str | Path) -> RunTask:
    """Read a run's campaign record, best program and stored evaluations (snapshot)."""
    store = open_snapshot(run_dir)
    try:
        campaign = store.campaign() or {}
        best = campaign_status(store).get("best_program")
        if not best:
            raise UsageError(f"{run_dir}: the run has no evaluated program yet")
        source = program_source(store, best)
        stored: dict[tuple[str, str], EvaluationRecord] = {}
        for record in read_evaluations(store):
            if record.split in ("test", "static"):
                stored.setdefault((record.program_id, record.subset), record)
        return RunTask(run_dir=Path(run_dir), name=campaign.get("name") or Path(run_dir).name,
                       task=campaign.get("task") or "",
                       task_args={k: str(v) for k, v in
                                  json.loads(campaign.get("task_args") or "{}").items()},
                       config=json.loads(campaign.get("config") or "{}"),
                       subsets=json.loads(campaign.get("subsets") or "{}"), best_id=best,
                       best_source=source, stored=stored)
    finally:
        with contextlib.suppress(Exception):
            store.close()


def _column(run: RunTask, cache_dir: Path) -> tuple[Any, Any, Any, str]:
    """(subset task, hub, eval settings, subset key) of a run's task, as its campaign had it."""
    from ..campaign.setup import CampaignData, build_subset_task
    from ..config.load import config_from_dict
    from ..evaluation.evaluate import EvalSettings
    from ..evaluation.records import subset_key
    from ..jail import SandboxLimits
    from ..llm.hub_setup import build_campaign_hub
    from ..tasks.registry import make_task

    config = config_from_dict(run.config)
    task = make_task(run.task, run.task_args)
    subset_task, items = build_subset_task(task, CampaignData.from_record(run.subsets))
    models = config.models
    remote = any(name not in ("", "offline") for name in
                 (models.task, models.toolkit, models.judge))
    # Remote models: reuse the run's response cache (replays cost nothing); offline: a
    # throw-away cache, so nothing is written into the run directory.
    hub = build_campaign_hub(config, run.run_dir if remote else cache_dir)
    limits = SandboxLimits(call_timeout_s=config.sandbox.call_timeout_s,
                           read_char_cap=config.sandbox.read_char_cap,
                           llm_budget_per_call=config.sandbox.llm_budget_per_call)
    settings = EvalSettings(split=run.split, limits=limits, sandbox_mode=config.sandbox.mode,
                            concurrency=models.concurrency,
                            max_failed_share=config.data.max_failed_share)
    return subset_task, hub, settings, subset_key(run.split, items[run.split])


def transfer_matrix(run_dirs: list[str | Path], *, reuse: bool = True,
                    progress: Any = None) -> tuple[list[RunTask], list[list[Cell]]]:
    """(runs, matrix[row][column]) as described in the module contract."""
    from ..evaluation.evaluate import evaluate_program

    if len(run_dirs) < 2:
        raise UsageError("transfer needs at least two run directories")
    runs = [load_run_task(d) for d in run_dirs]
    matrix = [[Cell(None, "pending", 0, False) for _ in runs] for _ in runs]
    with tempfile.TemporaryDirectory(prefix="evolve-transfer-") as tmp:
        for j, column in enumerate(runs):
            (Path(tmp) / str(j)).mkdir(parents=True, exist_ok=True)
            subset_task, hub, settings, key = _column(column, Path(tmp) / str(j))
            for i, row in enumerate(runs):
                found = column.stored.get((row.best_id, key)) if reuse else None
                if found is not None and found.status != "gate_failed":
                    matrix[i][j] = Cell(found.score, found.status, int(found.n_items or 0),
                                        True)
                    continue
                if progress:
                    progress(f"evaluating {row.name}'s best on {column.label} ...")
                result = evaluate_program(row.best_source, subset_task, hub, settings)
                score = 0.0 if result.status == "runtime_violation" else result.score
                matrix[i][j] = Cell(score, result.status, result.n_items, False, result.error)
    return runs, matrix


def format_matrix(runs: list[RunTask], matrix: list[list[Cell]]) -> str:
    """The matrix as a text table (rows: programs, columns: tasks; * = stored score reused)."""
    head = [f"T{j + 1}" for j in range(len(runs))]
    lines = ["transfer matrix: score of each run's best program (rows) on each run's task "
             "(columns); diagonal = own score", ""]
    for j, run in enumerate(runs):
        lines.append(f"  T{j + 1} = task of {run.label}, {run.split} subset, "
                     f"{_n(matrix, j)} items")
    lines.append("")
    width = max(len(f"P{i + 1} {r.best_id[:8]} ({r.name})") for i, r in enumerate(runs)) + 2
    lines.append(" " * width + "".join(f"{h:>10}" for h in head))
    for i, run in enumerate(runs):
        label = f"P{i + 1} {run.best_id[:8]} ({run.name})"
        cells = []
        for cell in matrix[i]:
            text = "-" if cell.score is None else f"{cell.score:.3f}"
            if cell.status not in ("ok",):
                text += "!"
            cells.append(f"{text + ('*' if cell.reused else ' '):>10}")
        lines.append(f"{label:<{width}}" + "".join(cells))
    lines += ["", "* stored evaluation reused   ! status not ok (see --json)"]
    return "\n".join(lines)


def _n(matrix: list[list[Cell]], column: int) -> int:
    return max((row[column].n_items for row in matrix), default=0)


def matrix_json(runs: list[RunTask], matrix: list[list[Cell]]) -> dict[str, Any]:
    return {
        "runs": [{"run_dir": str(r.run_dir), "name": r.name, "task": r.task,
                  "task_args": r.task_args, "best_program": r.best_id, "split": r.split}
                 for r in runs],
        "matrix": [[{"score": c.score, "status": c.status, "n_items": c.n_items,
                     "reused": c.reused, "error": c.error} for c in row] for row in matrix],
    }
