"""Conditions of the machine, not bugs of evolve: a full disk, a file we may not touch, a
damaged database file. The CLI's last-resort handler asks ``describe`` for one line telling the
user what to fix (exit 2) and reports only what is left as an internal error (exit 1).

The places that open files name them where they can (the response cache, the lineage store,
snapshots); this module is the net under everything else, e.g. a DuckDB commit that fails
halfway through a campaign because the disk filled up.
"""

from __future__ import annotations

import errno
import re
import sqlite3
from collections.abc import Iterator

# DuckDB puts the OS error text inside its own message: 'Could not write file "X": No space...'
_QUOTED_FILE = re.compile(r'file "([^"]+)"')
_ENOSPC_TEXT = ("no space left on device", "database or disk is full")
_DAMAGED_TEXT = ("file is not a database", "database disk image is malformed",
                 "not a valid duckdb database file")

FULL_DISK_HINT = ("free some space or write to another disk, then retry (an interrupted "
                  "campaign continues with `evolve resume RUN_DIR`)")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the exceptions it was raised from or while handling (each once)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _file_of(exc: BaseException) -> str | None:
    if isinstance(exc, OSError) and exc.filename:
        return str(exc.filename)
    match = _QUOTED_FILE.search(str(exc))
    return match.group(1) if match else None


def _describe_one(exc: BaseException) -> str | None:
    text = str(exc).lower()
    where = _file_of(exc)
    at = f" ({where})" if where else ""
    if (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or \
            any(t in text for t in _ENOSPC_TEXT):
        return f"no space left on device{at}: {FULL_DISK_HINT}"
    if isinstance(exc, OSError) and exc.errno == errno.EROFS:
        return f"read-only file system{at}: write to a writable directory instead"
    if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied{at}: fix the file's permissions or use another path"
    if isinstance(exc, OSError) and exc.errno == errno.EDQUOT:
        return f"disk quota exceeded{at}: {FULL_DISK_HINT}"
    if isinstance(exc, sqlite3.DatabaseError) and any(t in text for t in _DAMAGED_TEXT):
        return (f"a SQLite file is damaged ({exc}){at}: delete or move the response cache "
                "(RUN_DIR/cache.sqlite or ~/.cache/evolve/responses.sqlite) and retry")
    return None


def describe(exc: BaseException) -> str | None:
    """One line for the user when ``exc`` (or what it was raised from) is a condition they
    can fix; None for anything else (a real bug, reported as an internal error)."""
    for link in _chain(exc):
        message = _describe_one(link)
        if message is not None:
            return message
    return None
