"""MemFlow-style intent routing: profile lookup, targeted retrieval or deep reasoning per query.

Paper: MemFlow (Chen et al.), arXiv:2605.03312 (2026)

Design: MemFlow externalises memory planning: a router classifies each query by intent and a
memory agent runs one of three tiers with its own retrieval strategy and context budget:
Profile Lookup (a person's current attributes), Targeted Retrieval (a few precise pieces of
evidence) and Deep Reasoning (broad, multi-session evidence, the largest budget); a validator
retries with a heavier tier when the evidence does not support an answer. Here the router is
the task agent filling Query.intent (plus deterministic cues when the label is missing or
unknown), the tiers are deterministic, and the validator escalates profile -> targeted -> deep
when a tier finds nothing that matches the question.

Stores: every fact (item.facts, fallback: first-person or informative raw lines) with its
session date in a toolkit.chroma collection (cosine space); and a profile per person:
slot -> dated facts, where SLOT_PATTERNS file a fact under a slot (job, home, pet, relative,
hobby, trip) of its subject (the speaker, or the named relative in "my sister Maya ..."; the
relative is also filed under the speaker's 'relative' slot).
Write: 0 LLM calls. Read: route (intent label, else INTENT_CUES on the question), then
- profile: the asked slots (all slots when none is named) of the people named, every value
  dated, oldest first, within PROFILE_CHARS;
- targeted: the TARGETED_K nearest facts within TARGETED_CHARS;
- deep: the DEEP_K nearest facts plus every profile fact of the people named, chronological,
  within DEEP_CHARS.
Each answer starts with a one-line header naming the tier ("Profile lookup:", ...).
Prompting: INSTRUCTION_QUERY asks for the intent label (profile | targeted | deep) and the
people; INSTRUCTION_RESPONSE says the latest dated value is the current one.

Strengths: small budgets for simple questions (less noise), broad evidence for aggregation
questions; profiles answer "what is X's job now" directly. Weaknesses: slot patterns are a
fixed list; a wrong route shows the wrong kind of evidence (the validator only catches empty
results).

Toolkit LLM calls: 0 per write, 0 per read.
"""

import re
from dataclasses import dataclass

from ._shared import (
    _NAME,
    _SPEAKER,
    _cosine_collection,
    _dated_lines,
    _extracted,
    _fallback,
    _list_field,
    _query_text,
    _split_date,
    _text_field,
)

# --- design parameters ---
PROFILE_CHARS = 1200  # budget of the profile tier
TARGETED_CHARS = 2000  # budget of the targeted tier
DEEP_CHARS = 3000  # budget of the deep-reasoning tier (hard cap 3000)
TARGETED_K = 10  # facts retrieved by the targeted tier
DEEP_K = 30  # facts retrieved by the deep tier before adding profile facts
MIN_SIMILARITY = 0.2  # targeted evidence below this similarity counts as nothing found
SLOT_PATTERNS = {  # a fact matching a pattern is filed under the slot of its subject
    "job": r"\b(?:works? as|working as|worked as|hired as|job as|career|profession|employed)\b",
    "home": r"\b(?:live[sd]? in|living in|moved to|relocated to|moving to)\b",
    "pet": r"\b(?:adopted|pet|dog|cat|puppy|kitten|parrot|hamster|rabbit|turtle|fish|named it)\b",
    "relative": r"\b(?:sister|brother|mother|father|aunt|uncle|cousin|nephew|niece|"
                r"grandmother|grandfather|son|daughter|wife|husband)\b",
    "hobby": r"\b(?:took up|picked up|started \w+ lessons|hobby|hooked|lessons)\b",
    "trip": r"\b(?:trip to|travel(?:l?ed)? to|visited|vacation in|flew to)\b",
}
SLOT_CUES = {  # question words that ask for a slot
    "job": r"\b(?:job|jobs|work|works|career|profession|for a living|occupation)\b",
    "home": r"\b(?:live|lives|lived|living|city|cities|move|moved|home)\b",
    "pet": r"\b(?:pet|pets|dog|cat|animal|adopt|adopted|puppy|kitten|parrot|hamster|rabbit|"
           r"turtle|fish)\b",
    "relative": r"\b(?:relative|relatives|family|sister|brother|mother|father|aunt|uncle|"
                r"cousin|nephew|niece|grandmother|grandfather)\b",
    "hobby": r"\b(?:hobby|hobbies|taken up|take up|took up|lessons|activity)\b",
    "trip": r"\b(?:trip|trips|travel|travelled|traveled|visit|visited)\b",
}
INTENT_CUES = {  # deterministic router, used when Query.intent is not a known label
    "deep": r"\b(?:which \w+ (?:has|have|did)|what are|how many|list|all the|both|compare|"
            r"why|would|likely|names of)\b",
    "profile": r"\b(?:now|currently|these days|latest|what is \w+'s|where does|what does \w+ "
               r"do|name of \w+'s)\b",
}
FALLBACK_LINES = 8  # raw lines used as facts when the agent extracted none
MAX_FACT_CHARS = 300  # one fact is clipped to this length
MAX_CHARS = 3000  # read() budget (hard cap 3000)
# --- end design parameters ---

TOOLKIT_LLM_CALLS = {"write": 0, "read": 0}

INSTRUCTION_KNOWLEDGE_ITEM = (
    "List in 'facts' every fact about the people in the episode: one short sentence per fact "
    "with full names (jobs, homes, pets, relatives, hobbies, trips, dated events), keeping "
    "time expressions as said. Skip small talk."
)
INSTRUCTION_QUERY = (
    "Copy the question verbatim into 'question'. Classify it in 'intent': 'profile' (a "
    "person's current attribute: job, home, pet, relative), 'targeted' (one specific event or "
    "detail, e.g. when something happened) or 'deep' (needs several facts: lists, counts, "
    "comparisons, reasoning). In 'people' list the persons named; in 'keywords' the topics."
)
INSTRUCTION_RESPONSE = (
    "Answer with a short phrase (names, dates, numbers), not a full sentence. Facts carry the "
    "date of their session: resolve relative dates against it; for current values the latest "
    "dated fact wins; for lists give every value. If the memory does not contain the answer, "
    "answer 'not mentioned'."
)
ALWAYS_ON_KNOWLEDGE = ""

_RELATIVE = re.compile(
    r"\b(?:[Mm]y|[Hh]is|[Hh]er|[A-Z]\w+'s) (?:sister|brother|mother|father|mom|dad|aunt|uncle|"
    r"cousin|nephew|niece|grandmother|grandfather|grandma|grandpa|son|daughter|wife|husband|"
    r"partner) ([A-Z][a-z]+)")
_NOT_NAMES = frozenset(
    "What When Where Which Who Whom Whose Why How Did Does Do Is Are Was Were Has Have Had The "
    "A An In On At For And Or But If Not I".split())
_TIERS = ("profile", "targeted", "deep")


@dataclass
class KnowledgeItem:
    facts: list[str] = _list_field("facts about people, one short sentence each, full names")


@dataclass
class Query:
    question: str = _text_field("the question, verbatim")
    intent: str = _text_field("profile | targeted | deep (the query type)")
    people: list[str] = _list_field("persons named in the question")
    keywords: list[str] = _list_field("topics the question is about")


def _people_of(text: str) -> list[tuple[str, bool]]:
    """(person, is a relative of the speaker) pairs a fact is about."""
    match = _SPEAKER.match(text)
    speaker = match.group(1).lower() if match else ""
    out = [(speaker, False)] if speaker else []
    out += [(m.lower(), True) for m in _RELATIVE.findall(text)]
    if not out:
        words = [w for w in _NAME.findall(text) if w not in _NOT_NAMES]
        out = [(words[0].lower(), False)] if words else []
    return out


def _route(query: Query) -> str:
    """The tier for a query: a known intent label, else the deterministic cues."""
    label = str(query.intent or "").lower()
    for tier, words in (("profile", ("profile", "knowledge-update", "attribute")),
                        ("deep", ("deep", "multi-hop", "reason", "aggregat")),
                        ("targeted", ("targeted", "temporal", "retriev", "detail"))):
        if any(w in label for w in words):
            return tier
    question = query.question or ""
    for tier in ("deep", "profile"):
        if re.search(INTENT_CUES.get(tier, r"$^"), question, re.IGNORECASE):
            return tier
    return "targeted"


class KnowledgeBase:
    """Facts in a vector collection plus per-person profiles."""

    def __init__(self, toolkit):
        self.toolkit = toolkit
        self.facts = _cosine_collection(toolkit, "memflow_facts")
        self.lines: list[str] = []  # fact id -> "[date] fact"
        self.profiles: dict[str, dict[str, list[int]]] = {}  # person -> slot -> fact ids

    def write(self, item: KnowledgeItem, raw_text: str) -> None:
        lines, date = _dated_lines(raw_text)
        facts = _extracted(item.facts)
        if not facts:
            facts = _fallback(lines, FALLBACK_LINES)
        known = set(self.lines)
        ids, docs, metas = [], [], []
        for fact in facts:
            text, when = _split_date(fact, date)
            text = text[:MAX_FACT_CHARS]
            line = f"[{when}] {text}" if when else text
            if not text or line in known:
                continue
            known.add(line)
            fact_id = len(self.lines)
            self.lines.append(line)
            ids.append(f"f{fact_id}")
            docs.append(text)
            metas.append({"n": fact_id})
            self._file(fact_id, text)
        if ids:
            self.facts.add(ids=ids, documents=docs, metadatas=metas)

    def _file(self, fact_id: int, text: str) -> None:
        """Profile update: file the fact under the matching slots of the people it is about."""
        slots = [s for s, p in SLOT_PATTERNS.items() if re.search(p, text, re.IGNORECASE)]
        if not slots:
            return
        people = _people_of(text)
        speaker = people[0][0] if people and not people[0][1] else ""
        filed = [(person, slot) for person, is_relative in people for slot in slots
                 if not (slot == "relative" and is_relative)]  # Maya is not her own relative
        if speaker and any(rel for _, rel in people):
            filed.append((speaker, "relative"))
        for person, slot in filed:
            entries = self.profiles.setdefault(person, {}).setdefault(slot, [])
            if fact_id not in entries:
                entries.append(fact_id)

    # -- tiers ---------------------------------------------------------------------------
    def _people(self, query: Query) -> list[str]:
        names = [str(p) for p in (query.people or [])] + _NAME.findall(query.question or "")
        out = []
        for name in names:
            low = name.lower().removesuffix("'s")
            if low in self.profiles and low not in out:
                out.append(low)
        return out

    def _profile(self, query: Query, people: list[str]) -> list[int]:
        asked = [s for s, p in SLOT_CUES.items() if re.search(p, query.question or "", re.I)]
        ids: list[int] = []
        for person in people:
            slots = self.profiles.get(person, {})
            for slot in asked or list(slots):
                ids += [i for i in slots.get(slot, []) if i not in ids]
        return sorted(ids)

    def _nearest(self, text: str, k: int) -> list[tuple[int, float]]:
        found = self.facts.query(query_texts=[text], n_results=k)
        return [(int(m["n"]), 1.0 - float(d))
                for m, d in zip(found["metadatas"][0], found["distances"][0], strict=True)]

    def read(self, query: Query) -> str:
        text = _query_text(query)
        if not text or not self.lines:
            return ""
        tier = _route(query)
        people = self._people(query)
        ids: list[int] = []
        for attempt in _TIERS[_TIERS.index(tier):]:  # validator: escalate when nothing found
            tier = attempt
            if tier == "profile":
                ids = self._profile(query, people)
            elif tier == "targeted":
                near = self._nearest(text, TARGETED_K)
                ids = [i for i, sim in near if sim >= MIN_SIMILARITY]
            else:
                ids = [i for i, _ in self._nearest(text, DEEP_K)]
                ids = sorted(set(ids) | set(self._profile(query, people)))
            if ids:
                break
        self.toolkit.logger.debug(f"memflow route: {_route(query)} -> answered by {tier}")
        budget = min(MAX_CHARS, {"profile": PROFILE_CHARS, "targeted": TARGETED_CHARS,
                                 "deep": DEEP_CHARS}[tier])
        header = {"profile": "Profile lookup:", "targeted": "Targeted retrieval:",
                  "deep": "Deep reasoning evidence:"}[tier]
        out, used = [header], len(header)
        for i in ids:
            line = f"- {self.lines[i]}"
            if used + len(line) + 1 > budget:
                continue
            out.append(line)
            used += len(line) + 1
        return "\n".join(out)[:MAX_CHARS] if len(out) > 1 else ""
