"""Non-template parents: their UPPERCASE design knobs, tweaks of them, and a nearest design.

Hand- or LLM-written programs follow the seed convention of a block of plain UPPERCASE
literal assignments between ``# --- design parameters ---`` and ``# --- end design
parameters ---``. ``read_knobs`` lists the single-line ones; ``tweak`` picks one knob whose
*role* (a count of results, a unit size, the read budget, a ranking or date switch) addresses
the diagnosis, and ``set_knob`` rewrites just that value. ``nearest_design`` maps any program to
the template design that resembles it most (index kind, unit kind, counts, budget), so the
mutator can rewrite a parent as a template program when no knob helps.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Set
from dataclasses import dataclass
from typing import Any

from .design import DEFAULT_DESIGN, READ_CAP, parse_design, validate

START = "# --- design parameters ---"
END = "# --- end design parameters ---"

# knob role -> (name pattern, findings that want it raised, findings that want it lowered)
_ROLES: tuple[tuple[str, re.Pattern[str], tuple[str, ...], tuple[str, ...]], ...] = (
    ("count", re.compile(r"^(TOP_K|K|N_RESULTS|MAX_RESULTS|CANDIDATES|SELECT_LINES|LIMIT|"
                         r"[A-Z_]*_FACTS|[A-Z_]*_HITS|MAX_PER_[A-Z_]+|[A-Z_]*PER_EPISODE|"
                         r"[A-Z_]*_NOTES|[A-Z_]*_ITEMS|[A-Z_]*_INSIGHTS)$"),
     ("evidence_missing", "partial_evidence", "budget_unused"), ("noise", "wrong_person")),
    ("context", re.compile(r"^CONTEXT_[A-Z_]+$"),
     ("answer_mismatch",), ("noise", "truncated")),
    ("size", re.compile(r"^(CHUNK_CHARS|[A-Z_]*_CHUNK[A-Z_]*|MAX_ITEM_CHARS|MAX_FACT_CHARS|"
                        r"[A-Z_]*_UNIT_CHARS)$"),
     ("answer_mismatch",), ("noise", "truncated")),
    ("budget", re.compile(r"^MAX_CHARS$"), ("truncated",), ()),
    ("rank", re.compile(r"^RANK[A-Z_]*$"), ("truncated", "evidence_missing"), ()),
    ("dates", re.compile(r"^([A-Z_]*DATE[A-Z_]*|RESOLVE_[A-Z_]+)$"), ("dates_missing",), ()),
)


@dataclass(frozen=True)
class Knob:
    """One single-line literal assignment of the design-parameter block."""

    name: str
    value: Any
    line: int  # 1-based line number in the source


def read_knobs(source: str) -> list[Knob]:
    """Single-line UPPERCASE literal knobs between the block markers ([] when none)."""
    lines = source.splitlines()
    try:
        start = next(i for i, ln in enumerate(lines) if ln.strip() == START)
        end = next(i for i, ln in enumerate(lines) if ln.strip() == END and i > start)
    except StopIteration:
        return []
    knobs = []
    for number in range(start + 1, end):
        match = re.match(r"^([A-Z][A-Z0-9_]*)\s*=\s*(.+?)(\s+#.*)?$", lines[number])
        if not match:
            continue
        try:
            value = ast.literal_eval(match.group(2))
        except (ValueError, SyntaxError):
            continue
        if isinstance(value, (bool, int, float, str)):
            knobs.append(Knob(match.group(1), value, number + 1))
    return knobs


def set_knob(source: str, knob: Knob, value: Any) -> str:
    """``source`` with ``knob``'s literal replaced by ``value`` (comment kept)."""
    lines = source.split("\n")
    line = lines[knob.line - 1]
    match = re.match(r"^([A-Z][A-Z0-9_]*\s*=\s*)(.+?)(\s+#.*)?$", line)
    if not match:
        return source
    literal = repr(value) if not isinstance(value, str) else f'"{value}"'
    lines[knob.line - 1] = f"{match.group(1)}{literal}{match.group(3) or ''}"
    return "\n".join(lines)


def _scaled(knob: Knob, role: str, up: bool) -> Any | None:
    value = knob.value
    if isinstance(value, bool):
        return None if value == up else up
    if not isinstance(value, (int, float)):
        return None
    new: int | float
    if role == "budget":
        new = min(READ_CAP, int(value * 1.25)) if up else max(500, int(value * 0.8))
    elif role == "context":
        new = value + 1 if up else value - 1
    else:
        new = value * 1.5 if up else value / 1.5
    if isinstance(value, int):
        new = int(round(new))
        if new == value and role != "budget":
            new = value + (1 if up else -1)
    new = max(0 if role == "context" else 1, new)
    if role == "budget":
        new = max(500, min(READ_CAP, new))
    return None if new == value else new


def tweak(source: str, wanted: dict[str, float], avoid: Set[str] = frozenset()
          ) -> tuple[str, str, str] | None:
    """(new source, knob name, description) of the knob change that best serves ``wanted``.

    ``wanted`` maps finding kinds to weights; ``avoid`` holds "NAME:up"/"NAME:down" changes
    already tried from this parent. None when no knob addresses the findings.
    """
    best: tuple[float, Knob, str, bool] | None = None
    for knob in read_knobs(source):
        for role, pattern, raise_for, lower_for in _ROLES:
            if not pattern.match(knob.name):
                continue
            for up, kinds in ((True, raise_for), (False, lower_for)):
                score = sum(wanted.get(k, 0.0) for k in kinds)
                if score <= 0 or f"{knob.name}:{'up' if up else 'down'}" in avoid:
                    continue
                if _scaled(knob, role, up) is None:
                    continue
                if best is None or score > best[0]:
                    best = (score, knob, role, up)
            break
    if best is None:
        return None
    _, knob, role, up = best
    new = _scaled(knob, role, up)
    text = f"{'Raise' if up else 'Lower'} {knob.name} from {knob.value!r} to {new!r}"
    return set_knob(source, knob, new), f"{knob.name}:{'up' if up else 'down'}", text


def _number(knobs: dict[str, Any], *names: str) -> int | None:
    for name in names:
        value = knobs.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return int(value)
    return None


def nearest_design(source: str) -> dict[str, Any]:
    """The template design closest to ``source`` (its own DESIGN record when it has one)."""
    own = parse_design(source)
    if own is not None:
        return own
    knobs = {k.name: k.value for k in read_knobs(source)}
    low = source.lower()
    design = dict(DEFAULT_DESIGN)
    uses_fts = "fts5" in low
    uses_vectors = "chroma" in low or ".embed(" in low
    design["index"] = ("hybrid" if uses_fts and uses_vectors else "fts5" if uses_fts else
                       "vector" if uses_vectors else "lexical" if _number(knobs, "TOP_K")
                       else "none")
    item_block = source.split("class KnowledgeItem", 1)[-1].split("class ", 1)[0]
    if re.search(r"\b(facts|lessons|notes|insights)\s*:", item_block):
        design["unit"] = "fact"
        design["lessons"] = "lessons" in item_block
    elif _number(knobs, "CHUNK_CHARS") is not None:
        design["unit"] = "chunk"
        design["chunk_chars"] = max(80, min(3000, _number(knobs, "CHUNK_CHARS") or 500))
    else:
        design["unit"] = "turn"
        design["context_lines"] = max(0, min(4, _number(knobs, "CONTEXT_TURNS",
                                                        "CONTEXT_LINES") or 0))
    top_k = _number(knobs, "TOP_K", "K", "N_RESULTS", "SELECT_LINES", "CANDIDATES")
    if top_k:
        design["top_k"] = max(1, min(200, top_k))
    cap = _number(knobs, "MAX_PER_EPISODE", "PER_SOURCE_CAP")
    if cap is not None:
        design["per_source_cap"] = max(0, min(50, cap))
    budget = _number(knobs, "MAX_CHARS")
    if budget:
        design["max_chars"] = max(500, min(READ_CAP, budget))
    design["summarize"] = "llm_completion" in source and '"read": 1' in source.replace("'", '"')
    if "valid_to" in low or "supersed" in low:
        design["update"] = "newest_wins"
    return validate(design)
