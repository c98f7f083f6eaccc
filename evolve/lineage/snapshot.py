"""Consistent copies of a (possibly live) run's ``lineage.duckdb``.

A running campaign keeps its recent writes in ``lineage.duckdb.wal`` until DuckDB checkpoints
them into the main file, so copying ``lineage.duckdb`` alone gives a file without them (early in
a run: without any table). A copy therefore takes the file *and* its WAL, and is taken again
when a checkpoint moved data between the two while they were being copied (the main file
changed, or the WAL shrank). A WAL copied in the middle of an append ends in a torn record,
which DuckDB's replay drops, as after a crash: the copy is the run as of a moment.

``open_readonly`` opens such a copy in a private temporary directory (``evolve status`` and the
other readers); ``write_snapshot`` checkpoints one into a single self-contained file
(``evolve snapshot RUN_DIR OUT.duckdb``) that any DuckDB client can open.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from .schema import SCHEMA_VERSION
from .store import LineageStore, OlderSchema, StoreError

COPY_ATTEMPTS = 5


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_size, stat.st_mtime_ns


def copy_database(source: Path, target: Path) -> None:
    """Copy ``source`` and its WAL (if any) to ``target`` and ``target.wal``, retrying while a
    checkpoint of the live writer interferes. Raises ``OSError`` (unreadable, no room) and
    ``StoreError`` when the writer never let a clean copy happen."""
    for attempt in range(COPY_ATTEMPTS):
        before, wal_before = _stamp(source), _stamp(_wal(source))
        shutil.copy2(source, target)
        try:
            shutil.copy2(_wal(source), _wal(target))
        except FileNotFoundError:  # no WAL (a finished run), or checkpointed away just now
            _wal(target).unlink(missing_ok=True)
        wal_after = _stamp(_wal(source))
        wal_shrank = (wal_before is not None
                      and (wal_after is None or wal_after[0] < wal_before[0]))
        if _stamp(source) == before and not wal_shrank:
            return
        time.sleep(0.05 * (attempt + 1))  # a checkpoint is under way: let it finish
    raise StoreError(f"cannot snapshot {source}: the running campaign kept checkpointing it; "
                     "try again")


def _copy_failure(source: Path, snapshot_dir: Path, exc: OSError) -> str:
    """One line on why the snapshot copy of ``source`` into ``snapshot_dir`` failed."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return (f"cannot snapshot {source}: no space left in {snapshot_dir.parent} "
                "(free some space or set TMPDIR to a disk with room)")
    if exc.errno in (errno.EACCES, errno.EPERM) and str(exc.filename) == str(source):
        return f"cannot read {source}: permission denied (run as its owner or fix its mode)"
    where = exc.filename or source
    return f"cannot snapshot {source}: {where}: {exc.strerror or exc}"


def _copy_into_temp_dir(source: Path, parent: str | None, prefix: str) -> tuple[Path, Path]:
    """(temporary directory, copy of ``source`` in it); the directory is removed on failure."""
    try:
        snapshot_dir = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    except OSError as exc:
        raise StoreError(f"cannot snapshot {source}: no temporary directory in "
                         f"{parent or tempfile.gettempdir()} ({exc.strerror or exc})") from None
    target = snapshot_dir / source.name
    try:
        copy_database(source, target)
    except OSError as exc:  # unreadable run file, or no room for the copy: never leak the dir
        shutil.rmtree(snapshot_dir, ignore_errors=True)
        raise StoreError(_copy_failure(source, snapshot_dir, exc)) from None
    except BaseException:
        shutil.rmtree(snapshot_dir, ignore_errors=True)
        raise
    return snapshot_dir, target


def open_readonly(path: str | Path) -> LineageStore:
    """Open a snapshot copy of a (possibly live) run's database, never locking the original."""
    source = Path(path)
    if not source.is_file():
        raise StoreError(f"{source} does not exist")
    snapshot_dir, target = _copy_into_temp_dir(source, None, "evolve-snapshot-")
    try:
        try:
            store = LineageStore(target, read_only=True)
        except OlderSchema:
            # The copy is ours: a run of an older schema version is brought up to date in
            # the copy (never in the original), so readers see today's columns.
            LineageStore(target).close()
            store = LineageStore(target, read_only=True)
    except StoreError as exc:
        shutil.rmtree(snapshot_dir, ignore_errors=True)
        # name the run's database, not the temporary copy that no longer exists
        raise StoreError(str(exc).replace(str(target), str(source))) from None
    except Exception as exc:  # corrupted file: duckdb raises assorted errors
        shutil.rmtree(snapshot_dir, ignore_errors=True)
        raise StoreError(f"{source} is not a readable lineage database: {exc}") from None
    store._snapshot_dir = snapshot_dir  # removed again by close()
    return store


def write_snapshot(source: str | Path, out: str | Path) -> dict[str, int]:
    """Write a consistent, single-file copy of the lineage database ``source`` (live or not)
    to ``out``, which must not exist; returns row counts of the main tables.

    The copy is checkpointed in a temporary directory next to ``out`` (so the final rename is
    atomic and ``out`` never exists half-written) and needs no WAL.
    """
    source, out = Path(source), Path(out)
    snapshot_dir, target = _copy_into_temp_dir(source, str(out.parent), ".evolve-snapshot-")
    try:
        try:
            conn = duckdb.connect(str(target))
        except duckdb.Error as exc:
            raise StoreError(f"{source} is not a readable lineage database: "
                             f"{str(exc).splitlines()[0]}") from None
        try:
            try:
                version = conn.execute("SELECT max(version) FROM schema_version").fetchone()
            except duckdb.CatalogException:
                version = None
            if version is None or version[0] is None:  # created, schema not committed yet
                raise StoreError(f"{source} holds no evolve tables (yet: a campaign that is "
                                 "just starting? try again)")
            if version[0] != SCHEMA_VERSION:
                raise StoreError(f"{source} has schema version {version and version[0]}, "
                                 f"this evolve reads version {SCHEMA_VERSION}")
            counts = {table: int(conn.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])
                      for table in ("programs", "evaluations", "item_results", "llm_calls")}
            conn.execute("CHECKPOINT")  # the WAL's rows into the file itself
        except duckdb.Error as exc:
            raise StoreError(f"{source} is not a readable lineage database: "
                             f"{str(exc).splitlines()[0]}") from None
        finally:
            conn.close()
        leftover = _wal(target)
        if leftover.exists() and leftover.stat().st_size:  # never drop rows silently
            raise StoreError(f"cannot snapshot {source}: the checkpoint left rows in a WAL")
        leftover.unlink(missing_ok=True)
        os.replace(target, out)
    finally:
        shutil.rmtree(snapshot_dir, ignore_errors=True)
    return counts
