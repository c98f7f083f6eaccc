"""Text utilities of the offline model: tokens and stems, names, dates, and the parsing of
free-form memory text into sentence units that know their speaker and date.

Memory text can be anything a program returns: raw sessions (``[date]`` header lines followed by
``Speaker: text`` lines), chunks cut mid-line, fact lists (``[8 May, 2023] Quill: ...``), JSON-ish
dumps or prose summaries. ``parse_units`` splits it into sentences; each sentence inherits the
speaker of its line (if the line starts with ``Name:``) and the nearest date seen so far.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

from .english import IRREGULAR, NUMBER_WORDS, SYNONYMS

STOPWORDS = frozenset("""
a an the and or but if of at by for with about against between into through during before after
above below to from up down in out on off over under again further then once here there when
where why how all any both each few more most other some such no nor not only own same so than
too very s t can will just don should now i me my myself we our ours ourselves you your yours
yourself yourselves he him his himself she her hers herself it its itself they them their theirs
themselves what which who whom this that these those am is are was were be been being have has
had having do does did doing would could ought i'm you're he's she's it's we're they're i've
you've we've they've i'd you'd he'd she'd we'd they'd i'll you'll he'll she'll we'll they'll
isn't aren't wasn't weren't hasn't haven't hadn't doesn't don't didn't won't wouldn't shan't
shouldn't can't cannot couldn't mustn't let's that's who's what's here's there's when's where's
why's how's also yes oh wow ok okay hey hi hello really just like kind type also
yeah well much many lot lots thing things something anything everything one ones
""".split())
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
MONTH_ABBR = {m[:3]: i + 1 for i, m in enumerate(MONTHS)} | {"sept": 9}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Capitalised words that are not names.
NON_NAMES = frozenset({w.capitalize() for w in STOPWORDS} | {m.capitalize() for m in MONTHS}
                      | {d.capitalize() for d in WEEKDAYS}
                      | {"I", "Mr", "Mrs", "Ms", "Dr", "Yes", "No", "Thanks", "Thank", "Sure",
                         "Guess", "Big", "News", "Wow", "Haha", "Ha", "Ugh", "Lol",
                         "Totally", "Honestly", "Same", "Good", "Great", "Nice", "Awesome",
                         "Congrats", "Congratulations", "Aww", "Omg", "Speaker", "Session",
                         "Date", "Time", "Question", "Answer", "Note", "Notes", "Summary",
                         "Facts", "Fact", "Memory", "Context", "Keywords", "Topics", "Events",
                         "Event", "User", "Assistant", "Tips", "Lesson", "Lessons", "Today",
                         "Yesterday", "Tomorrow", "Last", "Next", "This", "Not", "None",
                         "Unknown", "Relevant", "Retrieved", "Conversation", "Text"})

# Letters of any alphabet ("Cádiz", "Tromsø"); an upper-case initial of Latin scripts.
UPPER = "A-ZÀ-ÖØ-Þ"
LETTER = r"[^\W\d_]"
_WORD = re.compile(rf"[^\W_]+(?:['’]{LETTER}+)?")
_NAME = re.compile(rf"\b[{UPPER}]{LETTER}+(?:['’]s)?\b")


_VOWELS = set("aeiouy")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A light suffix-stripping stemmer (lower-case, irregular verbs to their base form).

    Only consistency matters here (question and memory go through the same function), so a
    few rules suffice: lives/lived/living/live -> "liv", cities/city -> "citi",
    running/run -> "run". The scorer uses nltk's Porter stemmer; this one avoids its slow import.
    """
    low = word.lower().replace("’", "'")
    if low.endswith("'s"):
        low = low[:-2]
    low = IRREGULAR.get(low, low)
    if low.endswith("ies") and len(low) > 4:
        low = low[:-3] + "y"
    elif low.endswith("sses"):
        low = low[:-2]
    elif low.endswith("es") and len(low) > 4 and low[-3] in "sxzh":
        low = low[:-2]
    elif low.endswith("s") and not low.endswith(("ss", "us", "is")) and len(low) > 3:
        low = low[:-1]
    for suffix in ("ing", "ed"):
        if low.endswith(suffix) and len(low) - len(suffix) >= 3 and \
                _VOWELS & set(low[:-len(suffix)]):
            low = low[:-len(suffix)]
            if len(low) > 3 and low[-1] == low[-2] and low[-1] not in "lsz":
                low = low[:-1]  # running -> run, planned -> plan
            break
    if low.endswith("e") and len(low) > 3:
        low = low[:-1]
    if low.endswith("y") and len(low) >= 3:
        low = low[:-1] + "i"  # try/tried -> "tri"
    return low


def token_set(text: str) -> set[str]:
    """The lower-cased words of ``text`` with edge punctuation stripped ("can’t" -> "can't")."""
    return {w.strip(".,;:!?\"'()").lower().replace("’", "'") for w in text.split()}


def words(text: str) -> list[str]:
    return _WORD.findall(text)


@lru_cache(maxsize=50_000)
def content_stems(text: str) -> tuple[str, ...]:
    """Stems of the non-stopword words of ``text``, in order (duplicates kept)."""
    return tuple(stem(w) for w in words(text) if w.lower().replace("’", "'") not in STOPWORDS)


@lru_cache(maxsize=1)
def _synonym_index() -> dict[str, frozenset[str]]:
    index: dict[str, set[str]] = {}
    for group in SYNONYMS:
        stems = {stem(w) for term in group for w in term.split()}
        for s in stems:
            index.setdefault(s, set()).update(stems)
    return {k: frozenset(v) for k, v in index.items()}


def variants(stem_: str) -> frozenset[str]:
    """The stem and its synonyms' stems."""
    return _synonym_index().get(stem_, frozenset()) | {stem_}


def names_in(text: str, *, skip_initial: bool = False) -> list[str]:
    """Capitalised words that look like names, possessive stripped, in order, unique."""
    out: list[str] = []
    for match in _NAME.finditer(text):
        word = re.sub(r"['’]s$", "", match.group(0))
        if word in NON_NAMES or word.lower() in STOPWORDS:
            continue
        if skip_initial:
            before = text[:match.start()].rstrip()
            if not before or before[-1] in ".!?:\"'(":
                continue
        if word not in out:
            out.append(word)
    return out


# ---------------------------------------------------------------- dates

_MONTH_RE = (r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
             r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_DMY = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH_RE},?\s+(\d{{4}})\b", re.I)
_MDY = re.compile(rf"\b{_MONTH_RE}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I)
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def make_date(year: str | int, month: int, day: str | int) -> dt.date | None:
    """The date, or None when there is no such day (31 April, 29 February 2023)."""
    try:
        return dt.date(int(year), month, int(day))
    except ValueError:
        return None


def find_dates(text: str) -> list[tuple[int, int, dt.date]]:
    """Absolute dates in ``text`` as (start, end, date), in order."""
    found: list[tuple[int, int, dt.date]] = []
    for m in _DMY.finditer(text):
        if (d := make_date(m.group(3), MONTH_ABBR[m.group(2).lower()[:3]], m.group(1))):
            found.append((m.start(), m.end(), d))
    for m in _MDY.finditer(text):
        if (d := make_date(m.group(3), MONTH_ABBR[m.group(1).lower()[:3]], m.group(2))):
            found.append((m.start(), m.end(), d))
    for m in _ISO.finditer(text):
        if (d := make_date(m.group(1), int(m.group(2)), m.group(3))):
            found.append((m.start(), m.end(), d))
    found.sort()
    out: list[tuple[int, int, dt.date]] = []
    for item in found:  # drop overlapping matches (keep the first)
        if not out or item[0] >= out[-1][1]:
            out.append(item)
    return out


def format_date(day: dt.date) -> str:
    return f"{day.day} {MONTHS[day.month - 1].capitalize()} {day.year}"


_NUM = r"(\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a|an|a couple of)"
_RELATIVE = re.compile(
    r"\b(?:(yesterday|today|tonight|this morning|this afternoon|this evening|last night)"
    rf"|{_NUM}\s+(day|week|month|year)s?\s+ago"
    r"|(last|this past|past|this|on)\s+(monday|tuesday|wednesday|thursday|friday|saturday|sunday"
    r"|weekend|week|month|year|spring|summer|fall|autumn|winter)"
    r"|(next)\s+(week|month|year|monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
    r"|(a few|few|several)\s+days\s+ago)\b", re.I)


def find_relative(text: str) -> str | None:
    """The first relative-date phrase in ``text`` (lower-cased), if any."""
    match = _RELATIVE.search(text)
    return match.group(0).lower() if match else None


def find_relatives(text: str) -> list[tuple[int, str]]:
    """Every relative-date phrase in ``text`` as (start, lower-cased phrase), in order."""
    return [(m.start(), m.group(0).lower()) for m in _RELATIVE.finditer(text)]


def _count(word: str) -> int:
    return int(word) if word.isdigit() else NUMBER_WORDS.get(word, 1)


def relative_day(phrase: str, base: dt.date) -> dt.date | None:
    """The exact day a relative phrase names, or None when it names a vaguer period."""
    p = phrase.lower()
    if p in ("today", "tonight", "this morning", "this afternoon", "this evening"):
        return base
    if p in ("yesterday", "last night"):
        return base - dt.timedelta(days=1)
    if m := re.fullmatch(rf"{_NUM}\s+(day|week)s?\s+ago", p):
        return base - dt.timedelta(days=_count(m.group(1)) * (7 if m.group(2) == "week" else 1))
    head, _, tail = p.rpartition(" ")
    if tail in WEEKDAYS:
        target = WEEKDAYS.index(tail)
        if head == "next":
            return base + dt.timedelta(days=(target - base.weekday()) % 7 or 7)
        return base - dt.timedelta(days=(base.weekday() - target) % 7 or 7)
    return None


def resolve_relative(phrase: str, base: dt.date) -> str:
    """Answer text for a relative phrase told on ``base`` (absolute when it is exact)."""
    exact = relative_day(phrase, base)
    if exact is not None:
        return format_date(exact)
    p = phrase.lower()
    if m := re.fullmatch(rf"{_NUM}\s+(month|year)s?\s+ago", p):
        n, unit = _count(m.group(1)), m.group(2)
        if unit == "month":
            month = (base.month - 1 - n) % 12 + 1
            year = base.year + (base.month - 1 - n) // 12
            return f"{MONTHS[month - 1].capitalize()} {year}"
        return str(base.year - n)
    if re.fullmatch(r"(a few|few|several) days ago", p):
        return f"a few days before {format_date(base)}"
    head, _, tail = p.rpartition(" ")
    if tail == "week":
        if head == "next":
            return f"the week after {format_date(base)}"
        return f"the week before {format_date(base)}"
    if tail == "weekend":
        return f"the weekend before {format_date(base)}"
    if tail == "month":
        shift = 1 if head == "next" else 0 if head == "this" else -1
        month = (base.month - 1 + shift) % 12 + 1
        year = base.year + (base.month - 1 + shift) // 12
        return f"{MONTHS[month - 1].capitalize()} {year}"
    if tail == "year":
        return str(base.year + (1 if head == "next" else 0 if head == "this" else -1))
    if tail in _SEASON_MONTHS:
        return f"the {tail} of {_season_year(tail, head, base)}"
    return phrase


# Northern-hemisphere meteorological seasons (winter is named by the year it starts in)
_SEASON_MONTHS = {"spring": (3, 4, 5), "summer": (6, 7, 8), "fall": (9, 10, 11),
                  "autumn": (9, 10, 11), "winter": (12, 1, 2)}


def _season_year(season: str, head: str, base: dt.date) -> int:
    """The year of "last/this <season>" said on ``base``: "this" is the current or coming one,
    "last" the latest one already over (last summer, said in August, is the year before)."""
    months = _SEASON_MONTHS[season]
    in_season = base.month in months
    if season == "winter":
        current = base.year if base.month == 12 else base.year - 1  # start of this/last winter
        if head == "this":
            return current if in_season else base.year
        return current - 1 if in_season else current
    if head == "this":
        return base.year
    return base.year if base.month > months[-1] else base.year - 1


# ---------------------------------------------------------------- memory text -> units


@dataclass(frozen=True)
class Unit:
    """One sentence of memory text with its context."""

    text: str  # the sentence, without speaker prefix and bracketed date
    speaker: str | None  # "Quill" when the line started with "Quill:"
    date: dt.date | None  # the sentence's own date, else the nearest date seen before it
    order: int  # position in the memory text
    stems: frozenset[str]
    line: str  # the whole line (speaker prefix included) the sentence came from

    @property
    def turn(self) -> str:
        """The whole line the sentence came from, without its speaker prefix."""
        return self.line.split(":", 1)[1] if self.speaker else self.line


_BRACKET = re.compile(r"^\s*\[([^\]]{0,80})\]\s*")
_SPEAKER = re.compile(rf"^\s*([{UPPER}](?:{LETTER}|['’\-]){{1,30}}(?: [{UPPER}](?:{LETTER}|['’\-]){{1,30}})?)"
                      r"\s*:\s+(?=\S)")
_JSON_SPLIT = re.compile(r"\"\s*[,:]\s*[\[\{]?\s*\"|\[\s*\"|\"\s*[\]\}]|\{\s*\"")
_SENTENCE = re.compile(r"(?<=[.!?])[\"'”)]*\s+(?=[\"'“(]*[A-Z0-9\[])")
_LABELS = NON_NAMES - {"Ha"}


def _pieces(line: str) -> list[str]:
    """A line, split at JSON string boundaries when it looks like JSON."""
    stripped = line.strip()
    if stripped[:1] in "[{" and '"' in stripped or '": ' in stripped or '", "' in stripped:
        return [p for p in _JSON_SPLIT.split(stripped) if p.strip()]
    return [stripped]


def _header_only(text: str, span: tuple[int, int]) -> bool:
    rest = text[:span[0]] + text[span[1]:]
    return len(content_stems(rest)) <= 3


@lru_cache(maxsize=256)
def parse_units(text: str) -> tuple[Unit, ...]:
    """Split memory text into sentence units (see the module docstring)."""
    units: list[Unit] = []
    context: dt.date | None = None
    for raw_line in text.splitlines():
        for piece in _pieces(raw_line):
            piece = piece.strip().strip("\"',").lstrip("-*•> ").strip()
            if not piece:
                continue
            own: dt.date | None = None
            bracket = _BRACKET.match(piece)
            if bracket:
                dates = find_dates(bracket.group(1))
                if dates:
                    own = dates[0][2]
                    context = own
                    piece = piece[bracket.end():]
            speaker = None
            spk = _SPEAKER.match(piece)
            if spk and spk.group(1) not in _LABELS and spk.group(1).split()[0] not in _LABELS:
                speaker = spk.group(1)
                body = piece[spk.end():]
            else:
                body = re.sub(r"^[A-Za-z ]{2,20}:\s+", "", piece) if spk else piece
            dates = find_dates(body)
            if dates and own is None and _header_only(body, dates[0][:2]):
                context = dates[0][2]  # a header such as "Date: 8 May, 2023" or "8 May 2023"
                continue
            if not body.strip():
                continue
            line = f"{speaker}: {body}" if speaker else body
            for sentence in _SENTENCE.split(body):
                sentence = sentence.strip()
                if len(sentence) < 2:
                    continue
                sdates = find_dates(sentence)
                date = own or context
                if sdates:
                    date = sdates[0][2]
                stems = frozenset(content_stems(sentence))
                if speaker:  # "Quill: I sold my car" is about Quill
                    stems |= {stem(w) for w in speaker.split()}
                units.append(Unit(sentence, speaker, date, len(units), stems, line))
            if dates and own is None:
                context = dates[-1][2]
    return tuple(units)


@lru_cache(maxsize=256)
def next_in_turn(text: str) -> dict[int, Unit]:
    """Unit order -> the next sentence of the same turn (line) of the memory ``text``."""
    units = parse_units(text)
    return {a.order: b for a, b in zip(units, units[1:], strict=False) if a.line == b.line}
