"""The lineage package is the one storage boundary: no SQL is written anywhere else in evolve/.

Every read of a run's database is a typed function of ``evolve.lineage`` (docs/architecture.md,
"The storage boundary"). The two documented exceptions hold SQL over other databases: the
LLM response cache's own SQLite file and DuckDB reading a user's parquet file.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import evolve

ROOT = Path(evolve.__file__).parent
EXCEPTIONS = {"llm/cache.py", "tasks/readers.py"}  # not the lineage database
# a statement keyword as SQL spells it (upper case), followed by what a statement has next
SQL = re.compile(r"\b(SELECT\s+(\*|[\w(])|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|"
                 r"DELETE\s+FROM)")


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    """Every string literal of a module with its line; an f-string as its text with each
    placeholder read as a name (``f"SELECT {columns} FROM t"`` is SQL too)."""
    inside_fstrings = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)
                       for part in node.values}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            found.append((node.lineno, "".join(
                part.value if isinstance(part, ast.Constant) else "x" for part in node.values)))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in inside_fstrings:
            found.append((node.lineno, node.value))
    return sorted(found)


def sql_outside_lineage(root: Path) -> list[str]:
    """``path:line: text`` of every SQL string literal under ``root`` outside the boundary."""
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if relative.startswith("lineage/") or relative in EXCEPTIONS:
            continue
        for line, text in _strings(ast.parse(path.read_text(encoding="utf-8"))):
            if SQL.search(text):
                found.append(f"{relative}:{line}: {text.strip()[:60]}")
    return found


def test_no_sql_is_written_outside_the_lineage_package():
    assert sql_outside_lineage(ROOT) == []


def test_the_check_sees_sql_in_plain_and_formatted_strings(tmp_path):
    (tmp_path / "lineage").mkdir()
    (tmp_path / "lineage" / "ok.py").write_text('Q = "SELECT id FROM programs"\n')
    (tmp_path / "llm").mkdir()
    (tmp_path / "llm" / "cache.py").write_text('Q = "SELECT key FROM chat"\n')
    (tmp_path / "report.py").write_text(
        'A = "select a parent, then UPDATE the pool"\n'  # prose, not SQL
        'def f(t, n):\n'
        '    return [f"SELECT {t} FROM x", "INSERT INTO events VALUES (?)",\n'
        '            f"DELETE FROM state WHERE n = {n}", "UPDATE programs SET x = 1"]\n')
    found = sql_outside_lineage(tmp_path)
    assert [entry.split(": ", 1)[0] for entry in found] == ["report.py:3"] * 2 + ["report.py:4"] * 2
    texts = " | ".join(found)
    assert all(sql in texts for sql in ("SELECT x FROM", "INSERT INTO events", "DELETE FROM",
                                        "UPDATE programs"))


def test_the_documented_exceptions_exist_and_still_hold_their_own_sql():
    for relative in EXCEPTIONS:  # a moved exception must be moved here too
        text = (ROOT / relative).read_text(encoding="utf-8")
        assert SQL.search(text), relative
