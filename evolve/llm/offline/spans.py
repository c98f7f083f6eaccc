"""Candidate answer spans in one sentence of any English text.

No word lists of answers: a place is a capitalised span after a locative preposition ("in",
"to", "near"), a name a capitalised word that is not sentence-initial or a label (with
"named X" / "called X" / "my <noun> X" preferred), a count a number or number word, and a
generic answer the noun phrase that follows the sentence word matching the question (after
particles, "as a", determiners), cut at the next preposition, conjunction, time phrase or
punctuation.
"""

from __future__ import annotations

import re

from .english import CONJUNCTIONS, DETERMINERS, LOCATIVE, NUMBER_WORDS, PARTICLES, PREPOSITIONS
from .text import (
    LETTER,
    MONTHS,
    NON_NAMES,
    STOPWORDS,
    UPPER,
    WEEKDAYS,
    find_relative,
    stem,
    variants,
)

_CAP = rf"[{UPPER}](?:{LETTER}|['’\-])+"  # any alphabet: "Cádiz", "Tromsø"
_PLACE = re.compile(rf"\b({'|'.join(sorted(LOCATIVE))})\s+(?:the\s+)?"
                    rf"({_CAP}(?:\s+(?:de|da|do|del|la|el|of|upon|on)?\s?{_CAP})*)")
_INTRO = re.compile(rf"\b(?:named|called|name is|name's)\s+(?:it\s+|him\s+|her\s+|them\s+)?"
                    rf"({_CAP})")
_POSSESSED = re.compile(rf"\b(?:[Mm]y|[Oo]ur|[Hh]is|[Hh]er|[Tt]heir)\s+((?:[a-z]+\s+){{0,2}}?[a-z]+),?\s+"
                        rf"({_CAP})\b")
_NOUN_NAMED = re.compile(rf"\b([a-z]+)\s+(?:named|called)\s+({_CAP})")
_NAME_IS = re.compile(rf"\b({_CAP}) is (?:my|our) (?:[a-z]+\s+)?([a-z]+)\b")
_ROLE = re.compile(r"\b(?:as|am|is|was|been|being|be|became|become)\s+(?:a|an)\s+(.+)", re.I)
# number words of one token, longest first (so "seventy" is tried before "seven")
_NUMBER_WORD = "|".join(sorted((w for w in NUMBER_WORDS if " " not in w and w not in ("a", "an")),
                               key=len, reverse=True))
_NUMBER = re.compile(rf"\b(\d+|(?:{_NUMBER_WORD})(?:-(?:{_NUMBER_WORD}))?)\b", re.I)  # "seventy-two"
_TIME_WORDS = frozenset("yesterday today tonight tomorrow ago last next this morning evening "
                        "afternoon night week weekend month year recently lately earlier soon "
                        "now again already".split()) | frozenset(MONTHS) | frozenset(WEEKDAYS)
_TRAILING = frozenset("lessons lesson classes class course courses sessions session".split())
_VERBISH = frozenset("keeps keep is are was were has have had makes make pays takes gets "
                     "feels seems looks sounds really".split())
# Words skipped before a noun phrase starts ("signed up for a ...", "is ...", "in a ...").
_LEAD = PARTICLES | DETERMINERS | PREPOSITIONS | frozenset("new is are was were be".split())
_NON_PLACE = NON_NAMES | {m.capitalize() for m in MONTHS} | {d.capitalize() for d in WEEKDAYS}


def possessed(sentence: str) -> list[re.Match[str]]:
    """"my <noun> <Name>" matches whose noun words hold no preposition ("my flat in X" is
    a place, not a person)."""
    return [m for m in _POSSESSED.finditer(sentence)
            if not set(m.group(1).split()) & PREPOSITIONS]


# Weaker place cues, used when no locative preposition precedes a capitalised span:
# verbs of going and "for the" ("tips for the Faroe Islands").
_PLACE_VERB = re.compile(rf"\b(?:visit(?:ed|ing|s)?|leav(?:e|es|ing)|left|reach(?:ed|ing)?|"
                         rf"explor(?:e|ed|ing)|tour(?:ed|ing)?|for the|back to|off to)\s+"
                         rf"(?:the\s+)?({_CAP}(?:\s+(?:of|upon|on)?\s?{_CAP})*)")


# What follows a capitalised first word that is a name acting as the subject ("Alastair is
# driving", "Bramble tried"), rather than an ordinary word capitalised by its position.
_SUBJECT_VERB = re.compile(r"(?:['’]s)?\s+(?:is|was|has|had|says|said|will|would|can|could|"
                           r"and I|[a-z]{3,}ed)\b")


def clean_name(word: str) -> str:
    return re.sub(r"['’]s$", "", word)


def places(sentence: str, exclude: set[str]) -> list[tuple[str, bool]]:
    """(place, came after "from") pairs in order: capitalised spans after a locative word."""
    out = []
    for m in _PLACE.finditer(sentence):
        span = clean_name(m.group(2))
        if span.split()[0] in _NON_PLACE or span in exclude:
            continue
        out.append((span, m.group(1) == "from"))
    if not out:
        for m in _PLACE_VERB.finditer(sentence):
            span = clean_name(m.group(1))
            if span.split()[0] not in _NON_PLACE and span not in exclude:
                out.append((span, m.group(0).lower().startswith(("leav", "left"))))
    return out


def names(sentence: str, exclude: set[str], *, anchor: str | None = None) -> list[str]:
    """Person-like names in a sentence, best first: introduced ones ("named X", "my <anchor>
    X"), then any capitalised non-initial word that is not a label or in ``exclude``."""
    found: list[str] = []
    for m in possessed(sentence):
        noun = m.group(1).split()[-1]
        if anchor is None or variants(stem(noun)) & variants(anchor):
            found.append(m.group(2))
    for m in _NOUN_NAMED.finditer(sentence):
        if anchor is None or variants(stem(m.group(1))) & variants(anchor):
            found.append(m.group(2))
    for m in _NAME_IS.finditer(sentence):  # "X is my <adjective> <noun>"
        if anchor is None or variants(stem(m.group(2))) & variants(anchor):
            found.append(m.group(1))
    has_anchor = anchor is not None and any(
        variants(stem(w.strip(".,;:!?\"'()"))) & variants(anchor) for w in sentence.split())
    if anchor is None or has_anchor:
        found += [m.group(1) for m in _INTRO.finditer(sentence)]
    if anchor is None:
        for m in re.finditer(rf"\b{_CAP}\b", sentence):
            before = sentence[:m.start()].rstrip()
            if before and before[-1] not in ".!?:\"'(" or _SUBJECT_VERB.match(sentence, m.end()):
                found.append(m.group(0))  # mid-sentence, or a sentence's subject ("X is ...")
    out: list[str] = []
    for n in (clean_name(w) for w in found):
        if n not in exclude and n not in NON_NAMES and n.lower() not in STOPWORDS:
            n = _full_name(sentence, n)
            if n not in out and not any(n in o.split() for o in out):
                out.append(n)
    return out


def _full_name(sentence: str, first: str) -> str:
    """``first`` with the capitalised words right after it ("Ingeborg Vance", "Kirkstall
    Wreckers"): a name of several words is answered whole."""
    m = re.search(rf"\b{re.escape(first)}((?:\s+{_CAP})+)", sentence)
    if not m:
        return first
    rest = [clean_name(w) for w in m.group(1).split()]
    kept = []
    for word in rest:
        if word in NON_NAMES:
            break
        kept.append(word)
    return " ".join([first, *kept])


_ADJECTIVES = frozenset("little small big large new young old cute tiny baby sweet lovely "
                        "adorable beautiful".split())


def introduced_kind(sentence: str, name: str) -> str | None:
    """The noun a name is introduced with: "a <noun> ... named X", "X, my <noun>"."""
    n = re.escape(name)
    for pattern in (rf"\b(?:a|an|the|my|our)\s+([^.]{{1,80}}?)\b(?:named|called|(?:its|his|her) "
                    rf"name is)\s+(?:it\s+|him\s+|her\s+)?{n}\b",
                    rf"\b{n},?\s+(?:is\s+)?(?:my|our|a|an|the)\s+(.{{1,60}})"):
        if m := re.search(pattern, sentence, re.I):
            phrase = _noun_phrase(m.group(1).split(), 3).split()
            while phrase and phrase[0].lower() in _ADJECTIVES:
                phrase = phrase[1:]
            if phrase:
                return " ".join(phrase).lower()
    return None


def introduced(sentence: str) -> list[str]:
    """Names the sentence introduces: "my <noun> X", "a <noun> named X", "named it X"."""
    found = [m.group(2) for m in possessed(sentence)]
    found += [m.group(2) for m in _NOUN_NAMED.finditer(sentence)]
    found += [m.group(1) for m in _INTRO.finditer(sentence)]
    return [n for n in dict.fromkeys(clean_name(w) for w in found) if n not in NON_NAMES]


def is_number(word: str) -> bool:
    """A count as ``numbers`` returns it: digits or a number word ("40", "forty")."""
    return word.isdigit() or word.lower() in NUMBER_WORDS


def numbers(sentence: str, focus: str | None = None) -> list[str]:
    """The numbers of a sentence as it writes them ("four", "40"): an extractive answer keeps
    the memory's form. With ``focus`` ("boxes"), a number right before that noun ("forty
    boxes", "four big boxes") comes first."""
    found = [(m.group(1), m.end()) for m in _NUMBER.finditer(sentence)]
    out = [word.lower() if not word.isdigit() else word for word, _ in found]
    if focus:
        wanted = variants(stem(focus))
        near = [i for i, (_, end) in enumerate(found)
                if any(stem(w.strip(".,;:!?\"'()")) in wanted
                       for w in sentence[end:].split()[:3])]
        out = [out[i] for i in near] + [v for i, v in enumerate(out) if i not in near]
    return out


_AMOUNT = (rf"(?:\d+(?:[.,]\d+)?|(?:{_NUMBER_WORD})(?:[-\s](?:{_NUMBER_WORD}|and))*|a|an|half an?)")
_QUANTITY = re.compile(rf"\b((?:about|around|nearly|almost|over|under|roughly|just over|"
                       rf"just under)\s+)?({_AMOUNT})\s+([a-z]+)(\s+old)?\b", re.I)


def quantities(sentence: str) -> list[str]:
    """Amounts with their unit, in order: "fifty-eight minutes", "about ten hours", "four
    years old", "nine hundred pounds" (a unit is the noun after the number; the reader
    prefers one the question names); a bare number when no noun follows ("she was eight")."""
    out = []
    for m in _QUANTITY.finditer(sentence):
        unit = m.group(3).lower()
        if unit in STOPWORDS or unit in PREPOSITIONS or unit in CONJUNCTIONS:
            continue
        if m.group(2).lower() in ("a", "an") and not m.group(1):
            continue  # "a cake" is not an amount
        out.append((m.group(1) or "") + f"{m.group(2)} {m.group(3)}" + (m.group(4) or ""))
    if not out:
        out = [n for n in numbers(sentence) if n not in ("a", "an")]
    return out


def _stop(word: str) -> bool:
    low = word.lower().strip(".,;:!?\"'()")
    if low.isdigit() or (low in NUMBER_WORDS and low not in ("a", "an")):
        return True
    return (low in PREPOSITIONS and low != "of") or low in CONJUNCTIONS or low in _TIME_WORDS \
        or low in _VERBISH or low.endswith("ly") and len(low) > 4


def phrase_after(sentence: str, content: tuple[str, ...], *, max_words: int = 4) -> str:
    """The noun phrase after the last sentence word that matches the question's content."""
    toks = sentence.split()
    wanted = {v for s in content for v in variants(s)}
    hits = [i for i, w in enumerate(toks) if stem(w.strip(".,;:!?\"'()")) in wanted]
    if not hits:
        return ""
    for start in hits:
        rest = toks[start + 1:]
        role = next((i for i in range(len(rest) - 1) if rest[i].lower() == "as"
                     and rest[i + 1].lower() in ("a", "an")), None)
        if role is not None:  # "... as a <role>" names what the matched word is about
            rest = rest[role:]
        phrase = _noun_phrase(rest, max_words)
        if phrase:
            return phrase
    return ""


def _noun_phrase(toks: list[str], max_words: int) -> str:
    i = 0
    while i < len(toks) and toks[i].lower().strip(",") in _LEAD:
        i += 1
    span: list[str] = []
    for w in toks[i:]:
        core = w.strip(".,;:!?\"'()")
        if not core or _stop(core) or find_relative(core) or (span and core.lower() in STOPWORDS):
            break
        if core.lower() in STOPWORDS and not span:
            break
        span.append(core)
        if re.search(r"[.,;:!?]$", w) or len(span) >= max_words:
            break
    while span and span[-1].lower() in _TRAILING:
        span.pop()
    return " ".join(span)


# Adjectives that say which one, not what it is ("the latest one", "an old one")
_GENERIC_MODIFIERS = frozenset("new latest current old first last next main favourite favorite "
                               "own other same whole only real big little".split())


def focus_phrase(sentence: str, focus: str) -> str:
    """The phrase a sentence names the asked-for thing with: an apposition after the focus
    noun ("a second-hand boat, a red Canadian canoe"), else the focus noun with the words
    that modify it ("a unicorn cake" -> "unicorn cake", "the B squad" -> "B squad");
    "" when the noun has no modifier or is not in the sentence."""
    toks = sentence.split()
    wanted = stem(focus)  # the word itself, not a near-synonym that only introduces the answer
    for i, tok in enumerate(toks):
        if stem(tok.strip(".,;:!?\"'()")) != wanted:
            continue
        rest = toks[i + 1:]
        if tok.endswith(",") and rest and rest[0].lower() in ("a", "an", "the"):
            apposition = _noun_phrase(rest, 5)
            if apposition:
                return apposition
        span = [tok.strip(".,;:!?\"'()")]
        for word in reversed(toks[:i]):
            core = word.strip("\"'()")
            low = core.lower()
            if not core or core != word.rstrip() or re.search(r"[.,;:!?]$", word) or \
                    low in STOPWORDS or low in DETERMINERS or low in PREPOSITIONS or \
                    low in _VERBISH or is_number(low) or len(span) >= 4 or \
                    (len(low) > 4 and low.endswith("ed")):
                break
            span.insert(0, core)
        while len(span) > 1 and span[0].lower() in _GENERIC_MODIFIERS:
            span.pop(0)
        return " ".join(span) if len(span) > 1 else ""
    return ""


def role(sentence: str) -> str:
    """What a sentence says someone is: "as a X", "am a X", "being a X", "became a X"."""
    m = _ROLE.search(sentence)
    return _noun_phrase(m.group(1).split(), 3) if m else ""


def clause_of(sentence: str, span: str, max_words: int = 12) -> str:
    """The clause holding ``span`` (what an answer looks like when brevity is not asked)."""
    idx = sentence.find(span)
    if idx < 0:
        return sentence
    start = max(sentence.rfind(",", 0, idx), sentence.rfind(".", 0, idx)) + 1
    toks = sentence[start:].split()
    return " ".join(toks[:max_words]).strip(" .,;!?")
