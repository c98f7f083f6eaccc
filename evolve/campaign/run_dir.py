"""Opening a campaign's run directory, and creating a new one that is resumable at once.

A new run directory appears together with its campaign record or not at all: the database is
set up (schema, campaign row with the config, seed sources) in a hidden staging directory next
to it, which is then renamed into place, an atomic step. So a SIGKILL at any moment leaves
either no run directory (run the command again) or one that ``evolve resume`` continues; the
setup work that follows (data selection, seed evaluation) is redone or continued from the
record. A run directory that already exists (made by the user, or left by a campaign whose
setup was refused) gets its database in place, the record written right after the schema.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from ..errors import UsageError
from ..lineage import LineageStore, StoreError
from ..user_errors import describe

DB_NAME = "lineage.duckdb"
_STAGING = ".{name}.evolve-setup-"
_STALE_S = 600.0  # a staging dir is renamed within a second; older ones were interrupted


def open_store(run_dir: Path) -> LineageStore:
    """The read-write store of ``run_dir`` (created if missing), one line when it cannot be."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"run dir {run_dir} is not writable: {exc.strerror or exc}") from None
    try:
        return LineageStore(run_dir / DB_NAME)
    except StoreError as exc:
        message = str(exc)
        if "lock" in message.lower():
            message = f"run dir {run_dir} is in use by another evolve process"
        raise UsageError(message) from None


def already_holds(run_dir: Path) -> UsageError:
    return UsageError(f"{run_dir} already holds a campaign; use `evolve resume {run_dir}` or "
                      f"another --run-dir")


def create_run(run_dir: Path, campaign_id: str,
               record: Callable[[LineageStore], None]) -> LineageStore:
    """The store of a new campaign ``campaign_id`` whose record ``record(store)`` writes (in
    one transaction), published as described in the module docstring."""
    run_dir = Path(run_dir)
    staging = None if run_dir.exists() else _make_staging(run_dir)
    if staging is None:  # an existing directory (or a parent we cannot stage in)
        store = open_store(run_dir)
        if store.campaign() is not None:
            store.close()
            raise already_holds(run_dir)
        _write(store, record)
        return store
    try:
        store = LineageStore(staging / DB_NAME)
        _write(store, record)
        store.conn.execute("CHECKPOINT")  # everything in the file itself, nothing in a WAL
        store.close()
        try:
            os.rename(staging, run_dir)
        except OSError:  # another command created the run dir meanwhile
            raise already_holds(run_dir) from None
    except UsageError:
        raise
    except Exception as exc:
        # Nothing was published: name the run dir the user asked for (not the hidden staging
        # dir) and say that running the same command again is the way on (resume has nothing).
        reason = describe(exc)
        if reason is None:
            raise
        raise UsageError(f"cannot set up {run_dir}: {reason.split(': free some space')[0]}; "
                         "nothing was kept: fix that and run the same command again") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    store = open_store(run_dir)
    campaign = store.campaign()
    if campaign is None or campaign["id"] != campaign_id:
        store.close()
        raise already_holds(run_dir)
    return store


def _write(store: LineageStore, record: Callable[[LineageStore], None]) -> None:
    with store.transaction():
        record(store)


def _make_staging(run_dir: Path) -> Path | None:
    """A fresh staging directory next to ``run_dir`` (None when the parent is not writable);
    staging directories left by interrupted setups of the same run dir are removed."""
    parent = run_dir.parent
    prefix = _STAGING.format(name=run_dir.name)
    try:
        parent.mkdir(parents=True, exist_ok=True)
        for old in parent.glob(prefix + "*"):
            if time.time() - old.stat().st_mtime > _STALE_S:
                shutil.rmtree(old, ignore_errors=True)
        staging = parent / f"{prefix}{uuid.uuid4().hex[:8]}"
        staging.mkdir()  # (not mkdtemp: the run dir keeps the permissions umask gives)
        return staging
    except OSError:
        return None
