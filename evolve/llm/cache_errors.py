"""Why a response cache file cannot be used, in one line naming it (SQLite's own errors name
no file: ``file is not a database``, ``disk I/O error``)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from evolve.errors import UsageError

_ELSEWHERE = "or point --cache / models.cache elsewhere"


class CacheFileError(UsageError):
    """The cache file cannot be used (damaged, not a database, unwritable, disk full): one
    line naming the file and what to do; the CLI exits 2."""

    @classmethod
    def from_sqlite(cls, path: Path | None, exc: sqlite3.DatabaseError) -> CacheFileError:
        where = str(path) if path is not None else "in memory"
        text = str(exc)
        lowered = text.lower()
        if "full" in lowered or ("disk i/o" in lowered and _disk_is_full(path)):
            advice = f"no space left on its disk: free some space {_ELSEWHERE}"
        elif "disk i/o" in lowered:
            advice = f"the disk reported an I/O error: check it {_ELSEWHERE}"
        elif "locked" in lowered:
            advice = f"another process holds it locked: wait for it {_ELSEWHERE}"
        elif path is not None and path.is_dir():
            advice = "it is a directory: point --cache / models.cache at a file"
        elif "readonly" in lowered or "unable to open" in lowered:
            advice = f"make it and its directory writable {_ELSEWHERE}"
        else:  # "file is not a database", "database disk image is malformed", ...
            advice = f"delete or move it (cached responses are then fetched again) {_ELSEWHERE}"
        return cls(f"response cache {where}: {text}; {advice}")

    @classmethod
    def from_os(cls, path: Path | None, exc: OSError) -> CacheFileError:
        where = exc.filename or (path.parent if path is not None else "?")
        return cls(f"response cache {path}: cannot create {where}: {exc.strerror or exc}; "
                   f"{_ELSEWHERE.removeprefix('or ')}")


def _disk_is_full(path: Path | None) -> bool:
    """SQLite reports a WAL it cannot create on a full disk only as "disk I/O error"."""
    try:
        return path is not None and shutil.disk_usage(path.parent).free < (1 << 20)
    except OSError:
        return False
