"""The family tree of a campaign as text (``evolve lineage``)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any


def render_tree(table: list[dict[str, Any]]) -> str:
    """Indented tree: roots are seeds (or programs whose parents are unknown); a child with two
    parents (crossover) is drawn under its first parent and names the second."""
    by_id = {row["id"]: row for row in table}
    children: dict[str, list[dict[str, Any]]] = defaultdict(list)
    roots = []
    for row in table:
        parents = [p for p in row["parents"] if p in by_id]
        if parents:
            children[parents[0]].append(row)
        else:
            roots.append(row)
    best = max((r for r in table if r["val_score"] is not None), key=lambda r: r["val_score"],
               default=None)
    lines: list[str] = []

    def label(row: dict[str, Any]) -> str:
        score = "  -  " if row["val_score"] is None else f"{row['val_score']:.3f}"
        extra = ""
        if len(row["parents"]) > 1:
            extra = f" x {row['parents'][1][:8]}"
        mark = "  <- best" if best is not None and row["id"] == best["id"] else ""
        name = row["name"] or row["commit_message"] or ""
        return (f"{row['id'][:8]} [{score}] it{row['iteration']} {row['origin']}"
                f"{'' if row['status'] != 'gate_failed' else ' (gate failed)'}{extra}  "
                f"{name[:50]}{mark}")

    def walk(row: dict[str, Any], prefix: str, last: bool, top: bool) -> None:
        connector = "" if top else ("└── " if last else "├── ")
        lines.append(prefix + connector + label(row))
        kids = children.get(row["id"], [])
        for index, kid in enumerate(kids):
            extension = "" if top else ("    " if last else "│   ")
            walk(kid, prefix + extension, index == len(kids) - 1, False)

    for root in roots:
        walk(root, "", True, True)
    return "\n".join(lines)
