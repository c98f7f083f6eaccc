"""Question analysis of the offline reader: what kind of answer a question wants.

``analyze`` reads only the question's English: the wh-word, the names in it (the first is the
subject), a possessive relation ("X's <noun>", "X's <noun> Y"), the focus noun after
"which/what (kind of)" ("which city" -> city), the content stems that a supporting sentence
should share, and cues for a current value ("now", "these days"), an earlier value
("before"), a list (a plural focus, "names of", "all") and a count ("how many").
The answer kind is one of: date, count, measure (how old/long/far/much), place, name, person,
kind, yesno, thing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .english import EARLIER_CUES, LATEST_CUES
from .text import LETTER, STOPWORDS, UPPER, content_stems, names_in, stem, words

_AUX = {"is", "are", "was", "were", "do", "does", "did", "has", "have", "had", "can", "could",
        "would", "will", "should"}
_WH = ("when", "where", "who", "whom", "whose", "what", "which", "how", "why")
# Nouns that name the kind of a place (general English).
PLACE_NOUNS = frozenset("city cities town towns place places country countries state states "
                        "village villages neighborhood neighbourhood area region island islands "
                        "location locations hometown destination destinations".split())
_TIME_NOUNS = frozenset("date day year month time week weekday".split())
_FOCUS_AFTER_BE = re.compile(
    r"\b(?:[Ww]hat|[Ww]hich) (?:is|are|was|were) (?:the |[A-Z]\w+['’]s )?(?:(?:latest|newest|current|"
    r"new|first|last|most recent|favou?rite|main)\s+)?([a-z]+)\b")
_KIND = re.compile(r"\b(?:what|which)\s+(?:kind|type|sort|breed|species)\s+of\s+(\w+)", re.I)
_FOCUS = re.compile(r"\b(?:what|which|how many|how much)\s+(\w+)", re.I)
_POSSESSIVE = re.compile(rf"\b([{UPPER}]{LETTER}+)['’]s\s+((?:[a-z]+\s+){{0,2}}[a-z]+)"
                         rf"(?:\s+([{UPPER}]{LETTER}+))?")
_NOT_RELATION = frozenset("called named do does did is are was were has have had live lives "
                          "name names".split()) | STOPWORDS


def _cue(low: str, cues: tuple[str, ...]) -> bool:
    return any(re.search(rf"\b{re.escape(c)}\b", low) for c in cues)


# English plurals that do not end in "s" (a closed class of the language, not of any corpus)
_IRREGULAR_PLURALS = frozenset({"children", "people", "men", "women", "mice", "geese", "feet",
                                "teeth", "oxen", "kids", "folks"})


# English nouns that end in "s" and are singular (or the same in both numbers)
_SINGULAR_IN_S = frozenset({"series", "species", "news", "means", "physics", "mathematics",
                            "maths", "politics", "economics", "athletics", "gymnastics"})


def plural_noun(word: str) -> bool:
    """A plural-looking noun ("cities", "hobbies", "pets", "children"; not "is", "class",
    "series")."""
    low = word.lower()
    if low in _IRREGULAR_PLURALS:
        return True
    if low in _SINGULAR_IN_S:
        return False
    return len(low) > 3 and low.endswith("s") and not low.endswith(("ss", "us", "is", "ous"))


@dataclass(frozen=True)
class QuestionInfo:
    text: str
    wh: str
    kind: str  # date | count | measure | place | name | person | kind | yesno | thing
    subject: str | None
    names: tuple[str, ...]
    content: tuple[str, ...]  # stems a supporting sentence should share (IDF-weighted)
    anchors: tuple[str, ...]  # stems that must all occur (other names, the relation noun)
    relation: str | None  # "landlord" in "X's landlord", "car" in "X's car"
    focus: str | None  # "city" in "Which city ...", "animal" in "What kind of animal ..."
    latest: bool
    earlier: bool
    plural: bool


@lru_cache(maxsize=4096)
def analyze(question: str) -> QuestionInfo:
    """Parse a question into what the reader needs (see the module docstring)."""
    q = " ".join(question.split())
    low = q.lower()
    toks = [re.sub(r"['’]s$", "", w.lower()) for w in words(q)]
    first = toks[0] if toks else ""
    wh = next((t for t in toks[:4] if t in _WH), "yesno" if first in _AUX else "other")
    names = tuple(names_in(q))
    subject = names[0] if names else None
    relation = None
    anchors_names = list(names[1:])
    if m := _POSSESSIVE.search(q):
        subject = m.group(1)
        nouns = [w for w in m.group(2).split() if w not in _NOT_RELATION]
        relation = nouns[-1] if nouns else None
    kind_match = _KIND.search(q)
    focus = kind_match.group(1).lower() if kind_match else None
    if focus is None and (m := _FOCUS.search(q)) and m.group(1).lower() not in _AUX \
            and m.group(1).lower() not in STOPWORDS and not m.group(1)[0].isupper():
        focus = m.group(1).lower()
    if focus is None and (m := _FOCUS_AFTER_BE.search(q)) and m.group(1) not in STOPWORDS \
            and m.group(1) not in _AUX:
        focus = m.group(1)
    plural = bool(focus and plural_noun(focus)) or bool(re.search(
        r"\bnames of\b|\ball (?:the|of)\b|\bwhat are the\b|\blist\b", low)) or bool(
        relation and plural_noun(relation) and wh in ("what", "which", "who"))
    if re.search(r"\bhow long ago\b", low) or wh == "when" or \
            re.search(r"\b(?:what|which)\s+(?:date|day|year|month|time)\b", low):
        kind = "date"
    elif re.search(r"\bhow (?:old|long|far|tall|big|heavy|deep|high|much)\b", low):
        kind = "measure"
    elif re.search(r"\bhow many\b", low):
        kind = "count"
    elif wh == "where" or (focus in PLACE_NOUNS) or (relation in PLACE_NOUNS):
        kind = "place"
    elif re.search(r"\bnames?\b|\bcalled\b|\bnamed\b", low):
        kind = "name"
    elif kind_match:
        kind = "kind"
    elif wh in ("who", "whom", "whose"):
        kind = "person" if relation is None else "name"
    elif wh == "yesno":
        kind = "yesno"
    else:
        kind = "thing"
    skip = {stem(n) for n in names} | {stem(w) for w in _WH}
    if focus and not (kind == "thing" and plural_noun(focus)):
        # the answer's type word is rarely said next to the answer; a plural focus of a list
        # ("which trips") is the topic its members share ("vacation", "getaway")
        skip.add(stem(focus))
    if relation in PLACE_NOUNS:
        skip.add(stem(relation))
    skip |= {stem(w) for cue in LATEST_CUES + EARLIER_CUES for w in cue.split()}
    content = [s for s in dict.fromkeys(content_stems(q)) if s not in skip]
    if re.search(r"\b[Ww]hat (?:does|did|do) [A-Z][\w'’ ]{0,40} do\W*$", q):
        content.append(stem("work"))  # "What does X do?" asks for an occupation
    anchors = [stem(n) for n in anchors_names]
    if relation and kind != "place":
        anchors.append(stem(relation))
    return QuestionInfo(
        text=q, wh=wh, kind=kind, subject=subject, names=names, content=tuple(content),
        anchors=tuple(dict.fromkeys(anchors)), relation=relation, focus=focus,
        latest=_cue(low, LATEST_CUES), earlier=_cue(low, EARLIER_CUES), plural=plural)


_ASKED_VERB = re.compile(r"^(?:What|Which \w+)\s+(?:did|does|do|will|would|has|have|had)\s+"
                         r"(?:[A-Z][\w'’]*(?:\s+and\s+[A-Z][\w'’]*)?|he|she|they|the \w+)\s+"
                         r"([a-z]{3,})\b")


@lru_cache(maxsize=1024)
def asked_verb(question: str) -> str:
    """The stem of the verb a what-question asks the object of ("What did X cook ...?" ->
    cook), "" when it has none."""
    m = _ASKED_VERB.match(question.strip())
    return stem(m.group(1)) if m and m.group(1) not in ("do", "get", "have") else ""
