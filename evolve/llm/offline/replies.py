"""Elliptical replies: a turn that opens with a bare phrase answers the turn before it.

In conversation the answer to "What's he called?" is "Sultan." and the answer to "How long
for?" is "Two weeks.": the reply repeats none of the question's words, so no overlap test
can find it, and when the memory holds only that turn the question it answers is gone too.
A *reply fragment* is the first clause of a turn's first sentence when it is short (at most
``MAX_WORDS`` words), is not a question or an exclamation, and holds no finite verb of a
clause (no personal pronoun, no auxiliary or copula): "Jammer, the one who scores." gives
"Jammer", "A structural engineer called Vikram." gives the whole phrase. Greetings and
yes/no words are not fragments.

The reader (``answer``) turns to fragments (``fragment_answer``) only when neither its strict
nor its loose pass found a supported sentence, and only among the sentences the subject rule
allows; a fragment by a speaker who is not the person asked about counts when both speakers
are known and the person asked about is neither (people the speakers talk about are rarely
named in the reply). The line before the fragment, when the memory holds it, must ask for
the kind of answer the question wants; the fragment must offer that kind (``_offered``).
Limits: when the memory does not hold the line before, which question the fragment answered
is not known.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from .english import DETERMINERS, LOCATIVE, NUMBER_WORDS
from .instructions import AnswerStyle
from .loose import echoes_question
from .question import QuestionInfo, analyze
from .semantic import SIMILARITY, surface_words
from .spans import introduced, is_number, places
from .text import NON_NAMES, Unit, next_in_turn, stem, words
from .told_dates import told_date

__all__ = ["MAX_WORDS", "fragment_answer", "reply_fragment"]

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
    return unit.turn.lstrip().startswith(unit.text[: min(len(unit.text), 20)])


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


# A reply answers these kinds of question alike ("Who ...?" / "What is her name?").
_SAME_KIND = {"person": "name", "kind": "thing"}
_PRONOUN_OPENINGS = frozenset("he she it they his her its their".split())


def _asked_before(units: tuple[Unit, ...]) -> dict[int, str | None]:
    """Unit order -> the kind of answer the line before its line asks for ("" when that
    line asks nothing, None when the memory holds no line before it)."""
    out: dict[int, str | None] = {}
    previous: Unit | None = None  # the last sentence of the line before
    for i, unit in enumerate(units):
        if i and unit.line != units[i - 1].line:
            previous = units[i - 1]
        if previous is None:
            out[unit.order] = None
        elif previous.text.rstrip().endswith("?"):
            out[unit.order] = analyze(previous.text).kind
        else:
            out[unit.order] = ""
    return out


def _answers_kind(asked: str | None, info: QuestionInfo) -> bool:
    """The line before asks for the question's kind of answer ("How long for?" / "Two
    weeks."), or is not in the memory."""
    if asked is None:
        return True
    return bool(asked) and _SAME_KIND.get(asked, asked) == _SAME_KIND.get(info.kind, info.kind)


def _goes_on_about(unit: Unit) -> bool:
    """The turn's next sentence refers back with a pronoun ("Sultan. He is four ...")."""
    after = next_in_turn(unit.line).get(0)
    return after is not None and after.text.split()[0].lower() in _PRONOUN_OPENINGS


def _offered(info: QuestionInfo, unit: Unit, fragment: str, style: AnswerStyle,
             values: Callable[[Unit], list[str]], related: frozenset[str]) -> str:
    """What a fragment offers for the question's kind, "" when nothing of that kind: a date
    it states, a number, a place after a locative, a name it introduces ("a <noun> called X",
    "my <noun> X"; a lone word only when the turn goes on about it), else the phrase when
    it shares a word, or a word of similar meaning, with the question ("Faded green" for
    "What colour ...")."""
    piece = replace(unit, text=fragment)
    if info.kind == "date":  # "Next February.", "On the twenty-second of March."
        return told_date(piece, style, info) or ""
    if info.kind in ("count", "measure"):
        found = values(piece)
        return found[0] if found and any(is_number(w) for w in found[0].split()) else ""
    said = words(fragment)
    if info.kind == "place":  # "Outside Portree", "In Pune"
        located = [p for p, _ in places(fragment, set(info.names))]
        return located[0] if located and said[0].lower() in LOCATIVE else ""
    if info.kind in ("name", "person"):
        if len(said) == 1:
            found = said if said[0] not in NON_NAMES and _goes_on_about(unit) else []
        else:  # a capitalised word alone may be a place: "A crofter from Achiltibuie"
            found = [n for n in introduced(fragment) if n not in info.names]
        return found[0] if found else ""
    if info.wh == "why" or not {stem(w) for w in said} & related:
        return ""
    return fragment


def fragment_answer(info: QuestionInfo, units: list[Unit], memory: tuple[Unit, ...],
                    style: AnswerStyle, *, values: Callable[[Unit], list[str]],
                    support: Callable[[Unit], float]) -> str:
    """The answer a reply fragment among ``units`` (the sentences the subject rule allows,
    in ``memory``'s order) gives, "" when none offers one. ``values`` gives a sentence's
    candidates of the question's kind, ``support`` its overlap with the question; of the
    fragments that offer a value the best-supported wins, the first told on ties. Lists and
    yes/no questions are not answered by a fragment."""
    if info.kind == "yesno" or info.plural:
        return ""
    asked = _asked_before(memory)
    # a bare phrase after a statement ("Loud as ever.") or among notes is no reply, nor one
    # after a question of another kind ("Two days until X" after "When ...?" for "How long")
    found = [(u, f) for u in units
             if (f := reply_fragment(u)) and _answers_kind(asked[u.order], info)]
    if not found:
        return ""
    wanted = surface_words(info.text)
    if info.focus:
        wanted.setdefault(stem(info.focus), info.focus)
    near = SIMILARITY.matches(wanted, surface_words(" ".join(f for _, f in found)))
    related = frozenset(wanted) | frozenset(m for hits in near.values() for m in hits)
    offered = [(support(u), u, value) for u, f in found
               if (value := _offered(info, u, f, style, values, related))
               and not echoes_question(value, info)]
    if not offered:
        return ""
    return max(offered, key=lambda t: (t[0], -t[1].order))[2]
