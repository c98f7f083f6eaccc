"""The design space of template-rendered memory programs, and their rendering and parsing.

A *design* is a flat dict of JSON-compatible values (``SPACE`` lists every key, its allowed
values and its default). ``render(design)`` turns it into a complete memory program through the
jinja2 templates in ``evolve/templates/programs/``; the program carries its design twice: as
the UPPERCASE knobs of its ``# --- design parameters ---`` block (what the code reads) and as a
``DESIGN = {...}`` literal (the record, written with Python's ``True/False/None`` spelling so the
module stays valid Python; ``ast.literal_eval`` reads it back). ``parse_design(source)`` returns
that record, and ``is_rendered(source)`` says whether the source is still exactly the rendering
of its record (a hand- or LLM-edited copy is not).

Contract: ``render`` is a pure function of the validated design; every valid design renders to
a program that passes ``evolve.program.static_gate.static_gate``, returns at most 3000
characters from ``read`` and makes at most one toolkit LLM call per ``write``/``read``.
"""

from __future__ import annotations

import ast
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

import jinja2

from ...program.contract import READ_CHAR_CAP
from ...program.parsing import parse_source
from . import wording

READ_CAP = READ_CHAR_CAP  # read() output is cut there (README, "Memory programs")


class DesignError(ValueError):
    """A design dict with an unknown key or a value outside the space."""


@dataclass(frozen=True)
class Param:
    """One design key: its kind, allowed values (choices or an inclusive range) and default.

    ``ladder`` lists the values moves step through (numeric keys); any value inside
    ``[low, high]`` is valid so hand-tuned or crossed-over designs stay representable.
    """

    kind: str  # "choice" | "int" | "float" | "bool"
    default: Any
    doc: str
    choices: tuple[Any, ...] = ()
    low: float = 0
    high: float = 0
    ladder: tuple[Any, ...] = ()


SPACE: dict[str, Param] = {
    "unit": Param("choice", "chunk", "what one stored unit is: a chunk of raw text, one "
                  "dialogue turn, or one fact extracted by the task agent",
                  choices=("chunk", "turn", "fact")),
    "chunk_chars": Param("int", 500, "maximum characters per chunk (unit=chunk)", low=80,
                         high=3000, ladder=(100, 150, 250, 400, 500, 750, 1000, 1500)),
    "context_lines": Param("int", 0, "neighbouring lines shown around a hit (unit=turn)",
                           low=0, high=4, ladder=(0, 1, 2, 3)),
    "lessons": Param("bool", False, "also keep general lessons next to facts (unit=fact)"),
    "index": Param("choice", "vector", "how units are found: none (return everything that "
                   "fits, newest first), lexical (idf-weighted term overlap), fts5 (SQLite "
                   "bm25), vector (embeddings), hybrid (fts5 + vector fused by reciprocal rank)",
                   choices=("none", "lexical", "fts5", "vector", "hybrid")),
    "top_k": Param("int", 5, "units returned per read", low=1, high=200,
                   ladder=(2, 3, 5, 8, 12, 16, 24, 32, 48, 64)),
    "candidates": Param("int", 30, "hits taken from each retriever before fusion (hybrid)",
                        low=5, high=300, ladder=(15, 30, 60, 120)),
    "rrf_k": Param("int", 60, "reciprocal-rank-fusion constant (hybrid)", low=1, high=1000,
                   ladder=(10, 30, 60, 120)),
    "per_source_cap": Param("int", 0, "at most this many units per episode (0 = no cap)",
                            low=0, high=50, ladder=(0, 1, 2, 3, 4, 6)),
    "entity_index": Param("bool", False, "index units by the names they mention (and their "
                          "speaker); units about a name in the query rank first"),
    "date_prefix": Param("bool", True, "show each unit with its session date"),
    "resolve_dates": Param("bool", False, "rewrite relative dates ('last Saturday') as "
                           "calendar dates at write time"),
    "update": Param("choice", "none", "conflicting values: none (keep all alike) or "
                    "newest_wins (for the same subject and relation the newest value is "
                    "current; older ones are demoted unless the question asks for history)",
                    choices=("none", "newest_wins")),
    "layout": Param("choice", "rank", "output order: rank (best first), grouped (by episode, "
                    "best episode first), chronological (oldest first, newest last)",
                    choices=("rank", "grouped", "chronological")),
    "fill_budget": Param("bool", False, "after top_k, keep adding matching units while the "
                         "character budget lasts"),
    "max_chars": Param("int", READ_CHAR_CAP, "read() budget in characters", low=500, high=READ_CAP,
                       ladder=(1000, 1500, 2000, 2500, 3000)),
    "summarize": Param("bool", False, "one toolkit LLM call at read writes a query-focused "
                       "summary of the selection"),
    "selection_chars": Param("int", 6000, "characters of memory shown to the summarizer",
                             low=1000, high=20000, ladder=(3000, 4500, 6000, 9000, 12000)),
    "summary_words": Param("int", 120, "length asked of the summary", low=20, high=400,
                           ladder=(60, 90, 120, 200)),
    "append_excerpts": Param("bool", True, "after the summary, fill the budget with excerpts"),
    "lesson_share": Param("float", 0.3, "share of the budget lessons may take when over "
                          "budget", low=0.0, high=0.9, ladder=(0.1, 0.2, 0.3, 0.5)),
    "fallback_lines": Param("int", 6, "raw lines kept when no facts were extracted "
                            "(unit=fact)", low=0, high=40, ladder=(3, 6, 10, 16)),
    "max_item_chars": Param("int", 300, "one fact or lesson is clipped to this length",
                            low=60, high=1000, ladder=(150, 200, 300, 500)),
    "item_instruction": Param("choice", "plain", "wording of INSTRUCTION_KNOWLEDGE_ITEM",
                              choices=wording.ITEM_VARIANTS),
    "query_instruction": Param("choice", "plain", "wording of INSTRUCTION_QUERY",
                               choices=wording.QUERY_VARIANTS),
    "response_instruction": Param("choice", "plain", "wording of INSTRUCTION_RESPONSE",
                                  choices=wording.RESPONSE_VARIANTS),
    "always_on": Param("choice", "none", "content of ALWAYS_ON_KNOWLEDGE",
                       choices=wording.ALWAYS_ON_VARIANTS),
}

DEFAULT_DESIGN: dict[str, Any] = {key: p.default for key, p in SPACE.items()}

# The three M* seeds (docs/seeds.md) as designs; seeds/<name>.py are their renderings.
SEED_DESIGNS: dict[str, dict[str, Any]] = {
    "vector_search": {**DEFAULT_DESIGN},
    "llm_summarizer": {**DEFAULT_DESIGN, "unit": "turn", "context_lines": 1,
                       "index": "lexical", "top_k": 24, "layout": "grouped",
                       "summarize": True},
    "experience_learner": {**DEFAULT_DESIGN, "unit": "fact", "lessons": True,
                           "index": "none", "layout": "chronological", "fill_budget": True},
}

# Literature designs of seeds/ (issue: the designs of the literature as seed programs),
# approximated in this template space so the offline mutator can cross a parent with them.
# Each keeps the design's core retrieval idea; the hand-written seeds remain the faithful ones.
LIBRARY_DESIGNS: dict[str, dict[str, Any]] = {
    "full_context": {**DEFAULT_DESIGN, "unit": "chunk", "chunk_chars": 1500, "index": "none",
                     "layout": "chronological"},
    "bm25": {**DEFAULT_DESIGN, "unit": "turn", "index": "fts5", "top_k": 12,
             "context_lines": 1},
    "hybrid": {**DEFAULT_DESIGN, "unit": "turn", "index": "hybrid", "top_k": 12,
               "per_source_cap": 4},
    "mem0_facts": {**DEFAULT_DESIGN, "unit": "fact", "index": "vector", "top_k": 12,
                   "update": "newest_wins"},
    "temporal_fact_graph": {**DEFAULT_DESIGN, "unit": "fact", "index": "hybrid", "top_k": 16,
                            "update": "newest_wins", "resolve_dates": True,
                            "layout": "chronological"},
    "amem_notes": {**DEFAULT_DESIGN, "unit": "fact", "index": "vector", "top_k": 12,
                   "entity_index": True},
    "memory_t1_temporal": {**DEFAULT_DESIGN, "unit": "turn", "index": "hybrid", "top_k": 16,
                           "resolve_dates": True, "layout": "grouped"},
    "memflow_tiers": {**DEFAULT_DESIGN, "unit": "fact", "index": "hybrid", "top_k": 16,
                      "entity_index": True, "fill_budget": True},
    "dynamic_cheatsheet": {**DEFAULT_DESIGN, "unit": "fact", "lessons": True, "index": "lexical",
                           "top_k": 24, "summarize": True},
}


def _check_value(key: str, value: Any) -> Any:
    p = SPACE[key]
    if p.kind == "bool":
        if not isinstance(value, bool):
            raise DesignError(f"design key {key!r}: expected true/false, got {value!r}")
        return value
    if p.kind == "choice":
        if value not in p.choices:
            raise DesignError(f"design key {key!r}: {value!r} is not one of "
                              f"{', '.join(map(str, p.choices))}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DesignError(f"design key {key!r}: expected a number, got {value!r}")
    if p.kind == "int":
        if value != int(value):
            raise DesignError(f"design key {key!r}: expected an integer, got {value!r}")
        value = int(value)
    else:
        value = round(float(value), 4)
    if not p.low <= value <= p.high:
        raise DesignError(f"design key {key!r}: {value} is outside [{p.low}, {p.high}]")
    return value


def normalise(design: dict[str, Any]) -> dict[str, Any]:
    """Settle combinations the code cannot honour, so equal behaviour means equal designs.

    Newest-wins needs units that hold one statement (turns or facts); lessons exist only next
    to facts; ``none`` returns everything that fits, which is what ``fill_budget`` means.
    """
    out = dict(design)
    if out["unit"] == "chunk" and out["update"] == "newest_wins":
        out["update"] = "none"
    if out["unit"] != "fact":
        out["lessons"] = False
    if out["index"] == "none":
        out["fill_budget"] = True
    return out


def validate(design: dict[str, Any]) -> dict[str, Any]:
    """A complete, checked and normalised copy of ``design`` (missing keys get defaults).

    Raises ``DesignError`` naming the first unknown key or bad value.
    """
    if not isinstance(design, dict):
        raise DesignError(f"a design is a dict, got {type(design).__name__}")
    unknown = sorted(set(design) - set(SPACE))
    if unknown:
        raise DesignError(f"unknown design key {unknown[0]!r}; valid: {', '.join(SPACE)}")
    checked = {key: _check_value(key, design.get(key, p.default)) for key, p in SPACE.items()}
    return normalise(checked)


def design_literal(design: dict[str, Any]) -> str:
    """The ``DESIGN = {...}`` value: JSON data spelled as a Python literal, one key a line."""
    lines = []
    for key in SPACE:
        value = json.dumps(design[key])
        value = {"true": "True", "false": "False", "null": "None"}.get(value, value)
        lines.append(f"    {json.dumps(key)}: {value},")
    return "{\n" + "\n".join(lines) + "\n}"


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("evolve", "templates/programs"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # Python source, not HTML
    )


def _py_str(text: str, indent: int = 4, width: int = 92) -> str:
    """A string constant as a parenthesised run of repr'd pieces (readable, line-limited)."""
    words = text.split(" ")
    pieces, current = [], ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if current and len(_quote(candidate)) > width - indent:
            pieces.append(current + " ")
            current = word
        else:
            current = candidate
    pieces.append(current)
    if len(pieces) == 1:
        return _quote(text)
    pad = " " * indent
    return "(\n" + "\n".join(pad + _quote(p) for p in pieces) + "\n)"


def _quote(text: str) -> str:
    """A double-quoted Python string literal (JSON escapes are valid Python escapes)."""
    return json.dumps(text, ensure_ascii=False)


# Bounded caches: a rendering is ~11 KB, and the mutator renders several candidate designs per
# proposal (most only to learn their program id, see ``rendered_id``). 512 cached sources held
# ~6 MB that a long campaign filled over its first ~60 iterations (bench/memory_growth.py).
RENDER_CACHE = 64
ID_CACHE = 1024


@lru_cache(maxsize=RENDER_CACHE)
def _render_cached(frozen: str) -> str:
    design = json.loads(frozen)
    texts = wording.instructions(design)
    context = {
        # attribute access only: a dict would answer ``d.update`` with its own method
        "d": SimpleNamespace(**design),
        "doc": wording.docstring(design, next((name for name, seed in SEED_DESIGNS.items()
                                               if seed == design), None)),
        "knobs": wording.knobs(design),
        "design_literal": design_literal(design),
        "llm_read": 1 if design["summarize"] else 0,
        "constants": [(name, _py_str(texts[name])) for name in wording.CONSTANT_NAMES],
        "fts": design["index"] in ("fts5", "hybrid"),
        "vector": design["index"] in ("vector", "hybrid"),
    }
    return _env().get_template("memory_program.py.j2").render(**context)


def render(design: dict[str, Any]) -> str:
    """The complete program source of ``design`` (validated first)."""
    checked = validate(design)
    return _render_cached(json.dumps(checked, sort_keys=True))


@lru_cache(maxsize=ID_CACHE)
def _id_cached(frozen: str) -> str:
    return hashlib.sha256(_render_cached(frozen).encode("utf-8")).hexdigest()


def rendered_id(design: dict[str, Any]) -> str:
    """The program id (sha256 of the source) of ``render(design)``; remembered without the
    source, so checking many candidates against the lineage keeps little in memory."""
    return _id_cached(json.dumps(validate(design), sort_keys=True))


def parse_design(source: str) -> dict[str, Any] | None:
    """The validated ``DESIGN`` record of a program, or None when it has no valid one."""
    try:
        tree = parse_source(source)
    except (SyntaxError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "DESIGN" for t in node.targets):
            try:
                value = ast.literal_eval(node.value)
                return validate(value)
            except (ValueError, TypeError, SyntaxError, DesignError):
                return None
    return None


def is_rendered(source: str) -> bool:
    """True when ``source`` is exactly the rendering of its own ``DESIGN`` record."""
    design = parse_design(source)
    return design is not None and render(design) == source


def design_diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Keys whose values differ: key -> (old, new)."""
    return {k: (old.get(k), new.get(k)) for k in SPACE if old.get(k) != new.get(k)}
