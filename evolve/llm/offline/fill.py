"""Schema filling of the offline model: KnowledgeItem from an episode, Query from a question.

Each schema field gets a *role* from its name (last word first, e.g. ``event_date`` -> date,
``key_facts`` -> facts), else from its description, then a value of the field's type:

extraction roles: raw (text/content/transcript: the text itself), summary (the factual
sentences, dated), date (the date of the ``[date_time]`` header), speakers / entities
(capitalised names), keywords (names, lexicon terms and frequent content words), facts
("[8 May, 2023] Quill: I bought a kayak last Saturday" strings), type (a guess);
query roles: question (the question), keywords (content words plus a few synonyms), names,
date (a date in the question), type (temporal | multi-hop | knowledge-update | single-hop);
other types: bool -> false, int/float -> 0 (5 for top_k/limit-like names), unknown str ->
best effort (summary or question). Optional fields with nothing to say are null.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from .english import SYNONYMS
from .instructions import ExtractStyle, read_extraction, read_query
from .question import analyze
from .spans import places
from .text import (
    STOPWORDS,
    find_dates,
    find_relative,
    format_date,
    names_in,
    parse_units,
    relative_day,
    resolve_relative,
    words,
)

# A schema line: "name": <example value or type placeholder>, // [may be null; ]description
_FIELD = re.compile(
    r'^\s*"(?P<name>(?:[^"\\]|\\.)+)"\s*:\s*(?P<ph>\[.*?\]|"(?:[^"\\]|\\.)*"|<integer>|'
    r'<number>|<true\|false>|[^\s,]+)(?P<opt>\s+or\s+null)?\s*,?\s*(?://\s*(?P<desc>.*))?$')
_PH_TYPE = {"<integer>": "int", "<number>": "float", "<true|false>": "bool", "true": "bool",
            "false": "bool"}
_OPTIONAL_NOTE = re.compile(r"^may be null(?:;\s*|$)")

_ROLE_WORDS: tuple[tuple[str, frozenset[str]], ...] = (
    ("date", frozenset("date dates time timestamp when datetime day occurred period".split())),
    ("question", frozenset("question query q search lookup request prompt ask".split())),
    ("type", frozenset("type category kind intent qtype class".split())),
    ("speakers", frozenset("speaker speakers participants people persons person who names "
                           "name characters author authors".split())),
    ("entities", frozenset("entities entity subjects subject objects mentions".split())),
    ("keywords", frozenset("keyword keywords tags tag topics topic terms term themes theme "
                           "concepts concept words cues".split())),
    ("facts", frozenset("facts fact events event observations observation memories memory "
                        "statements statement notes note details detail claims claim "
                        "preferences information info knowledge lessons lesson insights "
                        "insight items points highlights bullets triples".split())),
    ("summary", frozenset("summary gist abstract overview synopsis description recap title "
                          "headline digest".split())),
    ("raw", frozenset("text content raw transcript conversation dialogue dialog body episode "
                      "source passage document chunk".split())),
)
_GENERIC_HEADS = frozenset("text content list string str value values data items field".split())
_TIME_WORDS = frozenset("last ago days day week weeks month months year years yesterday today "
                        "morning tonight monday tuesday wednesday thursday friday saturday "
                        "sunday".split())
_COUNT_NAMES = frozenset("k top_k topk limit n n_results max_results count num_results".split())


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str  # str | int | float | bool | list
    optional: bool
    description: str


def parse_schema(schema: str) -> list[FieldSpec]:
    """Fields of a schema rendered as commented JSON by ``evolve.agent.prompts``."""
    fields = []
    for line in schema.splitlines():
        m = _FIELD.match(line)
        if not m:
            continue
        ph = m.group("ph")
        kind = "list" if ph.startswith("[") else _PH_TYPE.get(ph, "str")
        if re.fullmatch(r"-?\d+", ph):
            kind = "int"
        elif re.fullmatch(r"-?\d+\.\d*", ph):
            kind = "float"
        desc = (m.group("desc") or "").strip()
        optional = bool(m.group("opt")) or bool(_OPTIONAL_NOTE.match(desc))
        fields.append(FieldSpec(m.group("name"), kind, optional, _OPTIONAL_NOTE.sub("", desc)))
    return fields


def _name_words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    return [w.lower() for w in re.split(r"[_\-\s]+", spaced) if w]


def field_role(spec: FieldSpec) -> str | None:
    """The role of a field (see the module docstring); None when unknown."""
    parts = _name_words(spec.name)
    head = parts[-1:]
    if len(parts) > 1 and parts[-1] in _GENERIC_HEADS:  # "summary_text" is a summary
        head = parts[-2:-1]
    for group in (head, parts, [w.lower() for w in words(spec.description)]):
        for role, vocab in _ROLE_WORDS:
            if any(w in vocab for w in group):
                return role
    return None


def _typed(spec: FieldSpec, value: Any, joiner: str = ", ") -> Any:
    if spec.type == "bool":
        return False
    if spec.type in ("int", "float"):
        number = 5 if spec.name.lower() in _COUNT_NAMES else 0
        return float(number) if spec.type == "float" else number
    if spec.type == "list":
        items = value if isinstance(value, list) else [value] if value else []
        return [str(v) for v in items if str(v).strip()]
    text = joiner.join(map(str, value)) if isinstance(value, list) else str(value or "")
    return None if spec.optional and not text else text


# ---------------------------------------------------------------- extraction


def is_factual(sentence: str, *, strict: bool = False) -> bool:
    """A sentence that states something (questions and reactions do not). ``strict`` (the
    instruction says to skip small talk): only sentences with a date, number or name."""
    s = sentence.strip()
    if s.endswith("?") or len(words(s)) < 4:
        return False
    if find_relative(s) or find_dates(s) or re.search(r"\b\d+\b", s):
        return True
    if names_in(s, skip_initial=True):
        return True
    if strict:
        return False
    # A first-person statement with a role or an activity: "... as a <noun>", "my <noun> ..."
    return bool(re.search(r"\b(?:i|we|my|our)\b", s, re.I)) and bool(
        re.search(r"\bas an? \w+|\b(?:started|began|took up|picked up|joined|adopted|bought|"
                  r"moved|work|works|worked|working|lives?|lived|living)\b", s, re.I))


@dataclass(frozen=True)
class EpisodeView:
    date: str
    speakers: list[str]
    names: list[str]
    facts: list[str]
    keywords: list[str]
    text: str

    @property
    def summary(self) -> str:
        if self.facts:
            return "\n".join(self.facts)
        return " ".join(self.text.split())[:400]


def _resolved(sentence: str, day: dt.date | None) -> str:
    """The sentence with its relative-date phrase replaced by the day it names."""
    phrase = find_relative(sentence)
    if not phrase or day is None:
        return sentence
    exact = relative_day(phrase, day)
    when = f"on {format_date(exact)}" if exact else resolve_relative(phrase, day)
    return re.sub(re.escape(phrase), when, sentence, count=1, flags=re.I)


def view_episode(text: str, style: ExtractStyle | None = None) -> EpisodeView:
    """What the extraction step knows about an episode's text (``style``: what the
    instruction asks for that the extractor can do)."""
    style = style or ExtractStyle()
    header = re.search(r"^\s*\[([^\]]+)\]", text, re.M)
    dates = find_dates(header.group(1)) if header else find_dates(text)
    date = ""
    if dates:
        source = header.group(1) if header else text
        date = source[dates[0][0]:dates[0][1]]
    speakers = list(dict.fromkeys(u.speaker for u in parse_units(text) if u.speaker))
    facts: list[str] = []
    for unit in parse_units(text):
        if is_factual(unit.text, strict=style.skip_small_talk):
            who = f"{unit.speaker}: " if unit.speaker else ""
            when = f"[{date}] " if date else ""
            body = _resolved(unit.text, unit.date) if style.resolve_dates else unit.text
            facts.append(f"{when}{who}{body.rstrip('.!')}")
    names = list(dict.fromkeys(speakers + names_in(text, skip_initial=True)))
    terms = [p.lower() for u in parse_units(text) for p, _ in places(u.text, set())]
    freq = Counter(w.lower() for w in words(" ".join(f.partition("] ")[2] for f in facts))
                   if w.lower() not in STOPWORDS and w.lower() not in _TIME_WORDS
                   and len(w) > 2 and not w[0].isupper() and not w.isdigit())
    keywords = list(dict.fromkeys(names + terms + [w for w, _ in freq.most_common(12)]))[:20]
    return EpisodeView(date, speakers, names, facts, keywords, text)


def fill_knowledge_item(fields: list[FieldSpec], text: str,
                        instruction: str | None = None) -> dict[str, Any]:
    """JSON object for the KnowledgeItem schema from an episode's text."""
    view = view_episode(text, read_extraction(instruction))
    out: dict[str, Any] = {}
    for spec in fields:
        role = field_role(spec)
        value: Any = {
            "date": view.date, "speakers": view.speakers, "entities": view.names,
            "keywords": view.keywords, "facts": view.facts, "summary": view.summary,
            "raw": view.text, "question": view.summary,
            "type": "conversation",
        }.get(role or "", view.summary if spec.type == "str" else view.facts)
        out[spec.name] = _typed(spec, value, "\n" if role in ("facts", None) else ", ")
    return out


# ---------------------------------------------------------------- query


def question_type(question: str) -> str:
    info = analyze(question)
    if info.kind == "date":
        return "temporal"
    if info.plural:
        return "multi-hop"
    if info.latest:
        return "knowledge-update"
    return "single-hop"


def query_keywords(question: str, synonyms: bool = True) -> list[str]:
    """Content words of the question (names first), plus a few synonyms when asked for."""
    info = analyze(question)
    base = [w.lower() for w in words(question)
            if w.lower() not in STOPWORDS and w not in info.names and len(w) > 1]
    extra: list[str] = []
    for w in base if synonyms else ():
        for group in SYNONYMS:
            if w in group and len(group) <= 16:
                extra.extend(sorted(group - {w})[:3])
    return list(dict.fromkeys([*info.names, *base, *extra]))


def fill_query(fields: list[FieldSpec], question: str,
               instruction: str | None = None) -> dict[str, Any]:
    """JSON object for the Query schema from a question."""
    info = analyze(question)
    style = read_query(instruction)
    dates = find_dates(question)
    date = format_date(dates[0][2]) if dates else (find_relative(question) or "")
    out: dict[str, Any] = {}
    for spec in fields:
        role = field_role(spec)
        value: Any = {
            "date": date, "speakers": list(info.names), "entities": list(info.names),
            "keywords": query_keywords(question, style.synonyms),
            "type": question_type(question),
        }.get(role or "", question)
        out[spec.name] = _typed(spec, value, " " if role == "keywords" else ", ")
    return out
