"""The date a sentence of memory tells, as the offline reader answers it.

A sentence may state several: an absolute date, a partial one ("the first of May",
``partial_dates``), a relative one ("last Sunday", ``text``). ``told_date`` takes the most
exact, or the one nearest the words the sentence shares with the question; ``date_of`` falls
back on the date the sentence was told (its session date). The answer is written in the
instruction's date style (``instructions``).
"""

from __future__ import annotations

import datetime as dt
import re

from .instructions import AnswerStyle
from .partial_dates import partial_dates
from .question import QuestionInfo
from .text import (
    Unit,
    find_dates,
    find_relative,
    find_relatives,
    format_date,
    relative_day,
    resolve_relative,
    stem,
    variants,
)


def told_dates(unit: Unit, style: AnswerStyle) -> list[tuple[int, int, str]]:
    """The dates the sentence itself states, as (position, exactness, answer text): absolute
    (exactness 3), partial or relative naming a day (2), a month, year or vaguer period (1)."""
    found = [(start, 3, fmt_date(day, style)) for start, _, day in find_dates(unit.text)]
    for part in partial_dates(unit.text, unit.date):
        if part.day is not None:
            found.append((part.start, 2, part.text if " to " in part.text
                          else fmt_date(part.day, style)))
        else:
            found.append((part.start, 1, part.text))
    for start, phrase in find_relatives(unit.text):
        if not style.resolve_dates and unit.date:  # the session date stands for "yesterday"
            found.append((start, 2, fmt_date(unit.date, style)))
            continue
        exact = relative_day(phrase, unit.date) if unit.date else None
        if exact is not None:
            found.append((start, 2, fmt_date(exact, style)))
        else:
            found.append((start, 1, resolve_relative(phrase, unit.date) if unit.date else phrase))
    return found


def told_date(unit: Unit, style: AnswerStyle, info: QuestionInfo | None = None
               ) -> str | None:
    """The date the sentence states (None if none): the most exact one, or with ``info``
    the one nearest the words the sentence shares with the question ("signed a lease
    yesterday and I move on the first": the signing is yesterday)."""
    found = told_dates(unit, style)
    if not found:
        return None
    if info is not None and len(found) > 1:
        words = [(m.start(), stem(m.group(0))) for m in re.finditer(r"[A-Za-z']+", unit.text)]
        hits = [at for at, s in words if s in info.content]  # the question's own words first
        if not hits:
            wanted = {v for s in info.content for v in variants(s)}
            hits = [at for at, s in words if s in wanted]
        if hits:
            return min(found, key=lambda f: (min(abs(f[0] - h) for h in hits), -f[1]))[2]
    return max(found, key=lambda f: (f[1], -f[0]))[2]


def date_of(unit: Unit, style: AnswerStyle, info: QuestionInfo | None = None) -> str | None:
    told = told_date(unit, style, info)
    if told is not None:
        return told
    return fmt_date(unit.date, style) if unit.date else None


def fmt_date(day: dt.date, style: AnswerStyle) -> str:
    if style.date_style == "iso":
        return day.isoformat()
    if style.date_style == "mdy":
        return f"{format_date(day).split()[1]} {day.day}, {day.year}"
    return format_date(day)


def event_day(unit: Unit) -> dt.date:
    phrase = find_relative(unit.text)
    if phrase and unit.date:
        return relative_day(phrase, unit.date) or unit.date
    return unit.date or dt.date.min
