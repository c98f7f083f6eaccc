"""Read a run from Python (``evolve.open_run``): typed, read-only records of its campaign.

``open_run(run_dir)`` reads a snapshot of the run's database, so it works on a finished
campaign and on one still running (it never locks it), and nothing done through the handle
can change the run. Records are frozen dataclasses (``evolve.lineage.records``); ``query``
stays for raw SQL (the recipes of docs/lineage.md).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .config.sections import CampaignConfig
from .lineage import LineageStore
from .lineage.records import (
    CampaignRecord,
    EvaluationRecord,
    EventRecord,
    ItemRecord,
    ProgramRecord,
    read_campaign,
    read_evaluations,
    read_events,
    read_items,
    read_program,
    read_programs,
)


class Run:
    """A run directory's campaign, programs, evaluations, item results and events."""

    def __init__(self, store: LineageStore, run_dir: Path) -> None:
        self._store = store
        self.run_dir = run_dir
        campaign = read_campaign(store)
        assert campaign is not None  # open_run refuses a database without one
        self.campaign: CampaignRecord = campaign

    # -- records -------------------------------------------------------------------------
    @property
    def config(self) -> CampaignConfig:
        """The campaign's config as recorded (validated again, so it is a full config)."""
        from .config.load import config_from_dict

        return config_from_dict(self.campaign.config)

    @property
    def finished(self) -> bool:
        return self.campaign.finished_at is not None

    def programs(self, *, origin: str | None = None,
                 gate_status: str | None = None) -> list[ProgramRecord]:
        """Every program proposed, oldest first; ``origin`` (seed | mutation | crossover |
        repair) and ``gate_status`` (passed | failed | error | pending) filter."""
        return read_programs(self._store, origin=origin, gate_status=gate_status)

    def program(self, id_or_prefix: str) -> ProgramRecord:
        """The program whose id starts with ``id_or_prefix`` (UsageError: none or several)."""
        from .lineage.queries import resolve_program_id

        record = read_program(self._store, resolve_program_id(self._store, id_or_prefix))
        assert record is not None
        return record

    def evaluations(self, program_id: str | None = None, *,
                    split: str | None = None) -> list[EvaluationRecord]:
        """Evaluations as stored, optionally of one program and one split (``static``: the
        fixed validation set programs are ranked on; ``reflect``; ``test``)."""
        return read_evaluations(self._store, program_id=program_id, split=split)

    def items(self, evaluation: EvaluationRecord | int) -> list[ItemRecord]:
        """The per-item results of one evaluation, in dataset order."""
        evaluation_id = evaluation if isinstance(evaluation, int) else evaluation.id
        return read_items(self._store, evaluation_id)

    def events(self, kind: str | None = None) -> list[EventRecord]:
        return read_events(self._store, kind=kind)

    def best(self) -> ProgramRecord | None:
        """The best program on the static validation set, as the campaign reports it (the
        oldest among ties; None when no program joined the pool)."""
        from .campaign.pool import pool_entries

        pool = pool_entries(self._store, self.campaign.id, 10**9)
        if not pool:
            return None
        return self.program(max(pool, key=lambda entry: entry.score).program_id)

    def score(self, program: ProgramRecord | str, split: str = "static") -> float | None:
        """``program``'s score on ``split`` (None when it was not evaluated there)."""
        program_id = program if isinstance(program, str) else program.id
        found = [e for e in self.evaluations(program_id, split=split) if e.score is not None]
        return found[0].score if found else None

    def query(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """Raw SQL on the snapshot (tables: docs/lineage.md), one dict per row."""
        return self._store.query_dicts(sql, params)

    # -- lifetime ------------------------------------------------------------------------
    def close(self) -> None:
        """Drop the snapshot (records already read stay usable)."""
        self._store.close()

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "finished" if self.finished else "unfinished"
        return f"Run({str(self.run_dir)!r}, campaign={self.campaign.id!r}, {state})"


def open_run(run_dir: str | os.PathLike[str]) -> Run:
    """A read-only handle on RUN_DIR (UsageError: not a run directory). Close it, or use it
    in a ``with`` block."""
    from .lineage.queries import open_run as open_snapshot

    if not isinstance(run_dir, (str, os.PathLike)):
        raise TypeError(f"open_run takes a run directory, got {type(run_dir).__name__}")
    path = Path(run_dir)
    return Run(open_snapshot(path), path)
