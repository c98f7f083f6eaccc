"""Record readers shared by the file-based tasks: JSON lines, a JSON list, or Parquet.

``read_records(path)`` returns ``[(where, value)]``, ``where`` naming the file and the line,
entry or row, so each task's field checks can say exactly which record is wrong. Used by the
``jsonl`` task and by the rubric tasks' loaders (HealthBench, PRBench).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import UsageError


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, expected a file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read ({type(exc).__name__}: {exc})") from None


def read_jsonl(path: str | Path) -> list[tuple[str, Any]]:
    """``[(where, value)]`` for every non-blank line; ``where`` is ``"file:line"``."""
    file = Path(path)
    out: list[tuple[str, Any]] = []
    for number, line in enumerate(_read_text(file).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{file}:{number}: not valid JSON ({exc.msg} at column "
                             f"{exc.colno})") from None
        out.append((f"{file}:{number}", value))
    if not out:
        raise UsageError(f"{file}: the file is empty (expected one JSON object per line)")
    return out


def _read_json_list(file: Path) -> list[tuple[str, Any]]:
    try:
        data = json.loads(_read_text(file))
    except json.JSONDecodeError as exc:
        raise UsageError(f"{file}:{exc.lineno}: not valid JSON ({exc.msg} at column "
                         f"{exc.colno})") from None
    if not isinstance(data, list):
        raise UsageError(f"{file}: expected a JSON list of objects, got {type(data).__name__}")
    if not data:
        raise UsageError(f"{file}: the file holds no records")
    return [(f"{file}: entry {i}", value) for i, value in enumerate(data)]


def _read_parquet(file: Path) -> list[tuple[str, Any]]:
    if not file.is_file():
        raise UsageError(f"{file}: file not found")
    import duckdb  # a dependency already; reads Parquet without pyarrow

    try:
        conn = duckdb.connect()
        try:
            cursor = conn.execute("SELECT * FROM read_parquet(?)", [str(file)])
            names = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
        finally:
            conn.close()
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"{file}: cannot read Parquet ({first})") from None
    if not rows:
        raise UsageError(f"{file}: the file holds no records")
    return [(f"{file}: row {i}", dict(zip(names, row, strict=True))) for i, row in enumerate(rows)]


def read_records(path: str | Path) -> list[tuple[str, Any]]:
    """Records of a ``.jsonl``/``.ndjson``, ``.json`` (a list) or ``.parquet`` file."""
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix == ".parquet":
        return _read_parquet(file)
    if suffix == ".json":
        return _read_json_list(file)
    return read_jsonl(file)
