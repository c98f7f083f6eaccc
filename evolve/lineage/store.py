"""Read-write access to the lineage database, owned by the orchestrator process only.

DuckDB locks the file against every other process (readers included), so exactly one
connection writes: the campaign orchestrator. Workers return results to it. Each logical
step (a program with its gate outcome; an evaluation with its item results and LLM calls) is
written in one transaction, so a SIGKILL loses at most the step in progress, never half of it.
Readers of a finished (or live) run use ``snapshot.open_readonly``, which copies the file first.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb

from .schema import DDL, MIGRATIONS, SCHEMA_VERSION
from .writes import LoggedCall, NewEvaluation, NewProgram


class StoreError(Exception):
    """The database is missing, locked, corrupted or of an unknown schema version."""


class OlderSchema(StoreError):
    """Opened read-only, the database has an older schema version (``open_readonly`` migrates
    its private copy)."""


ITEM_COLUMNS = (
    ("evaluation_id", "BIGINT"), ("item_id", "VARCHAR"), ("group_id", "VARCHAR"),
    ("category", "VARCHAR"), ("question", "VARCHAR"), ("gold", "VARCHAR"), ("answer", "VARCHAR"),
    ("retrieved", "VARCHAR"), ("score", "DOUBLE"), ("error", "VARCHAR"), ("trace", "VARCHAR"),
)
CALL_COLUMNS = (
    ("campaign_id", "VARCHAR"), ("evaluation_id", "BIGINT"), ("program_id", "VARCHAR"),
    ("role", "VARCHAR"), ("model", "VARCHAR"), ("kind", "VARCHAR"), ("tokens_in", "BIGINT"),
    ("tokens_out", "BIGINT"), ("cost_usd", "DOUBLE"), ("latency_s", "DOUBLE"),
    ("cached", "BOOLEAN"), ("error", "VARCHAR"), ("retries", "INTEGER"),
    ("retry_errors", "VARCHAR"), ("truncated", "BOOLEAN"),
)
# DuckDB caches every block it has read or written until its memory limit (80% of RAM by
# default), so a campaign's orchestrator grew by ~0.2-0.3 MB per iteration as the database
# grew. The writer needs little: its queries read a few columns and one evaluation's traces.
# At this limit DuckDB evicts cached blocks instead (bench/memory_growth.py); nothing spills.
WRITER_MEMORY_LIMIT = "32MB"
# The limit bounds DuckDB's cache, not the work: a transaction's uncommitted rows and a query's
# result stay pinned until COMMIT / fetch, so under 32 MB one evaluation of ~600 LoCoMo items
# with their traces failed to insert, and reading their traces back failed too
# (OutOfMemoryException: the evaluation lost). A write of more than this many bytes of values,
# and a read that ran out of memory (run again), get DuckDB's default limit for that statement
# or transaction alone; the writer's limit applies again afterwards.
LARGE_WRITE_BYTES = 4 * 2**20
TX_DEPTH = "_tx_depth"  # the store attribute counting open ``transaction()`` levels
_COERCE: dict[str, Any] = {"VARCHAR": str, "BIGINT": int, "INTEGER": int, "DOUBLE": float,
                           "BOOLEAN": bool}


def _row_bytes(row: tuple[Any, ...]) -> int:
    """Rough size of a row's values (strings by length, anything else 8 bytes)."""
    return sum(len(v) if isinstance(v, str) else 8 for v in row)


def _coerce(value: Any, kind: str) -> Any:
    return None if value is None else _COERCE[kind](value)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str)


def decode_json(value: Any, default: Any) -> Any:
    """A JSON column as Python data (``default`` when NULL or unreadable; parsed values pass)."""
    if value is None:
        return default
    if isinstance(value, (dict, list)):
        return value
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return default


def _open_failure(path: Path, exc: Exception) -> str:
    """One line on why DuckDB could not open ``path``, with what the user can do about it."""
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    lowered = first.lower()
    if "permission denied" in lowered:
        advice = "run as the file's owner or fix its permissions"
    elif "no space left" in lowered:
        advice = "free some space on its disk"
    elif "lock" in lowered:
        advice = "another process (a running campaign?) holds it; wait for it or stop it"
    else:
        advice = "the file is damaged: restore it from a copy, or start over in a new run dir"
    return f"cannot open lineage database {path}: {first} ({advice})"


class LineageStore:
    """The single writer of one run directory's ``lineage.duckdb``."""

    # set by ``snapshot.open_readonly`` on a store over a temporary copy: close() removes it
    _snapshot_dir: Path | None = None

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        try:
            self.conn = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.Error as exc:
            raise StoreError(_open_failure(self.path, exc)) from None
        self._lock = threading.RLock()
        try:
            if not read_only:
                self.conn.execute(f"SET memory_limit = '{WRITER_MEMORY_LIMIT}'")
                self._migrate()
            self._check_version()
        except BaseException:
            self.conn.close()  # a refused file must not stay open (and locked) in this process
            raise

    def reopen(self) -> None:
        """Close the connection and open it again, between transactions.

        For as long as a connection lives, DuckDB keeps bookkeeping of every replaced or
        updated row outside its memory limit (~1.6 KB per ``INSERT OR REPLACE`` of the same
        row, measured), so a campaign's writer grows with every iteration it records; a
        fresh connection starts from what is on disk. Closing checkpoints the write-ahead log.
        """
        with self._lock:
            if getattr(self, "_tx_depth", 0):
                raise RuntimeError("cannot reopen the lineage store inside a transaction")
            self.conn.close()
            try:
                self.conn = duckdb.connect(str(self.path))
            except duckdb.Error as exc:
                raise StoreError(f"cannot reopen lineage database {self.path}: "
                                 f"{str(exc).splitlines()[0]}") from None
            self.conn.execute(f"SET memory_limit = '{WRITER_MEMORY_LIMIT}'")

    # -- setup ---------------------------------------------------------------------------
    def _migrate(self) -> None:
        """Create the tables, or bring a database of an older schema version up to date."""
        with self._lock:
            try:
                row = self.conn.execute("SELECT max(version) FROM schema_version").fetchone()
                found = int(row[0]) if row and row[0] is not None else 0
            except duckdb.Error:
                found = 0  # a new database (or not ours: _check_version says so)
            if found > SCHEMA_VERSION:
                return  # written by a newer evolve: _check_version refuses it, untouched
            with self.transaction():
                self.conn.execute(DDL)
                for version in range(found + 1, SCHEMA_VERSION + 1):
                    for statement in MIGRATIONS.get(version, ()):
                        self.conn.execute(statement)
                    self.conn.execute("INSERT INTO schema_version (version) SELECT ? WHERE NOT "
                                      "EXISTS (SELECT 1 FROM schema_version WHERE version = ?)",
                                      [version, version])

    def _check_version(self) -> None:
        try:
            row = self.conn.execute("SELECT max(version) FROM schema_version").fetchone()
        except duckdb.Error:
            raise StoreError(f"{self.path} is not an evolve lineage database") from None
        if row is not None and row[0] is not None and row[0] < SCHEMA_VERSION:
            raise OlderSchema(f"{self.path} has schema version {row[0]}, this evolve reads "
                              f"version {SCHEMA_VERSION} (opened read-only: not migrated)")
        if row is None or row[0] != SCHEMA_VERSION:
            raise StoreError(f"{self.path} has schema version {row and row[0]}, "
                             f"this evolve reads version {SCHEMA_VERSION}")

    def close(self) -> None:
        with self._lock:
            self.conn.close()
        snapshot_dir = getattr(self, "_snapshot_dir", None)
        if snapshot_dir is not None:
            shutil.rmtree(snapshot_dir, ignore_errors=True)

    def __enter__(self) -> LineageStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- generic helpers -----------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Rows of any SQL over the database: the documented raw-query helper for the recipes
        in docs/lineage.md. evolve's own reads go through the typed readers of ``records``,
        ``queries``, ``pool_queries`` and ``report_queries`` instead."""
        with self._lock:
            return self._fetch(sql, params)[1]

    def query_dicts(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """``query`` with each row as a ``{column: value}`` dict (raw-query helper, as above)."""
        with self._lock:
            names, rows = self._fetch(sql, params)
            return [dict(zip(names, row, strict=True)) for row in rows]

    def transaction(self) -> _Transaction:
        return _Transaction(self)

    # -- campaigns -----------------------------------------------------------------------
    def add_campaign(self, campaign_id: str, *, name: str | None = None,
                     task: str | None = None, task_args: dict[str, Any] | None = None,
                     protocol: str | None = None, config: dict[str, Any] | None = None,
                     seeds: Sequence[str] | None = None, subsets: dict[str, Any] | None = None,
                     versions: dict[str, str] | None = None,
                     rng_seed: int | None = None) -> None:
        """Insert the campaign's record (JSON columns given as Python data)."""
        with self._lock:
            self.conn.execute(
                "INSERT INTO campaigns (id, name, task, task_args, protocol, config, seeds, "
                "subsets, versions, rng_seed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [campaign_id, name, task, _json(task_args), protocol, _json(config),
                 _json(None if seeds is None else list(seeds)), _json(subsets),
                 _json(versions), rng_seed])

    def set_campaign_config(self, campaign_id: str, config: dict[str, Any]) -> None:
        """Replace the recorded config (a resume that changed execution settings only)."""
        with self._lock:
            self.conn.execute("UPDATE campaigns SET config = ? WHERE id = ?",
                              [_json(config), campaign_id])

    def set_campaign_subsets(self, campaign_id: str, subsets: dict[str, Any]) -> None:
        """Record the campaign's data subsets (chosen after the record was created)."""
        with self._lock:
            self.conn.execute("UPDATE campaigns SET subsets = ? WHERE id = ?",
                              [_json(subsets), campaign_id])

    def forget_campaign(self, campaign_id: str) -> None:
        """Remove a campaign whose setup was refused before any work (its row and state)."""
        with self._lock, self.transaction():
            self.conn.execute("DELETE FROM state WHERE campaign_id = ?", [campaign_id])
            self.conn.execute("DELETE FROM campaigns WHERE id = ?", [campaign_id])

    def finish_campaign(self, campaign_id: str, stop_reason: str) -> None:
        with self._lock:
            self.conn.execute("UPDATE campaigns SET finished_at = current_timestamp, "
                              "stop_reason = ? WHERE id = ?", [stop_reason, campaign_id])

    def campaign(self) -> dict[str, Any] | None:
        rows = self.query_dicts("SELECT * FROM campaigns ORDER BY started_at LIMIT 1")
        return rows[0] if rows else None

    # -- programs ------------------------------------------------------------------------
    def add_program(self, program: NewProgram) -> None:
        """Insert a program once (the id is the sha256 of its source; a second insert of the
        same id changes nothing)."""
        with self._lock:
            self.conn.execute(
                "INSERT INTO programs (id, campaign_id, name, source, parent_ids, generation, "
                "iteration, origin, mutator, commit_message, gate_status, gate_stage, "
                "gate_message, design) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO NOTHING",
                [program.id, program.campaign_id, program.name, program.source,
                 list(program.parent_ids), program.generation, program.iteration,
                 program.origin, program.mutator, program.commit_message, program.gate_status,
                 program.gate_stage, program.gate_message, _json(program.design)])

    def set_gate(self, program_id: str, status: str, stage: str | None = None,
                 message: str | None = None) -> None:
        with self._lock:
            self.conn.execute("UPDATE programs SET gate_status = ?, gate_stage = ?, "
                              "gate_message = ? WHERE id = ?", [status, stage, message, program_id])

    # -- evaluations ---------------------------------------------------------------------
    def add_evaluation(self, campaign_id: str, program_id: str, split: str, subset: str,
                       evaluation: NewEvaluation) -> int:
        """Write an evaluation, its item results and its model calls in one transaction;
        the new evaluation's id."""
        e = evaluation
        items = [(i.item_id, i.group_id, i.category, i.question, i.gold, i.answer, i.retrieved,
                  i.score, i.error, _json(i.trace)) for i in e.items]
        large = sum(map(_row_bytes, items)) > LARGE_WRITE_BYTES
        with self._lock, self._roomy(large), self.transaction():
            row = self.conn.execute(
                "INSERT INTO evaluations (campaign_id, program_id, split, subset, status, score, "
                "per_category, n_items, llm_calls, tokens_in, tokens_out, cost_usd, "
                "tokens_per_query, calls_per_query, sandbox_mode, error, duration_s, "
                "write_example, gate_stage, failed_items, skipped_episodes, "
                "extraction_failures, query_fallbacks, coercions, episode_notes) "
                f"VALUES ({', '.join('?' * 25)}) RETURNING id",
                [campaign_id, program_id, split, subset, e.status, e.score,
                 _json(e.per_category), e.n_items, e.llm_calls, e.tokens_in, e.tokens_out,
                 e.cost_usd, e.tokens_per_query, e.calls_per_query, e.sandbox_mode, e.error,
                 e.duration_s, _json(e.write_example), e.gate_stage, e.failed_items,
                 e.skipped_episodes, e.extraction_failures, e.query_fallbacks, e.coercions,
                 _json(list(e.episode_notes))],
            ).fetchone()
            assert row is not None  # INSERT ... RETURNING gives one row
            (evaluation_id,) = row
            rows = [(evaluation_id, *item) for item in items]
            self._insert_rows("item_results", ITEM_COLUMNS, rows)
            self._insert_calls(campaign_id, evaluation_id, program_id, e.calls)
        return int(evaluation_id)

    @contextlib.contextmanager
    def _roomy(self, needed: bool = True) -> Iterator[None]:
        """DuckDB's default memory limit for the enclosed statements (when ``needed``); the
        writer's own limit again afterwards (see ``LARGE_WRITE_BYTES``)."""
        if not needed or self.read_only:
            yield
            return
        self.conn.execute("RESET memory_limit")
        try:
            yield
        finally:
            self.conn.execute(f"SET memory_limit = '{WRITER_MEMORY_LIMIT}'")

    def _fetch(self, sql: str, params: Sequence[Any]) -> tuple[list[str], list[tuple]]:
        """Column names and rows of a read; run once more under the default limit when the
        writer's limit is too small for its result. (Rows are fetched before the limit is set
        back: any statement on the connection discards a pending result.)"""
        try:
            return self._run_and_fetch(sql, params)
        except duckdb.OutOfMemoryException:
            in_transaction = int(getattr(self, TX_DEPTH, 0)) > 0
            if self.read_only or in_transaction:
                raise  # no limit of ours to lift, or a transaction the failure has aborted
            with self._roomy():
                return self._run_and_fetch(sql, params)

    def _run_and_fetch(self, sql: str, params: Sequence[Any]) -> tuple[list[str], list[tuple]]:
        cursor = self.conn.execute(sql, list(params))
        names = [d[0] for d in cursor.description] if cursor.description else []
        return names, cursor.fetchall()

    def add_calls(self, campaign_id: str, calls: Iterable[LoggedCall],
                  program_id: str | None = None) -> None:
        """Model calls made outside an evaluation (meta-agent, repairs)."""
        with self._lock, self.transaction():
            self._insert_calls(campaign_id, None, program_id, calls)

    def _insert_calls(self, campaign_id: str, evaluation_id: int | None,
                      program_id: str | None, calls: Iterable[LoggedCall]) -> None:
        rows = [(campaign_id, evaluation_id, program_id, c.role, c.model, c.kind, c.tokens_in,
                 c.tokens_out, c.cost_usd, c.latency_s, c.cached, c.error, c.retries,
                 c.retry_errors, bool(c.truncated)) for c in calls]
        self._insert_rows("llm_calls", CALL_COLUMNS, rows)

    def _insert_rows(self, table: str, columns: tuple[tuple[str, str], ...],
                     rows: list[tuple[Any, ...]]) -> None:
        """Insert ``rows`` (values in ``columns`` order) into ``table`` in one statement.

        The values go in as one typed list per column, unnested by DuckDB: a long ``VALUES``
        list is planned expression by expression, and a 50-call evaluation took ~14 ms to
        store that way against ~4 ms as lists (``executemany``, one statement per row, is
        slower still). Each value is first coerced to its column's type, so a list never mixes
        Python types; row order is kept (readers order item results by rowid).
        """
        if not rows:
            return
        by_column = list(zip(*rows, strict=True))
        names = ", ".join(name for name, _ in columns)
        select = ", ".join(f"unnest(${i}::{kind}[])" for i, (_, kind) in enumerate(columns, 1))
        self.conn.execute(f"INSERT INTO {table} ({names}) SELECT {select}",
                          [[_coerce(value, kind) for value in values]
                           for values, (_, kind) in zip(by_column, columns, strict=True)])

    # -- events and state ----------------------------------------------------------------
    def add_event(self, campaign_id: str, kind: str, message: str, *, iteration: int | None = None,
                  program_id: str | None = None, data: Any = None) -> None:
        with self._lock:
            self.conn.execute(
                "INSERT INTO events (campaign_id, iteration, kind, program_id, message, data) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [campaign_id, iteration, kind, program_id, message, _json(data)])

    def set_state(self, campaign_id: str, key: str, value: Any) -> None:
        with self._lock:
            self.conn.execute("INSERT OR REPLACE INTO state VALUES (?, ?, ?)",
                              [campaign_id, key, _json(value)])

    def get_state(self, campaign_id: str, key: str, default: Any = None) -> Any:
        rows = self.query("SELECT value FROM state WHERE campaign_id = ? AND key = ?",
                          [campaign_id, key])
        return json.loads(rows[0][0]) if rows and rows[0][0] is not None else default


class _Transaction:
    """``with store.transaction():`` BEGIN ... COMMIT, ROLLBACK on error (re-entrant)."""

    def __init__(self, store: LineageStore) -> None:
        self._store = store
        self._depth_key = TX_DEPTH

    def __enter__(self) -> _Transaction:
        depth = getattr(self._store, self._depth_key, 0)
        if depth == 0:
            self._store.conn.execute("BEGIN TRANSACTION")
        setattr(self._store, self._depth_key, depth + 1)
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        depth = getattr(self._store, self._depth_key) - 1
        setattr(self._store, self._depth_key, depth)
        if depth == 0:
            self._store.conn.execute("ROLLBACK" if exc_type else "COMMIT")
