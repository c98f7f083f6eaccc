"""Elliptical replies: a turn that opens with a bare phrase answers the turn before it.

In conversation the answer to "What's he called?" is "Sultan." and the answer to "How long
for?" is "Two weeks.": the reply repeats none of the question's words, so no overlap test
can find it, and when the memory holds only that turn the question it answers is gone too.
A *reply fragment* is the first clause of a turn's first sentence when it is short (at most
``MAX_WORDS`` words), is not a question or an exclamation, and holds no finite verb of a
clause (no personal pronoun, no auxiliary or copula): "Jammer, the one who scores." gives
"Jammer", "A structural engineer called Vikram." gives the whole phrase. Greetings and
yes/no words are not fragments.

The reader (``answer``) turns to fragments only when neither its strict nor its loose pass
found a supported sentence, and only among the sentences the subject rule allows; a fragment
by a speaker who is not the person asked about counts when that person is not one of the
speakers (people the speakers talk about are rarely named in the reply). Limits: the
fragment is taken as it is said; which question it answered is not known.
"""

from __future__ import annotations

import re

from .english import DETERMINERS, NUMBER_WORDS
from .text import Unit, words

__all__ = ["MAX_WORDS", "reply_fragment"]

MAX_WORDS = 6
# Words that make a clause rather than a bare phrase (general English closed classes).
_CLAUSE_WORDS = frozenset(
    "i you he she we they it i'm you're he's she's we're they're it's that's there's "
    "is are was were am be been being have has had do does did will would can could "
    "should shall may might must won't don't doesn't didn't can't isn't wasn't aren't "
    "let let's please".split())
_NOT_ANSWERS = frozenset(
    "yes yeah yep no nope nah oh ah wow hi hey hello thanks thank sorry ok okay sure right "
    "exactly absolutely definitely maybe well ha haha lol congrats congratulations great "
    "nice good lovely cool amazing brilliant true agreed indeed".split())
# A capitalised word followed by a past-tense or reporting verb starts a clause.
_NAMED_SUBJECT = re.compile(r"^[A-Z][\w'’-]*\s+(?:[a-z]{2,}ed|says|said|went|got|took|made|"
                            r"came|left|won|lost|ran|saw|told|gave|bought|sold|found)\b")
# A name inside the phrase followed by a verb in -s or -ed: the name is a clause's subject.
_NAME_VERB = re.compile(r"\s[A-Z][\w'’-]*\s+[a-z]{2,}(?:s|ed)\b")
_CLAUSE_END = re.compile(r"\s*(?:[,;:]|\s[-–—]\s)\s*")


def _opens_turn(unit: Unit) -> bool:
    body = unit.line.split(":", 1)[1] if unit.speaker else unit.line
    return body.lstrip().startswith(unit.text[: min(len(unit.text), 20)])


def reply_fragment(unit: Unit) -> str:
    """The bare phrase ``unit`` opens its turn with ("" when it is not one)."""
    text = unit.text.strip()
    if unit.speaker is None or not text or text.endswith(("?", "!")) or "[" in text \
            or not _opens_turn(unit):
        return ""
    clause = _CLAUSE_END.split(text.rstrip("."), maxsplit=1)[0].strip()
    toks = [w.lower().replace("’", "'") for w in words(clause)]
    if not toks or len(toks) > MAX_WORDS:
        return ""
    if set(toks) & _CLAUSE_WORDS or all(t in _NOT_ANSWERS for t in toks):
        return ""
    if toks[0] in _NOT_ANSWERS and len(toks) <= 2:
        return ""  # "Nice one", "Oh wow"
    if toks[0] not in DETERMINERS and toks[0] not in NUMBER_WORDS and \
            _NAMED_SUBJECT.match(clause) or _NAME_VERB.search(clause):
        return ""  # "Deepa arrived on a white horse", "the clerk Zadie works there" are clauses
    return clause
