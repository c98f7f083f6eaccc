"""Dates written without all of day, month and year, resolved against the session date.

Conversations rarely write a full date: "I start on the first of May", "she broke her wrist
in April", "I went in 2019", "we fly out on the sixteenth", "from the tenth to the twentieth
of July". ``partial_dates`` finds such phrases in a sentence (English ordinals and month names
only, nothing of any corpus) and gives the answer text a reader would write: "1 May 2023",
"April 2023", "2019", "10 to 20 July 2023".

The missing year (or month) comes from the date the sentence was told. Which side of it:
future wording ("will", "going to", "next", "start", "booked") takes the first such day at
or after the session date, past wording ("-ed", an irregular past, "was", "last") the latest
at or before it, and anything else the nearest. Limits: one reading per phrase, no
"the week after next", and a month-only phrase is never turned into a day.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from .english import IRREGULAR
from .text import MONTH_ABBR, MONTHS, make_date

_ORDINAL_WORDS = ("first second third fourth fifth sixth seventh eighth ninth tenth eleventh "
                  "twelfth thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth "
                  "nineteenth twentieth").split()
ORDINALS: dict[str, int] = {w: i + 1 for i, w in enumerate(_ORDINAL_WORDS)}
ORDINALS |= {f"twenty-{w}": 20 + i + 1 for i, w in enumerate(_ORDINAL_WORDS[:9])}
ORDINALS |= {f"twenty {w}": 20 + i + 1 for i, w in enumerate(_ORDINAL_WORDS[:9])}
ORDINALS |= {"thirtieth": 30, "thirty-first": 31, "thirty first": 31}

_ORD = (r"(\d{1,2}(?:st|nd|rd|th)?|"
        + "|".join(sorted((re.escape(w) for w in ORDINALS), key=len, reverse=True)) + ")")
_MON = (r"(jan(?:uary)?|feb(?:ruary)?|march|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
        r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?")
_TO = r"\s*(?:to|until|till|and|through|-|–)\s*(?:the\s+)?"
# Each pattern: (regex, what its groups are). Longest forms first; overlaps keep the first.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"\b(?:the\s+)?{_ORD}{_TO}{_ORD}\s+(?:of\s+)?{_MON}", re.I), "d-d m"),
    (re.compile(rf"\b{_MON}\s+{_ORD}{_TO}{_ORD}\b(?!\s*,?\s*\d{{4}})", re.I), "m d-d"),
    (re.compile(rf"\b(?:the\s+)?{_ORD}\s+(?:of\s+)?{_MON}(?!\s*,?\s*\d{{4}})", re.I), "d m"),
    (re.compile(rf"\b{_MON}\s+(?:the\s+)?{_ORD}\b(?!\s*,?\s*\d{{4}})", re.I), "m d"),
    (re.compile(rf"\b{_MON}\s*,?\s+((?:19|20)\d\d)\b", re.I), "m y"),
    (re.compile(rf"\b(in|since|by|until|till|next|last|this|early|late|mid-?|during|from|"
                rf"around|before|after|of)\s+(?:early\s+|late\s+|mid-?)?{_MON}", re.I), "cue m"),
    (re.compile(r"\b(?:in|since|of|from|back in|around|by|until)\s+((?:19|20)\d\d)\b(?!-)",
                re.I), "y"),
    (re.compile(rf"\bon\s+the\s+{_ORD}\b(?!\s+(?:of\s+)?{_MON})", re.I), "d"),
)
_FUTURE = re.compile(r"\b(will|'ll|going to|gonna|next|plan(?:s|ning)?|start(?:s|ing)?|"
                     r"begin(?:s|ning)?|booked|book|coming|upcoming|shall|is on|are on|due|"
                     r"scheduled|hope to|want to|leav(?:e|es|ing)|fly(?:ing)? out)\b", re.I)
_PAST_IRREGULAR = frozenset(w for w, base in IRREGULAR.items() if w != base and
                            w not in ("is", "are", "am", "has", "does", "read"))
_PAST = re.compile(r"\b(was|were|did|had|ago|last|\w{3,}ed)\b", re.I)


@dataclass(frozen=True)
class PartialDate:
    """A date phrase found in a sentence: where it is, and the answer text it resolves to."""

    start: int
    end: int
    text: str
    day: dt.date | None  # the exact day when the phrase names one (first day of a range)


def _ordinal(token: str) -> int | None:
    low = token.lower().strip()
    if low in ORDINALS:
        return ORDINALS[low]
    digits = re.match(r"\d{1,2}", low)
    value = int(digits.group(0)) if digits else 0
    return value if 1 <= value <= 31 else None


def _month(token: str) -> int:
    return MONTH_ABBR[token.lower()[:3]]  # every ``_MON`` match starts with its abbreviation


def tense(sentence: str) -> int:
    """+1 when the sentence speaks of the future, -1 of the past, 0 when it cannot tell."""
    if _FUTURE.search(sentence):
        return 1
    words = {w.lower() for w in re.findall(r"[A-Za-z']+", sentence)}
    if _PAST.search(sentence) or words & _PAST_IRREGULAR:
        return -1
    return 0


_CLAUSE_BREAK = re.compile(r"[,;:]|\s(?:and|but|so|because|while|although)\s", re.I)


def clause_around(sentence: str, start: int, end: int) -> str:
    """The clause of ``sentence`` holding the span [start, end) (its tense is the phrase's)."""
    left = max((m.end() for m in _CLAUSE_BREAK.finditer(sentence, 0, start)), default=0)
    right = next((m.start() for m in _CLAUSE_BREAK.finditer(sentence, end)), len(sentence))
    return sentence[left:right]


def _pick(candidates: list[dt.date], base: dt.date, direction: int) -> dt.date:
    """The candidate day on ``direction``'s side of ``base`` (nearest when 0 or none is)."""
    if direction > 0 and (after := [d for d in candidates if d >= base]):
        return min(after)
    if direction < 0 and (before := [d for d in candidates if d <= base]):
        return max(before)
    return min(candidates, key=lambda d: abs((d - base).days))


def _resolve_day(month: int, day: int, base: dt.date, direction: int) -> dt.date | None:
    found = [d for y in (base.year - 1, base.year, base.year + 1)
             if (d := make_date(y, month, day)) is not None]
    return _pick(found, base, direction) if found else None


def _month_name(month: int) -> str:
    return MONTHS[month - 1].capitalize()


def _one(kind: str, groups: tuple[str, ...], base: dt.date, direction: int
         ) -> tuple[str, dt.date | None] | None:
    if kind in ("d-d m", "m d-d"):
        first, last, month_word = groups if kind == "d-d m" else (groups[1], groups[2], groups[0])
        d1, d2, month = _ordinal(first), _ordinal(last), _month(month_word)
        if d1 is None or d2 is None or d2 < d1:
            return None
        day = _resolve_day(month, d1, base, direction)
        return (f"{d1} to {d2} {_month_name(month)} {day.year}", day) if day else None
    if kind in ("d m", "m d"):
        day_word, month_word = groups if kind == "d m" else (groups[1], groups[0])
        number = _ordinal(day_word)
        if number is None:
            return None
        day = _resolve_day(_month(month_word), number, base, direction)
        return (f"{day.day} {_month_name(day.month)} {day.year}", day) if day else None
    if kind == "m y":
        return f"{_month_name(_month(groups[0]))} {groups[1]}", None
    if kind == "cue m":
        cue, month = groups[0].lower(), _month(groups[1])
        if cue == "next":
            direction = 1
        elif cue == "last":
            direction = -1
        if month == base.month:  # "in May", said in May: this May
            return f"{_month_name(month)} {base.year}", None
        firsts = [dt.date(y, month, 1) for y in (base.year - 1, base.year, base.year + 1)]
        start = _pick(firsts, base.replace(day=1), direction)
        return f"{_month_name(month)} {start.year}", None
    if kind == "y":
        return groups[0], None
    if kind == "d":
        number = _ordinal(groups[0])
        if number is None:
            return None
        candidates = [d for shift in (-1, 0, 1)
                      if (d := make_date(base.year + (base.month - 1 + shift) // 12,
                                         (base.month - 1 + shift) % 12 + 1, number))]
        day = _pick(candidates, base, direction or 1)
        return f"{day.day} {_month_name(day.month)} {day.year}", day
    return None


def partial_dates(sentence: str, base: dt.date | None) -> list[PartialDate]:
    """The date phrases of ``sentence`` that lack a day, month or year, in order, resolved
    against ``base`` (the session date; none are resolved without it, except bare years)."""
    spans: list[PartialDate] = []
    taken: list[tuple[int, int]] = []
    for pattern, kind in _PATTERNS:
        for m in pattern.finditer(sentence):
            if any(m.start() < end and start < m.end() for start, end in taken):
                continue
            if base is None and kind != "y":
                continue
            month_word = next((g for g in m.groups() if g and re.fullmatch(_MON, g, re.I)), "")
            if month_word[:1].islower():  # "may", "march": a verb unless capitalised
                continue
            direction = tense(clause_around(sentence, m.start(), m.end()))
            found = _one(kind, tuple(g for g in m.groups() if g is not None), base, direction) \
                if base is not None else (m.group(1), None)
            if found is None:
                continue
            taken.append((m.start(), m.end()))
            spans.append(PartialDate(m.start(), m.end(), found[0], found[1]))
    return sorted(spans, key=lambda p: p.start)
