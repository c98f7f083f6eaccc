"""Words of template-rendered programs: instruction constants, module docstring, knob block.

Everything here is a pure function of a validated design (see ``design.SPACE``). The four
instruction constants are assembled from sentences chosen by the design's structure (what is
stored, whether dates are shown, how updates are handled) plus one named *variant* per
constant, which the instruction moves switch between.
"""

from __future__ import annotations

import json
from typing import Any

CONSTANT_NAMES = ("INSTRUCTION_KNOWLEDGE_ITEM", "INSTRUCTION_QUERY", "INSTRUCTION_RESPONSE",
                  "ALWAYS_ON_KNOWLEDGE")
ITEM_VARIANTS = ("plain", "atomic", "changes")
QUERY_VARIANTS = ("plain", "expand", "focused")
RESPONSE_VARIANTS = ("plain", "strict", "lists", "latest")
ALWAYS_ON_VARIANTS = ("none", "dates", "updates")

NOT_FOUND = "If the memory does not contain the answer, answer 'not mentioned'."


def _item_instruction(d: dict[str, Any]) -> str:
    if d["unit"] != "fact":
        return ("Write a one-sentence summary of the episode naming the people and topics in "
                "it. The raw text of the episode is what gets stored and searched.")
    parts = ["Distil the episode. 'facts': every concrete fact worth remembering, one per "
             "entry, as a self-contained sentence with full names (no pronouns), objects, "
             "numbers and when it happened (keep phrases like 'last Saturday' as said)."]
    if d["item_instruction"] == "atomic":
        parts = ["Distil the episode. 'facts': one atomic fact per entry, each starting with "
                 "the full name of the person it is about, with objects, numbers and the "
                 "calendar date it happened (resolve 'yesterday', 'last Saturday' against the "
                 "session date). Skip small talk."]
    elif d["item_instruction"] == "changes":
        parts.append("When something replaces an earlier state, say so explicitly, naming "
                     "the old and the new value ('changed from X to Y').")
    if d["lessons"]:
        parts.append("'lessons': general, reusable lessons, preferences or strategies the "
                     "episode teaches, one per entry.")
    return " ".join(parts)


def _query_instruction(d: dict[str, Any]) -> str:
    parts = ["Copy the question verbatim into 'question'."]
    variant = d["query_instruction"]
    if variant == "expand":
        parts.append("In 'keywords' list the names, objects and topics a matching passage "
                     "would contain, with synonyms and word variants (moved/lives, job/works).")
    elif variant == "focused":
        parts.append("In 'keywords' list only the few words that identify the answer's "
                     "passage: the person's name and the relation asked about.")
    else:
        parts.append("In 'keywords' list the names, objects and topics a matching passage "
                     "would mention (synonyms welcome).")
    if d["entity_index"]:
        parts.append("In 'names' list the people (and named pets or places) it is about.")
    return " ".join(parts)


def _response_instruction(d: dict[str, Any]) -> str:
    parts = ["Answer with a short phrase taken from the memory (names, dates, numbers), not a "
             "full sentence."]
    if d["summarize"]:
        parts.append("Prefer the summary and check it against the excerpts.")
    if d["date_prefix"] and not d["resolve_dates"]:
        parts.append("Entries carry the date of their session: resolve relative dates "
                     "('yesterday', 'last Saturday') against it.")
    elif d["resolve_dates"]:
        parts.append("Dates in the memory are calendar dates of when things happened.")
    variant = d["response_instruction"]
    if d["update"] == "newest_wins" or variant == "latest" or d["layout"] == "chronological":
        parts.append("When a fact changed over time, the latest one holds.")
    if variant == "strict":
        parts.append("Only use statements about the very person asked about; a fact about "
                     "someone else does not answer the question.")
    elif variant == "lists":
        parts.append("When the question asks for several things, give every matching item, "
                     "comma-separated.")
    parts.append(NOT_FOUND)
    return " ".join(parts)


def _always_on(d: dict[str, Any]) -> str:
    return {
        "none": "",
        "dates": "Memory entries are dated by the session in which they were said; relative "
                 "dates inside an entry count from that session's date.",
        "updates": "When two memory entries disagree, the more recent entry is the current "
                   "state; older entries are history.",
    }[d["always_on"]]


def instructions(d: dict[str, Any]) -> dict[str, str]:
    """The four instruction constants of design ``d``."""
    return {
        "INSTRUCTION_KNOWLEDGE_ITEM": _item_instruction(d),
        "INSTRUCTION_QUERY": _query_instruction(d),
        "INSTRUCTION_RESPONSE": _response_instruction(d),
        "ALWAYS_ON_KNOWLEDGE": _always_on(d),
    }


# ---------------------------------------------------------------- docstring

_INDEX_TITLE = {"none": "Full memory", "lexical": "Lexical search", "fts5": "BM25 search",
                "vector": "Vector search", "hybrid": "Hybrid BM25+vector search"}
_INDEX_METRIC = {"lexical": "idf-weighted term overlap", "fts5": "SQLite FTS5 bm25",
                 "vector": "embedding similarity (toolkit.chroma, cosine)",
                 "hybrid": "reciprocal-rank fusion of FTS5 bm25 and vector similarity"}
_INDEX_SHORT = {"lexical": "term overlap", "fts5": "bm25", "vector": "similarity",
                "hybrid": "fused rank"}
_SEED_NOTES = {
    "vector_search": "the M* 'vector search' seed: plain RAG over raw text",
    "llm_summarizer": "the M* 'LLM summarizer' seed: store raw, summarise for the question "
                      "at read time",
    "experience_learner": "the M* 'experience learner' seed: lessons and facts, all returned",
}


def _unit_words(d: dict[str, Any]) -> str:
    if d["unit"] == "chunk":
        return f"{d['chunk_chars']}-character chunks of each episode"
    if d["unit"] == "turn":
        return "dialogue turns"
    return "extracted facts and lessons" if d["lessons"] else "extracted facts"


def title(d: dict[str, Any]) -> str:
    """One-line summary of the design (first docstring line, < 120 characters)."""
    if d["index"] == "none":
        pick = "all returned while they fit"
    else:
        pick = f"top-{d['top_k']} by {_INDEX_SHORT[d['index']]}"
        pick += " then as many as fit" if d["fill_budget"] else ""
    text = f"{_INDEX_TITLE[d['index']]} over {_unit_words(d)}, {pick}"
    if d["summarize"]:
        text += "; one LLM call summarises them"
    return text + "."


def _paragraphs(d: dict[str, Any], seed: str | None) -> list[str]:
    out = []
    note = f" This design is {_SEED_NOTES[seed]}." if seed else ""
    out.append("Design: rendered from the offline mutator's template "
               "(evolve/templates/programs); DESIGN below records every choice and "
               f"`python -m evolve.meta.offline.seed_render` re-renders it.{note}")
    if d["unit"] == "chunk":
        store = (f"Stores: the raw episode text cut at line breaks into chunks of at most "
                 f"CHUNK_CHARS ({d['chunk_chars']}) characters")
    elif d["unit"] == "turn":
        store = "Stores: every dialogue line (turn) of every episode as one unit"
    else:
        store = ("Stores: each entry of item.facts as one unit (deduplicated; the "
                 f"FALLBACK_LINES ({d['fallback_lines']}) longest raw lines when none were "
                 "extracted)")
        if d["lessons"]:
            store += ", and item.lessons in a separate list"
    store += ", each with its session date."
    if d["resolve_dates"]:
        store += " Relative dates ('yesterday', 'last Saturday') are rewritten as calendar dates."
    if d["entity_index"]:
        store += " A name index maps every speaker and capitalised name to its units."
    if d["update"] == "newest_wins":
        store += (" For the same subject and the same attribute the newest unit is "
                  "current and the older ones are marked superseded.")
    out.append(store)
    if d["index"] == "none":
        read = ("Read: everything, in chronological order; when it exceeds MAX_CHARS the "
                "newest units are kept")
        if d["lessons"]:
            read += f" (lessons get at most LESSON_SHARE = {d['lesson_share']} of the budget)"
        read += "."
    else:
        read = (f"Read: rank units by {_INDEX_METRIC[d['index']]} against the question and "
                f"keywords; keep the best TOP_K ({d['top_k']})")
        if d["fill_budget"]:
            read += ", then further matches while they fit"
        if d["per_source_cap"]:
            read += f", at most {d['per_source_cap']} per episode"
        read += "."
        if d["unit"] == "turn" and d["context_lines"]:
            read += f" Each hit is shown with {d['context_lines']} neighbouring line(s) per side."
    if d["entity_index"]:
        read += " Units about a name in the query rank first."
    if d["update"] == "newest_wins":
        read += " Superseded units rank last unless the question asks for history."
    layout = {"rank": "best first", "grouped": "grouped by episode, best episode first",
              "chronological": "in chronological order, newest last"}[d["layout"]]
    read += f" Output: {layout}, clipped to MAX_CHARS ({d['max_chars']})."
    if d["summarize"]:
        read += (f" Then ONE toolkit LLM call turns the selection (at most SELECTION_CHARS = "
                 f"{d['selection_chars']} characters) into a summary of about "
                 f"{d['summary_words']} words focused on the question")
        read += (", followed by as many excerpts as fit" if d["append_excerpts"] else "")
        read += "; if the call fails the selection itself is returned."
    out.append(read)
    return out


def docstring(d: dict[str, Any], seed: str | None = None) -> str:
    """The module docstring: title, design in words, LLM-call line (no triple quotes inside).
    ``seed``: the name of the seed whose design ``d`` is, if it is one (the caller knows the
    seed designs; this module only words them)."""
    body = "\n\n".join(_wrap(p) for p in _paragraphs(d, seed))
    calls = f"Toolkit LLM calls: 0 per write, {1 if d['summarize'] else 0} per read."
    return f"{title(d)}\n\n{body}\n\n{calls}\n"


def _wrap(text: str, width: int = 96) -> str:
    lines, current = [], ""
    for word in text.split(" "):
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    lines.append(current)
    return "\n".join(lines)


# ---------------------------------------------------------------- knob block

_KNOBS: tuple[tuple[str, str, str], ...] = (
    # (design key, constant name, comment)
    ("chunk_chars", "CHUNK_CHARS", "maximum characters per stored chunk"),
    ("context_lines", "CONTEXT_LINES", "neighbouring lines shown on each side of a hit"),
    ("top_k", "TOP_K", "units returned per read"),
    ("candidates", "CANDIDATES", "hits taken from each retriever before fusion"),
    ("rrf_k", "RRF_K", "reciprocal-rank-fusion constant"),
    ("per_source_cap", "PER_SOURCE_CAP", "at most this many units per episode (0 = no cap)"),
    ("date_prefix", "DATE_PREFIX", "show each unit with its session date"),
    ("layout", "LAYOUT", "output order: rank | grouped | chronological"),
    ("fill_budget", "FILL_BUDGET", "after TOP_K, add further matches while they fit"),
    ("selection_chars", "SELECTION_CHARS", "characters of memory shown to the summarizer"),
    ("summary_words", "SUMMARY_WORDS", "length asked of the summary"),
    ("append_excerpts", "APPEND_EXCERPTS", "after the summary, fill the budget with excerpts"),
    ("lesson_share", "LESSON_SHARE", "share of the budget lessons may take when over budget"),
    ("fallback_lines", "FALLBACK_LINES", "raw lines kept when no facts were extracted"),
    ("max_item_chars", "MAX_ITEM_CHARS", "one fact or lesson is clipped to this length"),
    ("max_chars", "MAX_CHARS", "read() budget (hard cap 3000)"),
)


def _relevant(key: str, d: dict[str, Any]) -> bool:
    return {
        "chunk_chars": d["unit"] == "chunk",
        "context_lines": d["unit"] == "turn",
        "top_k": d["index"] != "none",
        "candidates": d["index"] == "hybrid",
        "rrf_k": d["index"] == "hybrid",
        "fill_budget": d["index"] != "none",
        "selection_chars": d["summarize"],
        "summary_words": d["summarize"],
        "append_excerpts": d["summarize"],
        "lesson_share": d["lessons"],
        "fallback_lines": d["unit"] == "fact",
        "max_item_chars": d["unit"] == "fact",
    }.get(key, True)


def knobs(d: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(NAME, literal, comment) of the knobs the rendered code reads, in block order."""
    out = []
    for key, name, comment in _KNOBS:
        if _relevant(key, d):
            value = d[key]
            literal = repr(value) if not isinstance(value, str) else json.dumps(value)
            if key == "top_k":  # name the unit: "chunks returned per read"
                comment = f"{d['unit']}s returned per read"
                comment += " (then more while they fit)" if d["fill_budget"] else ""
            out.append((name, literal, comment))
    return out


KNOB_KEYS = {name: key for key, name, _ in _KNOBS}
