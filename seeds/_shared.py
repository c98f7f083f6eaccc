"""Helpers shared by the seed programs, inlined into each seed when it is loaded.

Not a seed, and never imported by a program: a seed names what it uses in one top-level
``from ._shared import ...`` statement, and ``evolve.seeds.seed_source`` (``evolve/seed_build.py``)
replaces that statement with the definitions below, so the meta-agent and the sandbox see one
self-contained module. Only the names a seed imports and the definitions those read are
copied, in this file's order; a seed must not define any of them itself (the build refuses).

Rules for this file: top-level definitions that read only the imports here, each other and
builtins (a seed's design knobs are passed in as arguments); each name bound once; every
definition used by some seed. Changing one changes every seed that imports it
(``grep -l "_shared import" seeds/*.py``); ``python -m evolve.meta.offline.seed_render --check``
reports seeds that cannot be built or that keep a copy of a helper from here.
"""

import re
from dataclasses import dataclass, field
from datetime import date

# -- KnowledgeItem and Query fields ---------------------------------------------------------------
# Every schema field carries the description the task agent is shown for it.


def _text_field(description: str):
    """A text field of a KnowledgeItem or Query: "" by default."""
    return field(default="", metadata={"description": description})


def _list_field(description: str):
    """A list field of a KnowledgeItem or Query: empty by default."""
    return field(default_factory=list, metadata={"description": description})


@dataclass
class Query:
    question: str = _text_field("the question, verbatim")
    keywords: list[str] = _list_field("people, objects and topics asked about")


def _query_text(query) -> str:
    """The question and its keywords as one search text."""
    return " ".join([query.question or "", *map(str, query.keywords or [])]).strip()


# -- stores ---------------------------------------------------------------------------------------


def _cosine_collection(toolkit, name: str):
    """The toolkit's chroma collection ``name`` (cosine space), created on first use."""
    return toolkit.chroma.get_or_create_collection(name, metadata={"hnsw:space": "cosine"})


# -- session headers and dates --------------------------------------------------------------------
# Episodes start with a header line "[1:56 pm on 8 May, 2023]"; facts and turns may carry a
# "[8 May, 2023]" prefix.

_HEADER = re.compile(r"^\s*\[([^\]]{3,60})\]\s*$")
_LEADING_DATE = re.compile(r"^\s*\[([^\]]{3,60})\]\s*")
_DATE = re.compile(r"(\d{1,2})\s+([A-Za-z]+),?\s+(\d{4})")
_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december"]
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def _session_date(lines: list[str]) -> str:
    if lines and _HEADER.match(lines[0]):
        match = _DATE.search(lines[0])
        return f"{match.group(1)} {match.group(2)} {match.group(3)}" if match else \
            _HEADER.match(lines[0]).group(1).strip()
    return ""


def _episode_lines(raw_text: str, squeeze: bool = False) -> list[str]:
    """The non-empty lines of an episode, stripped (``squeeze``: every white space run folded
    to one space)."""
    if squeeze:
        return [" ".join(ln.split()) for ln in (raw_text or "").split("\n") if ln.strip()]
    return [ln.strip() for ln in (raw_text or "").split("\n") if ln.strip()]


def _dated_lines(raw_text: str, squeeze: bool = False) -> tuple[list[str], str]:
    """(the episode's lines as ``_episode_lines`` gives them, its session date or "")."""
    lines = _episode_lines(raw_text, squeeze)
    return lines, _session_date(lines)


def _split_header(lines: list[str]) -> tuple[str, list[str]]:
    """(the session header line or "", the other lines) of an episode's lines."""
    if lines and _HEADER.match(lines[0]):
        return lines[0], lines[1:]
    return "", lines


def _split_date(text: str, default: str) -> tuple[str, str]:
    """("Ana: ...", "8 May 2023") for "[8 May, 2023] Ana: ..."; other text keeps ``default``."""
    match = _LEADING_DATE.match(text)
    if match:
        found = _DATE.search(match.group(1))
        if found:
            return text[match.end():], f"{found.group(1)} {found.group(2)} {found.group(3)}"
    return text, default


def _fmt(day: date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1].capitalize()} {day.year}"


# -- speakers and people --------------------------------------------------------------------------
# A dialogue turn is "Name: text"; _RELATIVE finds the named relatives ("my sister Maya").

_SPEAKER = re.compile(r"^\s*([A-Z][\w'.-]*(?: [A-Z][\w'.-]*)?)\s*:\s*(.+)$")
_FIRST_PERSON = re.compile(r"\b(I|I'm|I've|my|we|our)\b")
_NAME = re.compile(r"\b([A-Z][a-z]+)(?:'s)?\b")
_RELATIVE = re.compile(
    r"\b(?:[Mm]y|[Hh]is|[Hh]er|[A-Z]\w+'s) (?:sister|brother|mother|father|aunt|uncle|cousin|"
    r"nephew|niece|grandmother|grandfather|son|daughter|wife|husband|partner) ([A-Z][a-z]+)")


def _fallback(lines: list[str], limit: int) -> list[str]:
    """Lines kept when the agent extracted nothing: first-person statements (conversations),
    else informative lines (transcripts and other text); at most ``limit``. Session headers
    are never kept."""
    body = [ln for ln in lines if not _HEADER.match(ln)]
    kept = [ln for ln in body if _FIRST_PERSON.search(ln)]
    if not kept:
        kept = [ln for ln in body if not ln.rstrip().endswith("?") and len(ln.split()) >= 4]
    return kept[:limit]


def _extracted(values) -> list[str]:
    """The agent's entries, white space folded; empty ones and "filler"/"none" dropped."""
    entries = [" ".join(str(v).split()) for v in (values or [])]
    return [e for e in entries if e and e.lower() not in {"filler", "none"}]


def _windows(hits, radius: int) -> tuple[list[int], dict[int, set[int]]]:
    """The episodes of (episode, position) ``hits`` in order of their first hit, and for each
    the positions within ``radius`` of one of its hits (the lines shown around a hit)."""
    order: list[int] = []
    keep: dict[int, set[int]] = {}
    for episode, pos in hits:
        episode, pos = int(episode), int(pos)
        if episode not in keep:
            order.append(episode)
            keep[episode] = set()
        keep[episode].update(range(pos - radius, pos + radius + 1))
    return order, keep


# -- transcripts of embodied episodes -------------------------------------------------------------
# "> take apple" action lines and the "Your task is to: ..." goal line.

_ACTION = re.compile(r"^\s*(?:>|action\s*:|act\s*:)\s*(.+)$", re.IGNORECASE)
_GOAL = re.compile(r"(?:your task is to\s*:?|task\s*:|goal\s*:)\s*(.+)", re.IGNORECASE)


def _succeeded(outcome, threshold: float) -> bool | None:
    """Whether an observed episode succeeded: ``outcome["success"]`` when it is a bool, else
    its score (or reward) against ``threshold``; None when the outcome says neither."""
    if not isinstance(outcome, dict):
        return None
    if isinstance(outcome.get("success"), bool):
        return outcome["success"]
    try:
        return float(outcome.get("score", outcome.get("reward", 0.0))) >= threshold
    except (TypeError, ValueError):
        return None


# -- words ----------------------------------------------------------------------------------------

_WORD = re.compile(r"[A-Za-z0-9']+")
_ALNUM = re.compile(r"[A-Za-z0-9]+")
_STOP = frozenset(
    "a an the and or but if of to in on at for with from by about as is am are was were be been "
    "being do does did have has had i you he she it we they me him her us them my your his its "
    "our their this that these those what which who whom whose when where why how there here "
    "so not no yes just very really oh ok okay yeah can could would should will shall may might "
    "must any some all now currently current latest recent recently ever still".split())
_SKIP = frozenset(
    "i we he she they you it my our his her their its now just recently finally also still "
    "actually really currently already even then again officially a an the".split())


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _match_expression(text: str, stop: frozenset[str], min_len: int = 2) -> str:
    """An FTS5 MATCH string: the distinct lower-cased alphanumeric terms of ``text`` (at least
    ``min_len`` long, not in ``stop``), quoted and joined by OR (always valid syntax)."""
    terms = []
    for word in _ALNUM.findall(text):
        low = word.lower()
        if len(low) >= min_len and low not in stop and low not in terms:
            terms.append(low)
    return " OR ".join(f'"{t}"' for t in terms)
