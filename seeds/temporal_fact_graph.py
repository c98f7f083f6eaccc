"""Temporal fact graph: dated (subject, relation, object) facts whose validity newer facts close.

Paper: Zep (Rasmussen et al.), arXiv:2501.13956 (2025)

Design: Zep / Graphiti's bi-temporal knowledge graph (Rasmussen et al. 2025), reduced to what
one SQLite database holds: facts are edges (subject, relation, object) with valid_from /
valid_to; for single-valued relation types (Graphiti's custom edge types; here EDGE_TYPES:
"works as", "lives in") a newer fact about the same subject invalidates the older edge (its
valid_to is set), it is not deleted, so history stays queryable. Relative dates are resolved
against the session date when the fact is written, as Graphiti does at extraction.

Stores: table tfg_facts (subject, relation, object, display text, valid_from, valid_to,
episode) plus an FTS5 index over the display text.
Write: each entry of item.facts is parsed as 'subject | relation | object' or, when it is a
plain sentence ("Ana: I now work as a nurse"), heuristically on a copy whose first-person
words are rewritten to the speaker's name: the subject is the leading name (or the relative in
"Ana's sister Maya ..."), the relation is an EDGE_TYPES match or else the first verb; the fact
is displayed as said. Relative dates ("last
Saturday") are rewritten as calendar dates ("on 6 May 2023"); valid_from = that date or the session
date. A current single-valued fact with the same subject and relation is closed (valid_to =
new valid_from); a repeat of a current fact is skipped. Without extracted facts, first-person
lines of the raw text are used. 0 LLM calls.
Read: bm25 over the facts plus the facts of every entity named in the query (the graph
neighbourhood), then CURRENT facts first (with "since" dates), then superseded HISTORY with
its validity span.

Strengths: knowledge updates (latest value wins) and temporal questions (absolute dates);
short facts pack many into the budget. Weaknesses: the heuristic triple parser is crude for
free text; facts the extraction missed are lost; only the relation types in EDGE_TYPES are
treated as single-valued, anything else just accumulates.

Toolkit LLM calls: 0 per write, 0 per read.
"""

import re
from dataclasses import dataclass
from datetime import date, timedelta

from ._shared import (
    _DATE,
    _FIRST_PERSON,
    _HEADER,
    _LEADING_DATE,
    _MONTHS,
    _SKIP,
    _SPEAKER,
    _WEEKDAYS,
    _WORD,
    _episode_lines,
    _fmt,
    _list_field,
    _match_expression,
    _stem,
    _text_field,
)

# --- design parameters ---
CANDIDATES = 30  # facts taken from the lexical index
ENTITY_FACTS = 12  # facts added per entity named in the query
ENTITY_BONUS = 0.5  # score added to facts of an entity named in the query
RESOLVE_RELATIVE_DATES = True  # rewrite 'yesterday', 'last Saturday'... as calendar dates
KEEP_RELATIVE_PHRASE = False  # keep the phrase and add the date in parentheses instead
EDGE_TYPES = {  # single-valued relations: a newer one closes the older (Zep custom edge types)
    "works as": r"\b(?:works?|working|worked|employed|hired|job|career) as\b",
    "lives in": r"\b(?:live[sd]?|living) in\b|\b(?:moved|relocated|moving) to\b",
}
OBJECT_KEY_WORDS = 2  # leading object words that identify a value (repeat detection)
HISTORY_SHARE = 0.3  # share of the budget kept for superseded facts
FALLBACK_LINES = 8  # raw lines used when the agent extracted no facts
MAX_FACT_CHARS = 300  # one fact is clipped to this length
MAX_CHARS = 3000  # read() budget (hard cap 3000)
# --- end design parameters ---

TOOLKIT_LLM_CALLS = {"write": 0, "read": 0}

INSTRUCTION_KNOWLEDGE_ITEM = (
    "List in 'facts' every fact about people in the episode as 'subject | relation | object', "
    "one per entry, with full names (e.g. 'Ana | adopted | a dog named Biscuit last Saturday', "
    "'Ana | works as | a nurse'). Use the same relation wording for the same kind of fact "
    "(works as, lives in, has pet, is married to) so later changes replace earlier ones. Keep "
    "time expressions as said. Skip small talk."
)
INSTRUCTION_QUERY = (
    "Copy the question verbatim into 'question'. In 'entities' list the people or things it "
    "is about; in 'keywords' the relation or topic words (e.g. job, pet, moved)."
)
INSTRUCTION_RESPONSE = (
    "Answer with a short phrase (names, dates, numbers), not a full sentence. Current facts "
    "hold now; superseded facts held during the dates shown. Dates inside a fact are when it "
    "happened. If the memory does not contain the answer, answer 'not mentioned'."
)
ALWAYS_ON_KNOWLEDGE = ""

_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
            "seven": 7, "eight": 8, "nine": 9, "ten": 10}  # vague amounts stay unresolved
_STOP = _SKIP | frozenset(
    "and or but if of to in on at for with from by about as is am are was were be been do does "
    "did have has had me him her us them this that what which who when where why how so not no "
    "can could would will current currently latest recent recently ever".split())
_PRONOUNS = [(r"\bI'm\b", "{s} is"), (r"\bI've\b", "{s} has"), (r"\bI'll\b", "{s} will"),
             (r"\bI\b", "{s}"), (r"\b[Mm]y\b", "{s}'s"), (r"\b[Mm]e\b", "{s}")]


@dataclass
class KnowledgeItem:
    facts: list[str] = _list_field("facts as 'subject | relation | object', one per entry")


@dataclass
class Query:
    question: str = _text_field("the question, verbatim")
    entities: list[str] = _list_field("people or things the question is about")
    keywords: list[str] = _list_field("relation or topic words (job, pet...)")


# -- dates -------------------------------------------------------------------------------
def _session_day(lines: list[str]) -> date | None:
    if not lines or not _HEADER.match(lines[0]):
        return None
    return _parse_day(lines[0])


def _parse_day(text: str) -> date | None:
    """The first '8 May, 2023'-style date in ``text``."""
    match = _DATE.search(text)
    if not match or match.group(2).lower()[:3] not in [m[:3] for m in _MONTHS]:
        return None
    month = [m[:3] for m in _MONTHS].index(match.group(2).lower()[:3]) + 1
    try:
        return date(int(match.group(3)), month, int(match.group(1)))
    except ValueError:
        return None


def _shift_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _resolve_phrase(phrase: str, day: date) -> tuple[str, date | None]:
    """Absolute wording of one relative time phrase: ("on 6 May 2023", that day)."""
    p = phrase.lower()
    if p == "yesterday":
        d = day - timedelta(days=1)
        return f"on {_fmt(d)}", d
    if p in ("today", "tonight", "this morning", "this afternoon", "this evening"):
        return f"on {_fmt(day)}", day
    if p == "tomorrow":
        d = day + timedelta(days=1)
        return f"on {_fmt(d)}", d
    words = p.split()
    if words[-1] in _WEEKDAYS:
        target = _WEEKDAYS.index(words[-1])
        if words[0] == "next":
            d = day + timedelta(days=(target - day.weekday() - 1) % 7 + 1)
        else:
            d = day - timedelta(days=(day.weekday() - target - 1) % 7 + 1)
        return f"on {_fmt(d)}", d
    if p == "last weekend":
        d = day - timedelta(days=(day.weekday() - 5 - 1) % 7 + 1)
        return f"on the weekend of {_fmt(d)}", d
    if p in ("last week", "next week"):
        d = day + timedelta(days=7 if words[0] == "next" else -7)
        return f"in the week of {_fmt(d)}", d
    if p in ("last month", "next month"):
        d = _shift_months(day, 1 if words[0] == "next" else -1)
        return f"in {_MONTHS[d.month - 1].capitalize()} {d.year}", d
    if p in ("last year", "next year"):
        d = date(day.year + (1 if words[0] == "next" else -1), 1, 1)
        return f"in {d.year}", d
    match = re.match(r"(\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten)"
                     r" (day|week|month|year)s? ago", p)
    if match:
        n = int(match.group(1)) if match.group(1).isdigit() else _NUMBERS[match.group(1)]
        unit = match.group(2)
        if unit in ("day", "week"):
            d = day - timedelta(days=n * (7 if unit == "week" else 1))
            return f"on {_fmt(d)}", d
        if unit == "month":
            d = _shift_months(day, -n)
            return f"in {_MONTHS[d.month - 1].capitalize()} {d.year}", d
        return f"in {day.year - n}", date(day.year - n, 1, 1)
    return "", None


_RELATIVE = re.compile(
    r"\b(yesterday|today|tonight|tomorrow|this (?:morning|afternoon|evening)|"
    r"(?:last|this past|next) (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)|"
    r"last weekend|(?:last|next) (?:week|month|year)|"
    r"(?<!few )(?<!couple of )(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten) "
    r"(?:day|week|month|year)s? ago)\b", re.IGNORECASE)


def _resolve_dates(text: str, day: date | None) -> tuple[str, date | None]:
    """``text`` with relative phrases made absolute ("on 6 May 2023"), and the first such day."""
    if day is None or not RESOLVE_RELATIVE_DATES:
        return text, None
    first: list[date] = []

    def replace(match: re.Match) -> str:
        label, when = _resolve_phrase(match.group(0).replace("this past", "last"), day)
        if when is not None and not first:
            first.append(when)
        if not label:
            return match.group(0)
        return f"{match.group(0)} ({label})" if KEEP_RELATIVE_PHRASE else label

    return _RELATIVE.sub(replace, text), (first[0] if first else None)


# -- fact parsing --------------------------------------------------------------------------


def _edge_type(text: str) -> str:
    """The canonical single-valued relation a fact expresses, or ''."""
    for name, pattern in EDGE_TYPES.items():
        if re.search(pattern, text, re.IGNORECASE):
            return name
    return ""


def _subject_of(text: str) -> str:
    """'Maya' for "Ana's sister Maya lives in Oslo", else the leading name."""
    match = re.match(r"^([A-Z][\w-]*)'s (?:[a-z]+ ){1,2}([A-Z][\w-]*)\b", text)
    if match:
        return match.group(2)
    words = _WORD.findall(text)
    if words and words[0][0].isupper() and words[0].lower() not in _SKIP:
        return re.sub(r"'s$", "", words[0])
    return ""


def _parse_fact(entry: str) -> tuple[str, str, bool, str, str] | None:
    """(subject, relation, single-valued?, object, display text) of one extracted entry."""
    text = " ".join(entry.split())[:MAX_FACT_CHARS]
    if not text:
        return None
    parts = [p.strip() for p in text.split("|")]
    if len(parts) >= 3 and parts[0] and parts[1]:
        subject, relation, obj = parts[0], parts[1], " ".join(parts[2:])
        edge = _edge_type(relation + " ")
        key = edge or " ".join(_stem(w.lower()) for w in _WORD.findall(relation))
        return subject, key, bool(edge), obj, f"{subject} {relation} {obj}"
    shown = text  # displayed as said ("Ana: My sister ..."): who is who stays unambiguous
    match = _SPEAKER.match(text)
    if match:  # parse a copy with first-person words rewritten to the speaker's name
        speaker, body = match.group(1), match.group(2)
        for pattern, replacement in _PRONOUNS:
            body = re.sub(pattern, replacement.format(s=speaker), body)
        text = body if body.startswith(speaker) else f"{speaker}: {body}"
    subject = _subject_of(text)
    edge = _edge_type(text)
    if edge:
        found = re.search(EDGE_TYPES[edge], text, re.IGNORECASE)
        obj = text[found.end():] if found else text
        return subject, edge, True, obj, shown
    after = text.split(subject, 1)[-1] if subject else text
    content = [w for w in _WORD.findall(after) if w.lower() not in _SKIP and w != "'s"]
    relation = _stem(content[0].lower()) if content else ""
    return subject, relation, False, " ".join(content[1:]), shown


def _norm(text: str) -> str:
    """The first content words of an object: enough to tell 'Lisbon' from 'Oslo'."""
    stems = [_stem(w.lower()) for w in _WORD.findall(text) if w.lower() not in _STOP]
    return " ".join(stems[:OBJECT_KEY_WORDS])


class KnowledgeBase:
    """Facts with validity intervals in SQLite."""

    def __init__(self, toolkit):
        self.toolkit = toolkit
        self.db = toolkit.db
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS tfg_facts(id INTEGER PRIMARY KEY, subject TEXT, "
            "relation TEXT, object TEXT, norm TEXT, body TEXT, valid_from TEXT, "
            "valid_from_ord INTEGER, valid_to TEXT, episode INTEGER)")
        self.db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS tfg_fts USING fts5("
                        "body, fid UNINDEXED, tokenize='porter unicode61')")
        self.db.commit()
        self.episodes = 0

    def write(self, item: KnowledgeItem, raw_text: str) -> None:
        lines = _episode_lines(raw_text)
        day = _session_day(lines)
        entries = [str(f) for f in (item.facts or []) if str(f).strip().lower() != "filler"]
        if not entries:
            body = [ln for ln in lines if not _HEADER.match(ln)]
            entries = [ln for ln in body if _FIRST_PERSON.search(ln)][:FALLBACK_LINES]
        episode = self.episodes
        self.episodes += 1
        for entry in entries:
            entry_day = day
            dated = _LEADING_DATE.match(entry)  # "[8 May, 2023] Ana: ..." style entries
            if dated:
                entry, entry_day = entry[dated.end():], _parse_day(dated.group(1)) or day
            parsed = _parse_fact(entry)
            if parsed:
                self._insert(*parsed, day=entry_day, episode=episode)
        self.db.commit()

    def _insert(self, subject, relation, single, obj, text, *, day, episode) -> None:
        text, when = _resolve_dates(text, day)
        when = when or day
        start = _fmt(when) if when else ""
        start_ord = when.toordinal() if when else episode
        key_subject = subject.lower()
        current = self.db.execute(
            "SELECT id, norm FROM tfg_facts WHERE subject = ? AND relation = ? AND valid_to IS "
            "NULL", (key_subject, relation)).fetchall() if key_subject and relation else []
        norm = _norm(obj or text)
        if any(row_norm == norm for _, row_norm in current):
            return  # the same fact again: still valid, nothing to record
        for fact_id, _ in current if single else []:
            self.db.execute("UPDATE tfg_facts SET valid_to = ? WHERE id = ?",
                            (start or f"episode {episode}", fact_id))
        cursor = self.db.execute(
            "INSERT INTO tfg_facts(subject, relation, object, norm, body, valid_from, "
            "valid_from_ord, valid_to, episode) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)",
            (key_subject, relation, obj, norm, text, start, start_ord, episode))
        self.db.execute("INSERT INTO tfg_fts(body, fid) VALUES (?, ?)", (text, cursor.lastrowid))

    # -- read ----------------------------------------------------------------------------
    def read(self, query: Query) -> str:
        parts = [query.question or "", *map(str, query.entities or []),
                 *map(str, query.keywords or [])]
        text = " ".join(parts).strip()
        if not text:
            return ""
        scores: dict[int, float] = {}
        expression = _match_expression(text, _STOP)
        if expression:
            rows = self.db.execute(
                "SELECT fid FROM tfg_fts WHERE tfg_fts MATCH ? ORDER BY bm25(tfg_fts) LIMIT ?",
                (expression, CANDIDATES)).fetchall()
            for rank, (fid,) in enumerate(rows):
                scores[int(fid)] = 1.0 / (1 + rank)
        names = {re.sub(r"'s$", "", w.lower()) for w in _WORD.findall(text) if w[0].isupper()}
        for entity in query.entities or []:
            names |= {re.sub(r"'s$", "", w.lower()) for w in _WORD.findall(str(entity))}
        for name in sorted(names):
            rows = self.db.execute(
                "SELECT id FROM tfg_facts WHERE subject = ? ORDER BY valid_to IS NOT NULL, "
                "valid_from_ord DESC LIMIT ?", (name, ENTITY_FACTS)).fetchall()
            for (fid,) in rows:
                scores[int(fid)] = scores.get(int(fid), 0.0) + ENTITY_BONUS
        if not scores:
            return ""
        ids = sorted(scores, key=lambda f: (-scores[f], f))
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f"SELECT id, body, valid_from, valid_to FROM tfg_facts WHERE id IN ({marks})",
            ids).fetchall()
        by_id = {int(r[0]): r for r in rows}
        current = [by_id[f] for f in ids if f in by_id and by_id[f][3] is None]
        history = [by_id[f] for f in ids if f in by_id and by_id[f][3] is not None]
        out = self._section("Current facts:", current, [
            f"- {body}" + (f" [since {start}]" if start else "") for _, body, start, _ in current],
            MAX_CHARS - (int(MAX_CHARS * HISTORY_SHARE) if history else 0))
        room = MAX_CHARS - len(out) - 2
        older = self._section("Superseded (no longer true):", history, [
            f"- {body} [{start or '?'} to {end}]" for _, body, start, end in history], room)
        return "\n\n".join(p for p in (out, older) if p)[:MAX_CHARS]

    @staticmethod
    def _section(title: str, rows: list, lines: list[str], budget: int) -> str:
        if not rows or budget <= len(title) + 10:
            return ""
        kept, used = [title], len(title)
        for line in lines:
            if used + 1 + len(line) > budget:
                continue
            kept.append(line)
            used += 1 + len(line)
        return "\n".join(kept) if len(kept) > 1 else ""
