"""Loose support: an answer from the best partly matching sentence, before abstaining.

The strict reader (``answer``) wants half of a question's content weight in one sentence and
a typed candidate. Real conversations rarely repeat the question's words: "How did X feel
about her family supporting her?" is answered by X saying "They're a real support. Appreciate
them a lot." When the strict pass finds nothing, this pass takes the sentence about the subject
with the most content overlap (at least ``LOOSE_FLOOR`` of the question's IDF weight) and
answers with the span a reader would quote from it:

1. a quoted title ("... finished "The Long Walk" ...") when the question asks what/which;
2. for *why*: the reason clause ("because ...", "so that ...", "to ...");
3. for what/which: a capitalised name the question does not contain ("Iron Man is my pick");
4. otherwise the clause sharing most words with the question, cut to the words the question
   does not already say (at most ``MAX_WORDS``): token F1 against a short gold phrase rewards
   the new words, not the echoed ones.

A date question gets the line's date (relative phrases resolved as in the strict pass). The
subject rule still holds (a sentence by or naming the person asked about), and other people's
names in the question must still occur, so questions about things never said of that person
(adversarial items) still find nothing. Limits: one sentence, no paraphrase, no inference.
"""

from __future__ import annotations

import re
from dataclasses import replace

from .question import QuestionInfo
from .spans import names
from .text import STOPWORDS, Unit, stem, variants

# share of the question's IDF-weighted content a sentence must hold; 0.3 rather than 0.2:
# on retrieved memory a lower floor answers more adversarial questions from unrelated
# sentences than it gains (measured in docs/offline-model.md)
LOOSE_FLOOR = 0.3
MAX_WORDS = 8
LOOSE_LIST_MAX = 6  # members of a loosely gathered list
_QUOTED = re.compile(r"[\"“]([^\"”]{2,80})[\"”]")
_REASON = re.compile(r"\b(because|since|so that|so|in order to|to)\s+(.+)", re.I)
_CLAUSE_SPLIT = re.compile(r"\s*(?:[,;:!?()]|\.(?:\s|$)|\s[-–—]\s)\s*")
_DATEISH = re.compile(r"\d+(?:st|nd|rd|th)?|jan\w*|feb\w*|mar\w*|apr\w*|may|jun\w*|jul\w*|aug\w*"
                      r"|sep\w*|oct\w*|nov\w*|dec\w*")
# a name the speaker addresses ("Hey Sam!", "Thanks, Sam.", "Sam, guess what") is the listener
_VOCATIVE = re.compile(r"(?:\b(?:[Hh]ey|[Hh]i|[Hh]ello|[Tt]hanks|[Tt]hank you|[Cc]ongrats|[Yy]eah|[Yy]es"
                       r"|[Yy]ep|[Oo]h|[Ww]ow|[Ss]orry),?\s+([A-Z][a-z]+)\b|^([A-Z][a-z]+)[,!])")
_EDGE = STOPWORDS | frozenset("really just so very also too like yeah yes oh wow thanks".split())


def name_anchored(unit: Unit, info: QuestionInfo) -> bool:
    """Every other person the question names occurs in the sentence (relation nouns may not:
    the subject says "we", not "my family")."""
    others = [n for n in info.names if n != info.subject]
    return all(variants(stem(n)) & unit.stems for n in others)


def loose_question(info: QuestionInfo) -> QuestionInfo:
    """The question as the loose pass weighs it: the answer's type word counts ("what kind of
    frosting" is answered by "... frosting"), dates in the question do not (the line's date
    header carries them, not the sentence)."""
    content = [s for s in info.content if not _DATEISH.fullmatch(s)]
    if info.focus and stem(info.focus) not in content:
        content.append(stem(info.focus))
    return replace(info, content=tuple(content))


def quoted_title(text: str, info: QuestionInfo) -> str:
    """A quoted title in ``text`` the question does not contain, for a what/which question."""
    if info.wh not in ("what", "which"):
        return ""
    return next((q.strip() for q in _QUOTED.findall(text)
                 if q.lower() not in info.text.lower()), "")


def loose_span(unit: Unit, info: QuestionInfo) -> str:
    """The span of ``unit`` that answers ``info`` (see the module docstring); "" for none.
    Titles, reasons and names may come from the sentence's whole turn: the question's words
    are often in one sentence of it and the answer in the next."""
    text = unit.text
    turn = unit.turn
    asked = {t.lower() for t in re.findall(r"[\w'’]+", info.text)}
    if title := quoted_title(text, info) or quoted_title(turn, info):
        return title
    if info.wh == "why" and (m := _REASON.search(text) or _REASON.search(turn)):
        return _trim(f"{m.group(1)} {m.group(2)}".split(), asked, keep_lead=True)
    if info.wh in ("what", "which"):
        exclude = set(info.names) | ({unit.speaker.split()[0]} if unit.speaker else set())
        exclude |= {n for pair in _VOCATIVE.findall(turn) for n in pair if n}
        found = [n for n in names(text, exclude, anchor=None) + names(turn, exclude, anchor=None)
                 if n.lower() not in asked]
        if found:
            return found[0]
    clauses = [c for c in _CLAUSE_SPLIT.split(text) if c.strip()]
    wanted = {v for s in info.content for v in variants(s)}
    best = max(clauses, key=lambda c: sum(stem(w) in wanted for w in c.split()), default="")
    span = _trim(best.split(), asked)
    if not span:  # the clause only echoed the question: the next one says the new part
        later = clauses[clauses.index(best) + 1:] if best in clauses else []
        span = next((s for c in later if (s := _trim(c.split(), asked))), "")
    return span


def _trim(tokens: list[str], asked: set[str], *, keep_lead: bool = False) -> str:
    """The new part of a clause: the words after the last one the question also says (else
    before the first), function words dropped at the edges, at most ``MAX_WORDS`` words.
    ``keep_lead`` keeps the first token (the "because" of a reason)."""
    core = [t.strip(".,;:!?\"'()“”") for t in tokens]
    core = [t for t in core if t]
    lead, core = (core[:1], core[1:]) if keep_lead else ([], core)
    asked_stems = {stem(a) for a in asked}
    echoed = [i for i, t in enumerate(core)
              if t.lower() not in _EDGE and (t.lower() in asked or stem(t) in asked_stems)]
    def new(part: list[str]) -> bool:
        return any(t.lower() not in asked and t.lower() not in _EDGE for t in part)

    parts = [core]
    if echoed and not keep_lead:
        parts = [core[echoed[-1] + 1:], core[:echoed[0]], core]
    kept = next((_strip_edges(p) for p in parts if new(_strip_edges(p))), [])
    return " ".join((lead + kept)[:MAX_WORDS]) if kept else ""


def _strip_edges(tokens: list[str]) -> list[str]:
    start, end = 0, len(tokens)
    while start < end and tokens[start].lower() in _EDGE:
        start += 1
    while end > start and tokens[end - 1].lower() in _EDGE:
        end -= 1
    return tokens[start:end]


def echoes_question(span: str, info: QuestionInfo) -> bool:
    """Every content word of ``span`` is already in the question: it says nothing new."""
    asked = {stem(t) for t in re.findall(r"[\w'’]+", info.text)}
    said = [stem(t) for t in re.findall(r"[\w'’]+", span) if t.lower() not in STOPWORDS]
    return bool(said) and all(s in asked or variants(s) & asked for s in said)


def addressed_only(unit: Unit, info: QuestionInfo) -> bool:
    """The subject is named in the sentence only as the listener ("Hey Sam, I ran a race"): the
    sentence is about the speaker, not about the subject."""
    if info.subject is None or (unit.speaker and unit.speaker.split()[0] == info.subject):
        return False
    called = {n for pair in _VOCATIVE.findall(unit.turn) for n in pair if n}
    if info.subject not in called:
        return False
    mentions = len(re.findall(rf"\b{re.escape(info.subject)}\b", unit.text))
    vocatives = sum(1 for pair in _VOCATIVE.findall(unit.text) if info.subject in pair)
    return mentions <= vocatives
