"""Memory-T1-style temporal selection: coarse time/relevance filter of sessions, fine evidence pick.

Paper: Memory-T1 (Du et al.), arXiv:2512.20092 (ICLR 2026)

Design: Memory-T1 answers temporal questions over many dated sessions in two stages: a coarse
stage prunes the history to candidate sessions with a temporal filter (the time scope the
question names) and a relevance filter (a retriever), then a fine stage (an RL-trained policy
in the paper; deterministic scoring here) selects the few evidence sessions, rewarded for
grounding and for temporal consistency (sessions near the asked time, utterances whose own
dates fit). Answers must carry dates, so every evidence line is shown with its absolute date
and relative expressions ("last Saturday", "two weeks ago") are rewritten as calendar dates.

Stores: every session (date, turns) and, in a toolkit.chroma collection (cosine space), one
row per turn tagged with its session, plus one session row (its date, summary and facts).
Write: split the raw text into turns (lines), keep the [date] header as the session date;
0 LLM calls.
Read: (1) time scope from the question and Query.time_scope: an explicit date (+- SCOPE_DAYS),
"May 2023", "in May", "2023", "before/after <date>"; "now/latest/currently" asks for recency.
Sessions outside the scope are dropped (all are kept when none fits). (2) relevance: the
CANDIDATE_TURNS nearest turns (embedded without their speaker prefix) are scored: similarity
+ LEXICAL_WEIGHT x share of the question's words + NAME_BONUS when a name of the question
occurs + FACT_BONUS when the agent listed the turn as a fact - CHATTER_PENALTY for questions
and short remarks (evidence density); a session scores its best turn + SESSION_WEIGHT x its
session row (+ RECENCY_BONUS by date rank when the question asks for the latest); the best
CANDIDATE_SESSIONS remain.
(3) fine selection: sessions scoring >= FINE_RATIO x the best, at most EVIDENCE_SESSIONS;
from each, its best TURNS_PER_SESSION turns, in chronological order, as
"[6 May 2023] Ana: I adopted a dog named Biscuit on 6 May 2023!".
Prompting: INSTRUCTION_QUERY asks for the time scope; INSTRUCTION_RESPONSE asks for answers
that carry calendar dates for when-questions and the latest session for current values.

Strengths: temporal questions (absolute dates, ordering, "latest"); works on raw sessions
without extraction. Weaknesses: scope parsing is pattern-based; a session is judged by its best
turns, so facts spread over many sessions (lists) can exceed EVIDENCE_SESSIONS.

Toolkit LLM calls: 0 per write, 0 per read.
"""

import re
from dataclasses import dataclass
from datetime import date, timedelta

from ._shared import (
    _DATE,
    _HEADER,
    _MONTHS,
    _NAME,
    _WEEKDAYS,
    _WORD,
    _cosine_collection,
    _episode_lines,
    _fmt,
    _list_field,
    _query_text,
    _text_field,
)

# --- design parameters ---
CANDIDATE_TURNS = 60  # nearest turns that vote for sessions (relevance filter)
CANDIDATE_SESSIONS = 10  # sessions kept by the coarse stage
EVIDENCE_SESSIONS = 6  # sessions kept by the fine stage
FINE_RATIO = 0.4  # a session needs this share of the best session's score
TURNS_PER_SESSION = 4  # turns shown per evidence session
SESSION_WEIGHT = 0.3  # weight of the session row (summary/facts) in a session's score
NAME_BONUS = 0.15  # added to turns that mention a name from the question
LEXICAL_WEIGHT = 0.5  # weight of the share of the question's content words found in a turn
FACT_BONUS = 0.2  # added to turns the task agent listed among the session's facts
CHATTER_PENALTY = 0.3  # taken from questions and turns with fewer than 4 content words
RECENCY_BONUS = 0.25  # spread over sessions by date when the question asks for the latest
SCOPE_DAYS = 3  # margin around an explicit date in the question
RESOLVE_RELATIVE_DATES = True  # rewrite 'last Saturday' as '6 May 2023' in evidence lines
MAX_TURN_CHARS = 300  # one turn is clipped to this length
MAX_CHARS = 3000  # read() budget (hard cap 3000)
# --- end design parameters ---

TOOLKIT_LLM_CALLS = {"write": 0, "read": 0}

INSTRUCTION_KNOWLEDGE_ITEM = (
    "'summary': two or three sentences saying who talked about what in this session. "
    "'facts': the dated events and facts of the session, one per entry, with full names and "
    "time expressions as said ('Ana adopted a dog last Saturday')."
)
INSTRUCTION_QUERY = (
    "Copy the question verbatim into 'question'. In 'time_scope' write the time the question "
    "is about if it names one (a date, month, year, 'before June 2023', 'latest'), else "
    "leave it empty. In 'keywords' list the people, events and objects asked about."
)
INSTRUCTION_RESPONSE = (
    "Answer with a short phrase. Every evidence line carries its calendar date: for "
    "when-questions answer with that date (day month year); for current values use the "
    "latest session. If the memory does not contain the answer, answer 'not mentioned'."
)
ALWAYS_ON_KNOWLEDGE = ""

_COUNTS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
           "seven": 7, "eight": 8, "nine": 9, "ten": 10}
_RELATIVE = re.compile(
    r"\b(yesterday|today|tonight|this (?:morning|afternoon|evening)|"
    r"(?:last|this past) (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)|"
    r"last (?:week|weekend|month|year)|"
    r"(?<!few )(?<!couple of )(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten) "
    r"(?:day|week|month|year)s? ago)\b", re.IGNORECASE)
_MONTH_YEAR = re.compile(r"\b(" + "|".join(m[:3] for m in _MONTHS) + r")[a-z]*\.?,?\s+(\d{4})\b",
                         re.IGNORECASE)
_IN_MONTH = re.compile(r"\b(?:in|during) (" + "|".join(_MONTHS) + r")\b", re.IGNORECASE)
_YEAR = re.compile(r"\b(?:in|during) (\d{4})\b")
_BEFORE_AFTER = re.compile(r"\b(before|after|since|until)\b", re.IGNORECASE)
_RECENT = re.compile(r"\b(now|currently|current|latest|most recent(?:ly)?|these days|"
                     r"at the moment|still)\b", re.IGNORECASE)
_NOT_NAMES = frozenset(
    "what when where which who whom whose why how did does do is are was were has have had "
    "the a an in on at for and or but if not i".split())
_STOP = _NOT_NAMES | frozenset(
    "of to from by with about as be been my your his her their our me you he she it we they "
    "this that there here so just very really oh yeah can could would will now currently "
    "current latest recent recently ever still any some".split())
_SPEAKER = re.compile(r"^\s*([A-Z][\w'.-]*(?: [A-Z][\w'.-]*)?)\s*:\s*")


def _key(text: str) -> str:
    """A turn or fact without date, speaker and punctuation: matches one against the other."""
    text = re.sub(r"^\s*\[[^\]]*\]\s*", "", str(text))
    return " ".join(w.lower() for w in _WORD.findall(_SPEAKER.sub("", text)))


def _stems(text: str) -> set[str]:
    return {w.lower()[:5] for w in _WORD.findall(text) if w.lower() not in _STOP}


@dataclass
class KnowledgeItem:
    summary: str = _text_field("two or three sentences: who talked about what")
    facts: list[str] = _list_field("dated events and facts of the session, one per entry")


@dataclass
class Query:
    question: str = _text_field("the question, verbatim")
    time_scope: str = _text_field(
        "time the question is about (date, month, year, 'before June 2023', 'latest'), or empty")
    keywords: list[str] = _list_field("people, events and objects asked about")


# -- dates -------------------------------------------------------------------------------
def _parse_day(text: str) -> date | None:
    """The first '8 May, 2023'-style date in ``text``."""
    for match in _DATE.finditer(text or ""):
        month = match.group(2).lower()[:3]
        months = [m[:3] for m in _MONTHS]
        if month in months:
            try:
                return date(int(match.group(3)), months.index(month) + 1, int(match.group(1)))
            except ValueError:
                continue
    return None


def _month_shift(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _resolve(phrase: str, day: date) -> str:
    """Calendar wording of one relative phrase said on ``day`` ('' when too vague)."""
    p = phrase.lower().replace("this past", "last")
    if p == "yesterday":
        return _fmt(day - timedelta(days=1))
    if p in ("today", "tonight") or p.startswith("this "):
        return _fmt(day)
    words = p.split()
    if words[0] == "last" and words[-1] in _WEEKDAYS:
        back = (day.weekday() - _WEEKDAYS.index(words[-1]) - 1) % 7 + 1
        return _fmt(day - timedelta(days=back))
    if p == "last weekend":
        return "the weekend of " + _fmt(day - timedelta(days=(day.weekday() - 5 - 1) % 7 + 1))
    if p == "last week":
        return "the week of " + _fmt(day - timedelta(days=7))
    if p == "last month":
        shifted = _month_shift(day, -1)
        return f"{_MONTHS[shifted.month - 1].capitalize()} {shifted.year}"
    if p == "last year":
        return str(day.year - 1)
    match = re.match(r"(\d+|\w+) (day|week|month|year)s? ago", p)
    if match:
        n = int(match.group(1)) if match.group(1).isdigit() else _COUNTS.get(match.group(1), 0)
        unit = match.group(2)
        if unit in ("day", "week"):
            return _fmt(day - timedelta(days=n * (7 if unit == "week" else 1)))
        if unit == "month":
            shifted = _month_shift(day, -n)
            return f"{_MONTHS[shifted.month - 1].capitalize()} {shifted.year}"
        return str(day.year - n)
    return ""


def _absolute(text: str, day: date | None) -> str:
    """``text`` with relative time phrases rewritten as calendar dates said on ``day``."""
    if day is None or not RESOLVE_RELATIVE_DATES:
        return text

    def replace(match: re.Match) -> str:
        label = _resolve(match.group(0), day)
        return f"on {label}" if label and label[0].isdigit() and " " in label else \
            (f"in {label}" if label else match.group(0))

    return _RELATIVE.sub(replace, text)


def _scope(text: str) -> tuple[date | None, date | None, bool]:
    """(first day, last day, wants recency) of the time a question asks about."""
    recent = bool(_RECENT.search(text))
    day = _parse_day(text)
    direction = _BEFORE_AFTER.search(text)
    if day is not None:
        if direction and direction.group(1).lower() in ("before", "until"):
            return None, day, recent
        if direction:
            return day, None, recent
        return day - timedelta(days=SCOPE_DAYS), day + timedelta(days=SCOPE_DAYS), recent
    month_year = _MONTH_YEAR.search(text)
    if month_year:
        month = [m[:3] for m in _MONTHS].index(month_year.group(1).lower()[:3]) + 1
        start = date(int(month_year.group(2)), month, 1)
        return start, _month_shift(start, 1) - timedelta(days=1), recent
    year = _YEAR.search(text)
    if year and 1900 < int(year.group(1)) < 2200:
        return date(int(year.group(1)), 1, 1), date(int(year.group(1)), 12, 31), recent
    return None, None, recent


def _in_month(text: str) -> int:
    match = _IN_MONTH.search(text)
    return _MONTHS.index(match.group(1).lower()) + 1 if match else 0


class KnowledgeBase:
    """Dated sessions with turn-level and session-level vectors."""

    def __init__(self, toolkit):
        self.toolkit = toolkit
        self.index = _cosine_collection(toolkit, "t1_turns")
        self.sessions: list[dict] = []

    def write(self, item: KnowledgeItem, raw_text: str) -> None:
        lines = _episode_lines(raw_text, squeeze=True)
        if not lines:
            return
        header = lines[0] if _HEADER.match(lines[0]) else ""
        turns = [ln[:MAX_TURN_CHARS] for ln in (lines[1:] if header else lines)]
        if not turns:
            return
        day = _parse_day(header) if header else None
        n = len(self.sessions)
        facts = [" ".join(str(f).split()) for f in (item.facts or []) if str(f).strip()]
        session_doc = " ".join([str(item.summary or ""), *facts])[:2000].strip()
        fact_keys = {_key(f) for f in facts}
        prior = [(FACT_BONUS if _key(t) in fact_keys else 0.0)
                 - (CHATTER_PENALTY if t.rstrip().endswith("?") or len(_stems(t)) < 5 else 0.0)
                 for t in turns]
        self.sessions.append({"day": day, "header": header, "turns": turns,
                              "stems": [_stems(t) for t in turns], "prior": prior})
        # turns are embedded without their speaker prefix: the name would make every short
        # remark of a person look relevant to any question about that person
        docs = [*[_SPEAKER.sub("", t) or t for t in turns], session_doc or " ".join(turns)[:2000]]
        self.index.add(ids=[f"s{n}-{k}" for k in range(len(docs))], documents=docs,
                       metadatas=[{"session": n, "k": k, "row": "turn" if k < len(turns)
                                   else "session"} for k in range(len(docs))])

    # -- read ----------------------------------------------------------------------------
    def _scoped(self, text: str) -> tuple[list[int], bool]:
        """Coarse temporal filter: sessions in the asked time scope (all when none fit)."""
        start, end, recent = _scope(text)
        month = _in_month(text) if start is None and end is None else 0
        kept = []
        for n, session in enumerate(self.sessions):
            day = session["day"]
            if day is None:
                kept.append(n)
                continue
            if (start and day < start) or (end and day > end) or (month and day.month != month):
                continue
            kept.append(n)
        return (kept or list(range(len(self.sessions)))), recent

    def read(self, query: Query) -> str:
        text = _query_text(query)
        if not text or not self.sessions:
            return ""
        scope_text = f"{query.question or ''} {query.time_scope or ''}"
        scoped, recent = self._scoped(scope_text)
        names = {m.lower() for m in _NAME.findall(query.question or "")} - _NOT_NAMES
        wanted = _stems(text) - {n[:5] for n in names}
        where = {"session": {"$in": scoped}} if len(scoped) < len(self.sessions) else None
        found = self.index.query(query_texts=[text], n_results=CANDIDATE_TURNS, where=where)
        turn_scores: dict[int, dict[int, float]] = {}
        session_row: dict[int, float] = {}
        for meta, dist in zip(found["metadatas"][0], found["distances"][0], strict=True):
            n, k = int(meta["session"]), int(meta["k"])
            sim = 1.0 - float(dist)
            if meta.get("row") == "session":
                session_row[n] = sim
                continue
            turn = self.sessions[n]["turns"][k].lower()
            if names and any(name in turn for name in names):
                sim += NAME_BONUS
            sim += self.sessions[n]["prior"][k]
            if wanted:
                sim += LEXICAL_WEIGHT * len(wanted & self.sessions[n]["stems"][k]) / len(wanted)
            turn_scores.setdefault(n, {})[k] = sim
        scores = {n: max(turns.values()) + SESSION_WEIGHT * session_row.get(n, 0.0)
                  for n, turns in turn_scores.items()}
        if recent and scores:  # temporal consistency: later sessions win for current values
            order = sorted(scores, key=lambda n: (self.sessions[n]["day"] or date.min, n))
            for rank, n in enumerate(order):
                scores[n] += RECENCY_BONUS * rank / max(1, len(order) - 1)
        candidates = sorted(scores, key=lambda n: (-scores[n], n))[:CANDIDATE_SESSIONS]
        if not candidates:
            return ""
        best = scores[candidates[0]]
        evidence = [n for n in candidates if scores[n] >= FINE_RATIO * best][:EVIDENCE_SESSIONS]
        return self._render(sorted(evidence, key=lambda n: (self.sessions[n]["day"] or
                                                            date.min, n)), turn_scores)

    def _render(self, evidence: list[int], turn_scores: dict[int, dict[int, float]]) -> str:
        blocks, used = [], 0
        share = MAX_CHARS // max(1, len(evidence))
        for n in evidence:
            session = self.sessions[n]
            day = session["day"]
            stamp = f"[{_fmt(day)}] " if day else (f"{session['header']} " if
                                                    session["header"] else "")
            best = sorted(turn_scores[n], key=lambda k: -turn_scores[n][k])[:TURNS_PER_SESSION]
            lines, size = [], 0
            for k in sorted(best):
                line = f"{stamp}{_absolute(session['turns'][k], day)}"
                if size + len(line) + 1 > share or used + size + len(line) + 1 > MAX_CHARS:
                    continue
                lines.append(line)
                size += len(line) + 1
            if lines:
                blocks.append("\n".join(lines))
                used += size + 1
        return "\n".join(blocks)[:MAX_CHARS]
