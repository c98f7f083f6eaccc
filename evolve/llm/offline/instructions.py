"""What a program's answer instruction asks the offline reader to do.

A real model follows the ``INSTRUCTION_RESPONSE`` of a program; the offline reader follows the
parts of it that it can carry out, so that rewording an instruction is a real move:

- ``brief``: "short phrase", "briefly", "concise", "one word", "not a full sentence" -> the
  bare answer span; otherwise the span is returned inside its clause (a model told nothing
  about length answers with a sentence, and token F1 drops accordingly);
- ``resolve_dates``: "resolve relative dates", "calendar date", "against the (session) date",
  "absolute date" -> "last Friday" told on a dated line becomes that day; otherwise the reader
  answers with the date of the line the event was told on (the usual mistake);
- ``prefer_latest``: "latest", "newest", "most recent", "wins", "current" -> when several
  supported values conflict for a single-value question, the latest-dated one is chosen;
  otherwise the best-supported one (first told on ties). A question that itself asks for
  the current value ("now", "these days") always gets the latest;
- ``date_style``: "ISO" / "YYYY-MM-DD" -> 2023-05-06; "month day" / "Month D, YYYY" ->
  May 6, 2023; default "6 May 2023";
- ``list_joiner``: "separated by semicolons" -> "; ", "and" wording ("join with 'and'") ->
  " and "; default ", ";
- ``strict``: "only use statements about the person asked", "only when the memory states
  it", "do not guess" -> only a sentence that supports the question outright answers it: the
  partial-support passes (loose match, bare replies, yes/no leaning, typed lists gathered
  without the question's words) are skipped, so the reader abstains more and answers
  adversarial questions less.
The abstention reply stays "not mentioned" whatever the instruction says: scorers recognise it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_BRIEF = re.compile(r"\b(short|brief(ly)?|concise(ly)?|one (word|phrase)|few words|"
                    r"not (a|in) (full|complete) sentences?|terse|only the answer|just the answer)\b",
                    re.I)
_RESOLVE = re.compile(r"\b(resolve|convert|turn|rewrite)\w*\b[^.]{0,40}\brelative dates?\b|"
                      r"\brelative dates?\b[^.]{0,40}\b(against|into|as|to)\b|"
                      r"\bcalendar dates?\b|\babsolute dates?\b|\bagainst (the|its|their) "
                      r"(session |line |entry |note )?date\b", re.I)
_LATEST = re.compile(r"\b(latest|newest|most recent|wins|current|supersede[sd]?|overrides?)\b",
                     re.I)
_ISO = re.compile(r"\biso\b|yyyy-mm-dd|\d{4}-\d{2}-\d{2}", re.I)
_MDY = re.compile(r"\bmonth day\b|\bmonth d, yyyy\b|\b(?:january|may) \d{1,2}, \d{4}\b", re.I)
_STRICT = re.compile(r"\bonly (use|answer|rely on)\b[^.]{0,60}\b(statements?|facts?|memory|"
                     r"states?|says?|person)\b|\bdo(n't| not) guess\b|\bnever guess\b|"
                     r"\bdoes not answer the question\b", re.I)
_SEMI = re.compile(r"semicolons?", re.I)
_AND = re.compile(r"\b(join|separate)\w* [^.]{0,20}\bwith ['\"]?and['\"]?", re.I)


@dataclass(frozen=True)
class AnswerStyle:
    """The instruction's requests the reader can honour (see the module docstring)."""

    brief: bool = True
    resolve_dates: bool = True
    prefer_latest: bool = True
    date_style: str = "dmy"  # dmy | mdy | iso
    list_joiner: str = ", "
    strict: bool = False


DEFAULT_STYLE = AnswerStyle()


@lru_cache(maxsize=1024)
def read_instruction(instruction: str | None) -> AnswerStyle:
    """The style an instruction asks for; ``None`` (no instruction seen) gives the default."""
    if instruction is None:
        return DEFAULT_STYLE
    text = " ".join(instruction.split())
    return AnswerStyle(
        brief=bool(_BRIEF.search(text)),
        resolve_dates=bool(_RESOLVE.search(text)),
        prefer_latest=bool(_LATEST.search(text)),
        date_style="iso" if _ISO.search(text) else "mdy" if _MDY.search(text) else "dmy",
        list_joiner="; " if _SEMI.search(text) else " and " if _AND.search(text) else ", ",
        strict=bool(_STRICT.search(text)))


@dataclass(frozen=True)
class ExtractStyle:
    """What an extraction instruction asks for that the offline extractor can do."""

    resolve_dates: bool = False  # "resolve 'yesterday' against the session date"
    skip_small_talk: bool = False  # "skip small talk": only sentences with a concrete detail


@dataclass(frozen=True)
class QueryStyle:
    """What a query instruction asks for: synonyms in the keywords, or only a few words."""

    synonyms: bool = True


_SKIP_TALK = re.compile(r"\b(skip|ignore|drop|leave out|omit)\w*\b[^.]{0,30}\b(small talk|"
                        r"chit-?chat|greetings|pleasantries)\b", re.I)
_FEW = re.compile(r"\bonly (the )?(few|key|most important)\b|\bfew precise\b|\bprecise "
                  r"keywords\b", re.I)
_SYNONYMS = re.compile(r"\bsynonyms?\b|\bword variants?\b|\bparaphrases?\b", re.I)


@lru_cache(maxsize=1024)
def read_extraction(instruction: str | None) -> ExtractStyle:
    text = " ".join((instruction or "").split())
    return ExtractStyle(resolve_dates=bool(_RESOLVE.search(text)) or bool(
        re.search(r"\bresolve\b[^.]{0,60}\bagainst\b", text, re.I)),
        skip_small_talk=bool(_SKIP_TALK.search(text)))


@lru_cache(maxsize=1024)
def read_query(instruction: str | None) -> QueryStyle:
    text = " ".join((instruction or "").split())
    if instruction is None:
        return QueryStyle()
    # a model asked for keywords adds a few related words unless told to keep to a few
    return QueryStyle(synonyms=bool(_SYNONYMS.search(text)) or not _FEW.search(text))
