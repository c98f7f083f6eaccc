"""Extractive question answering of the offline model (answer step of the task agent).

The answer comes only from the retrieved memory text:
1. the question is analysed (``question.analyze``): kind, subject, relation, focus, content
   stems, anchors and cues for current values, earlier values and lists;
2. the memory is cut into sentence units that know their speaker and date (``text``);
3. a unit is *eligible* when it is about the subject (the name in the sentence, or the
   subject speaking in the first person) and not about someone else the speaker introduces
   ("my <noun> <Name> ...") unless the question asks about that relation; it *supports* the
   question when it holds every anchor and at least half of the question's content weight
   (IDF-weighted, common near-synonyms folded), or any content at all when the question has
   a typed answer (date, place, name, count) that the unit offers;
4. candidates come from ``spans`` by kind; list questions join every supported value in
   time order, current-value questions take the latest-dated unit, "before" questions the
   earliest, others the best-supported unit (ties: the latest when the instruction prefers
   the latest value, else the first told);
5. the instruction's requests (``instructions``) shape the reply: brevity, relative-date
   resolution, date format, list separator;
6. when no sentence supports the question: a typed list gathered from every sentence about
   the subject, the loose pass (``loose``), a bare reply that answers the line before it
   (``replies``), the polarity of the closest sentence for yes/no (``yesno``); a strict
   instruction skips these.
Only when no candidate has support is the reply exactly ``not mentioned``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import replace
from functools import lru_cache

from .instructions import AnswerStyle, read_instruction
from .loose import (
    LOOSE_FLOOR,
    LOOSE_LIST_MAX,
    addressed_only,
    echoes_question,
    loose_question,
    loose_span,
    name_anchored,
    quoted_title,
)
from .question import QuestionInfo, analyze, asked_verb, plural_noun
from .replies import fragment_answer
from .semantic import SIMILARITY, surface_words
from .spans import (
    clause_of,
    focus_phrase,
    introduced,
    introduced_kind,
    is_number,
    names,
    numbers,
    phrase_after,
    places,
    possessed,
    quantities,
    role,
)
from .text import (
    Unit,
    next_in_turn,
    parse_units,
    stem,
    token_set,
    variants,
)
from .told_dates import date_of, event_day, told_date
from .yesno import leaning_answer, polarity

NOT_MENTIONED = "not mentioned"
_FIRST_PERSON = frozenset("i i'm i've i'd my me we we're our us mine myself".split())
_SECOND_PERSON = frozenset("you your you're yours yourself".split())


@lru_cache(maxsize=256)
def memory_index(text: str) -> tuple[tuple[Unit, ...], dict[str, float]]:
    """The sentence units of a memory text and the IDF of their stems (cached)."""
    units = parse_units(text)
    df = Counter(s for u in units for s in u.stems)
    n = len(units) + 1
    return units, {s: math.log(n / (c + 0.5)) + 1.0 for s, c in df.items()}


_LIST_FLOOR = 0.01  # a typed list member with no word of the question still counts
SOFT_CREDIT = 0.5  # an embedding match (``semantic``) counts half of the word itself
Soft = dict[str, dict[str, float]]


def overlap(unit: Unit, info: QuestionInfo, idf: dict[str, float], soft: Soft | None = None
            ) -> float:
    """IDF-weighted share of the question's content stems found in the unit (synonyms count;
    with ``soft``, a word of similar meaning counts ``SOFT_CREDIT``)."""
    if not info.content:
        return 1.0
    total = hit = 0.0
    absent = max(idf.values(), default=1.0)  # a word the memory never uses: as rare as its rarest
    focus = stem(info.focus) if info.focus else None
    for s in info.content:
        if s == focus and len(info.content) > 1 and not any(v in idf for v in variants(s)):
            continue  # a list's topic word the memory never uses cannot tell sentences apart
        w = idf.get(s, absent)
        total += w
        if s in unit.stems or variants(s) & unit.stems:
            hit += w
        elif soft and (near := soft.get(s)) and not near.keys().isdisjoint(unit.stems):
            hit += w * SOFT_CREDIT
    return hit / total if total else 1.0


def soft_matches(info: QuestionInfo, surface: dict[str, str]) -> Soft:
    """The words of ``surface`` (stem -> word form of the sentences read) similar in meaning
    to the question's content words (``semantic``)."""
    wanted = {s: w for s, w in surface_words(info.text).items() if s in info.content}
    return SIMILARITY.matches(wanted, surface)


_THIRD_PERSON = frozenset("he she him her his hers they them their".split())
_WE = frozenset("we we're we've we'd our ours us".split())


def _about_subject(unit: Unit, info: QuestionInfo, speakers: frozenset[str] = frozenset()
                   ) -> bool:
    if info.subject is None:
        return True
    if speakers and info.subject not in speakers and token_set(unit.text) & _THIRD_PERSON \
            and not _people_named(unit.text, set(info.names)):
        # someone the speakers talk about, named in an earlier line: "she", "he" may be them
        return True
    body = unit.turn
    said = token_set(body)
    if info.subject in said or info.subject.lower() in said or \
            f"{info.subject}'s" in body or f"{info.subject}’s" in body:
        return True
    if unit.speaker and unit.speaker.split()[0] == info.subject:
        toks = token_set(unit.text)
        # a sentence by the subject that only says "you" is about the other person
        return bool(toks & _FIRST_PERSON) or not toks & _SECOND_PERSON
    return False


def _people_named(text: str, exclude: set[str]) -> list[str]:
    """The names of a sentence that are not places ("at the theatre in Paisley")."""
    located = {w for place, _ in places(text, exclude) for w in place.split()}
    return [n for n in names(text, exclude, anchor=None) if not set(n.split()) & located]


def _introduces_other(unit: Unit, info: QuestionInfo) -> bool:
    """The sentence is about a person the speaker introduces ("my <noun> <Name> ...")."""
    if info.relation is not None or info.subject is None:
        return False  # "Who danced ...?": the person introduced may be the one asked for
    introduced = names(unit.text, set(info.names), anchor=None)
    owned = [m.group(2) for m in possessed(unit.text)]
    return any(n in introduced for n in owned) and info.subject not in owned


def _anchored(unit: Unit, info: QuestionInfo) -> bool:
    """Every anchor is in the unit; a person the question names beside its subject also
    counts when the subject speaks of "we" ("Desmond: we had our first regatta")."""
    together = bool(unit.speaker and info.subject and unit.speaker.split()[0] == info.subject
                    and token_set(unit.text) & _WE)
    people = {stem(n) for n in info.names}
    return all(variants(a) & unit.stems or (together and a in people) for a in info.anchors)


# ---------------------------------------------------------------- values per kind


def _values(unit: Unit, info: QuestionInfo, style: AnswerStyle) -> list[str]:
    """Candidate answers a unit offers for the question, in sentence order."""
    exclude = set(info.names) | ({unit.speaker} if unit.speaker else set())
    if info.kind == "date":
        value = date_of(unit, style, info)
        return [value] if value else []
    if info.kind == "place":
        located = places(unit.text, exclude)
        current = [p for p, was_from in located if not was_from]
        return current or [p for p, _ in located]
    if info.kind == "count":
        return numbers(unit.text, info.focus)
    if info.kind == "measure":
        found = quantities(unit.text)
        asked = {stem(w) for w in info.text.lower().split()}
        return sorted(found, key=lambda q: stem(q.split()[-1]) not in asked)  # named units first
    if info.kind == "kind":
        subject = info.subject or ""
        word = introduced_kind(unit.text, subject) if subject else None
        return [word] if word else []
    if info.kind in ("name", "person"):
        anchor = stem(info.relation) if info.relation else None
        found = names(unit.text, exclude - ({info.subject} if info.kind == "person" and
                                            info.subject is None else set()), anchor=anchor)
        if info.kind == "person" and not found and unit.speaker and info.subject is None:
            found = [unit.speaker.split()[0]]
        return found
    if info.kind == "yesno":
        return [polarity(unit.text)]
    if info.wh == "why":
        reason = loose_span(unit, info)  # the reason clause, not a noun phrase
        return [reason] if reason else []
    if title := quoted_title(unit.text, info):
        return [title]  # "opened with "Paper Boats"": the title, not the words after a match
    if info.focus and not info.plural and (named := focus_phrase(unit.text, info.focus)):
        return [named]  # "What cake ...?" -> "unicorn cake"
    focus = (stem(info.focus),) if info.focus else ()
    verb = asked_verb(info.text)
    # "What did Ross cook on the stove?": the object of the asked verb first
    phrase = (phrase_after(unit.text, (verb,)) if verb else "") or \
        phrase_after(unit.text, info.content + info.anchors + focus)
    if _asks_role(info):
        phrase = role(unit.text) or phrase
    if phrase and echoes_question(phrase, info):
        phrase = ""  # "in my neighborhood" answers nothing when the question says neighborhood
    return [phrase] if phrase else []


def _asks_role(info: QuestionInfo) -> bool:
    """An occupation question ("do for a living", "which jobs"): "<person> am/is a X" answers it."""
    work = variants(stem("work"))
    return bool(work & set(info.content) or (info.focus and stem(info.focus) in work)
                or (info.relation and stem(info.relation) in work))


def _supported(info: QuestionInfo, units: list[Unit], idf: dict[str, float],
               style: AnswerStyle, counting: bool = False, soft: Soft | None = None,
               following: dict[int, Unit] | None = None
               ) -> list[tuple[float, Unit, list[str]]]:
    typed = info.kind in ("date", "place", "name", "person", "count", "measure", "kind")
    floor = 0.6 if info.kind == "yesno" else 0.4 if info.kind == "date" else 0.5
    out = []
    for unit in units:
        if not _anchored(unit, info):
            continue
        if info.kind == "thing" and not info.content and info.focus and \
                not variants(stem(info.focus)) & unit.stems and \
                not (_asks_role(info) and role(unit.text)):
            continue
        score = overlap(unit, info, idf, soft)
        if score < 0.5 and _asks_role(info) and role(unit.text) and info.kind == "thing":
            score = 0.5  # a role sentence answers an occupation question without its words
        named = any(stem(n) in info.anchors for n in info.names)
        if score < floor and not (typed and score > 0 and (info.kind != "date" or named)) \
                and not (typed and not info.content):
            continue
        values = _values(unit, info, style)
        after = following.get(unit.order) if following else None  # the turn's next sentence
        if after is not None and info.kind == "date" and told_date(unit, style, info) is None \
                and (stated := told_date(after, style, info)):
            values = [stated]  # "I accepted the job. I start on the first of May."
        if after is not None and not values and \
                info.kind in ("place", "name", "person", "measure", "kind"):
            values = _values(after, info, style)  # "We are planning a holiday. Any tips
            # for the Faroe Islands?": the turn's next sentence holds the answer
        if not values and counting and info.kind == "thing":
            values = [unit.text]  # a count needs the supporting sentence, not a span of it
        if values:
            out.append((score, unit, values))
    return out


def _keep(supported: list[tuple[float, Unit, list[str]]]
          ) -> list[tuple[float, Unit, list[str]]]:
    """The list members: support at least a third of the best, in time order."""
    if not supported:
        return []
    best = max(s for s, _, _ in supported)
    keep = [t for t in supported if t[0] > 0 and t[0] >= 0.34 * best]
    return sorted(keep, key=lambda t: (event_day(t[1]), t[1].order))


def _finish(value: str, unit: Unit, style: AnswerStyle, info: QuestionInfo) -> str:
    if style.brief or info.kind in ("yesno", "count", "measure"):
        return value
    return clause_of(unit.text, value)


def _loose_answer(info: QuestionInfo, eligible: list[Unit], idf: dict[str, float],
                  style: AnswerStyle, soft: Soft | None = None) -> str:
    """The answer of the loose pass (``loose``), "" when no sentence qualifies."""
    info = loose_question(info)
    if not info.content or info.kind in ("yesno", "count", "measure"):
        return ""
    scored = [(overlap(u, info, idf, soft), u) for u in eligible
              if name_anchored(u, info) and not addressed_only(u, info)]
    scored = [(score, u) for score, u in scored if score >= LOOSE_FLOOR]
    if not scored:
        return ""
    if info.plural and info.kind != "date":
        # a list: what every qualifying sentence offers, in time order
        members: dict[str, str] = {}
        for _, unit in sorted(scored, key=lambda t: (event_day(t[1]), t[1].order)):
            for value in _loose_values(unit, info, style):
                members.setdefault(value.lower(), value)
        return style.list_joiner.join(list(members.values())[:LOOSE_LIST_MAX])
    sign = 1 if style.prefer_latest else -1  # ties: the latest told, or the first told
    _, unit = max(scored, key=lambda t: (t[0], sign * t[1].order))
    if info.kind == "date":
        return date_of(unit, style) or ""
    values = _loose_values(unit, info, style)
    return values[0] if values else ""


def _loose_values(unit: Unit, info: QuestionInfo, style: AnswerStyle) -> list[str]:
    """Typed candidates of a loosely matching sentence, or its quoted span for a thing."""
    if info.kind in ("place", "name", "person"):
        return _values(unit, info, style)
    span = loose_span(unit, info)
    return [span] if span else []


def answer_question(question: str, memory: str, instruction: str | None = None) -> str:
    """Extractive answer to ``question`` from ``memory`` ("not mentioned" when unsupported)."""
    info = analyze(question)
    style = read_instruction(instruction)
    units, idf = memory_index(memory)
    speakers = frozenset(u.speaker.split()[0] for u in units if u.speaker)
    eligible = [u for u in units if _about_subject(u, info, speakers)
                and not _introduces_other(u, info)
                and not addressed_only(u, info)]
    surface = surface_words("\n".join(u.text for u in eligible))
    soft = soft_matches(info, surface)
    following = next_in_turn(memory)
    supported = _supported(info, eligible, idf, style, soft=soft, following=following)
    if not supported and info.anchors:
        # no sentence holds every other name and the relation noun ("Alastair's job": "he
        # has been a fishmonger"): weigh them like the other words instead of requiring them
        people = {stem(n) for n in info.names}
        loosened = tuple(a for a in info.anchors if a not in people)
        info = replace(info, anchors=tuple(a for a in info.anchors if a in people),
                       content=tuple(dict.fromkeys(info.content + loosened)))
        soft = soft_matches(info, surface)
        supported = _supported(info, eligible, idf, style, soft=soft, following=following)
    if not supported and info.plural and info.relation and info.kind == "name":
        # "names of X's <group>": anyone X introduces with "my <noun> <Name>" / "<noun> named"
        supported = [(1.0, u, found) for u in eligible
                     if (found := [n for n in introduced(u.text) if n not in info.names])]
    if not supported and style.strict and info.kind != "count":
        # told to answer only from outright support (a count's list below is outright
        # support of the list question, so it stays)
        return NOT_MENTIONED
    if not supported and info.plural and info.kind in ("place", "name", "person"):
        # "Which places has X called home?" over "leaving Inverness" and "the new cottage in
        # Ullapool": a typed list gathers what every sentence about the subject offers
        supported = [(max(overlap(u, info, idf, soft), _LIST_FLOOR), u, found)
                     for u in eligible if (found := _values(u, info, style))]
    if not supported and info.kind != "count":
        loose = _loose_answer(info, eligible, idf, style, soft)
        if not loose:
            allowed = {u.order for u in eligible}
            replying = [u for u in units if u.order in allowed or (
                info.subject is not None and len(speakers) > 1 and info.subject not in speakers
                and not addressed_only(u, info))]  # both speakers known: the subject is
            # someone they talk about, whom a reply need not name
            loose = fragment_answer(info, replying, units, style,
                                    values=lambda unit: _values(unit, info, style),
                                    support=lambda unit: overlap(unit, info, idf))
        if not loose and info.kind == "yesno":
            loose = leaning_answer(info, eligible,
                                   lambda unit: overlap(unit, info, idf, soft))
        return loose if loose else NOT_MENTIONED
    if info.kind == "count" and info.focus and plural_noun(info.focus) and (
            not any(is_number(v) for _, _, vals in supported for v in vals)
            or len({u.order for _, u, _ in supported}) > 1):
        # several sentences state counts of the things asked about (told at different
        # times): the answer is how many distinct ones were told, not one sentence's number
        supported = []
    if info.kind == "count" and not supported and info.focus and plural_noun(info.focus):
        # "how many <things>": the list question's supported sentences (distinct places or
        # names when the list is typed, else one per sentence)
        listing = analyze(re.sub(r"\b[Hh]ow many\b", "Which", question))
        listed = _keep(_supported(listing, eligible, idf, style, counting=True, soft=soft))
        if not listed:
            return NOT_MENTIONED
        if listing.kind == "thing":
            return str(len(listed))
        return str(len({v.lower() for _, _, vals in listed for v in vals}))
    if not supported:
        # a count question with no countable noun ("how many times ...") and no number nearby
        return NOT_MENTIONED
    if info.plural and info.kind != "count":  # a count is one number, not a list
        ordered = _keep(supported)
        values: dict[str, str] = {}
        for _, _unit, vals in ordered:
            for v in vals:
                values.setdefault(v.lower(), v)
        return style.list_joiner.join(values.values())
    if info.latest or (style.prefer_latest and info.kind in ("place", "thing")
                       and not info.earlier and len(supported) > 1):
        pick = max(supported, key=lambda t: (t[0] >= 0.5, event_day(t[1]), t[1].order))
        return _finish(pick[2][-1], pick[1], style, info)
    if info.earlier:
        pick = min(supported, key=lambda t: (t[0] < 0.5, event_day(t[1]), t[1].order))
        return _finish(pick[2][0], pick[1], style, info)
    pick = max(supported, key=lambda t: (t[0], -t[1].order))
    return _finish(pick[2][0], pick[1], style, info)
