"""LangMem-style semantic memory: a schema profile per person plus a consolidated memory collection.

Paper: LangMem (LangChain, LangMem SDK for long-term agent memory, documentation), 2025

Design: LangMem offers two shapes of semantic memory: a profile (one document per user that
follows a schema and is patched as new information arrives, so it always shows the current
state) and a collection (an open set of memory documents that a memory manager inserts,
updates or deletes when consolidating new information against what is stored). Here the
profile schema is PROFILE_FIELDS (single-valued fields such as job and home keep the current
value and move the old one to the field's history; multi-valued fields such as pets and
hobbies accumulate); a fact updates the profile of the person it is about (the speaker, or
the named relative in "my sister Maya ..."), given as 'Name | field | value' or recognised by
the field's pattern. The collection receives every memory; consolidation without an LLM: a
memory this similar (UPDATE_SIM) to a stored one updates it in place (newer text and date).

Stores: profiles (person -> field -> dated values, history for single-valued fields) in
python; the collection in a toolkit.chroma collection (cosine space).
Write: profile patches and collection inserts/updates; 0 LLM calls.
Read: "Profile of <name>:" for the people named in the question (the fields the question
asks about, else all), each value dated, single-valued fields with their previous values;
then "Memories:" the COLLECTION_K nearest collection memories in the remaining budget.
Prompting: INSTRUCTION_KNOWLEDGE_ITEM asks for profile patches and memories;
INSTRUCTION_RESPONSE says profile values are current and 'previously' lines are history.

Strengths: current attributes are answered from the profile without search; the collection
keeps everything else. Weaknesses: the schema is fixed and pattern-matched; consolidation by
similarity may overwrite a distinct memory that is worded alike.

Toolkit LLM calls: 0 per write, 0 per read.
"""

import re
from dataclasses import dataclass

from ._shared import (
    _HEADER,
    _NAME,
    _RELATIVE,
    _SPEAKER,
    _cosine_collection,
    _dated_lines,
    _fallback,
    _list_field,
    _query_text,
    _split_date,
    _text_field,
)

# --- design parameters ---
PROFILE_FIELDS = {  # field -> (single-valued?, pattern recognising it in a fact)
    "job": (True, r"\b(?:works? as|working as|worked as|hired as|job as|career|profession)\b"),
    "home": (True, r"\b(?:live[sd]? in|living in|moved to|relocated to)\b"),
    "pets": (False, r"\b(?:adopted|pet|puppy|kitten|parrot|hamster|rabbit|turtle|named it)\b"),
    "relatives": (False, r"\b(?:sister|brother|mother|father|aunt|uncle|cousin|nephew|niece|"
                         r"grandmother|grandfather|son|daughter|wife|husband)\b"),
    "hobbies": (False, r"\b(?:took up|picked up|started \w+ lessons|hobby|hooked)\b"),
    "trips": (False, r"\b(?:trip to|travel(?:l?ed)? to|vacation in)\b"),
}
FIELD_CUES = {  # question words asking for a field
    "job": r"\b(?:job|jobs|work|career|profession|for a living)\b",
    "home": r"\b(?:live|lives|lived|city|cities|move|moved|home)\b",
    "pets": r"\b(?:pet|pets|dog|cat|animal|adopt|rabbit|parrot|turtle|hamster)\b",
    "relatives": r"\b(?:relative|relatives|family|sister|brother|mother|father|aunt|uncle|"
                 r"cousin|nephew|niece|grandmother|grandfather)\b",
    "hobbies": r"\b(?:hobby|hobbies|taken up|take up|lessons)\b",
    "trips": r"\b(?:trip|trips|travel|visited)\b",
}
PROFILE_SHARE = 0.5  # share of the budget for profiles
COLLECTION_K = 14  # collection memories returned per read
UPDATE_SIM = 0.95  # a memory this similar to a stored one updates it
FALLBACK_LINES = 8  # raw lines used as memories when none were given
MAX_MEMORY_CHARS = 300  # one memory is clipped to this length
MAX_CHARS = 3000  # read() budget (hard cap 3000)
# --- end design parameters ---

TOOLKIT_LLM_CALLS = {"write": 0, "read": 0}

INSTRUCTION_KNOWLEDGE_ITEM = (
    "'profile_updates': changes to the profile entries job, home, pets, relatives, hobbies, "
    "trips, one per entry as 'Ana | job | nurse' (or a plain sentence). 'memories': every "
    "fact worth remembering, one short sentence each with full names and time expressions "
    "as said."
)
INSTRUCTION_QUERY = (
    "Copy the question verbatim into 'question'. In 'people' list the persons it is about; "
    "in 'keywords' the topics."
)
INSTRUCTION_RESPONSE = (
    "Answer with a short phrase (names, dates, numbers), not a full sentence. Profile values "
    "are current; 'previously' lines are history. Resolve relative dates against the date "
    "shown. If the memory does not contain the answer, answer 'not mentioned'."
)
ALWAYS_ON_KNOWLEDGE = ""


@dataclass
class KnowledgeItem:
    profile_updates: list[str] = _list_field(
        "entries 'Ana | job | nurse' for job, home, pets, hobbies")
    memories: list[str] = _list_field("facts worth remembering, one short sentence each")


@dataclass
class Query:
    question: str = _text_field("the question, verbatim")
    people: list[str] = _list_field("persons the question is about")
    keywords: list[str] = _list_field("topics of the question")


def _entries(values) -> list[str]:
    out = []
    for value in values or []:
        for line in str(value).split("\n"):
            text = " ".join(line.split())[:MAX_MEMORY_CHARS]
            if text and text.lower() not in {"filler", "none"} and text not in out:
                out.append(text)
    return out


def patches(text: str) -> list[tuple[str, str, str]]:
    """(person, field, shown value) patches a profile update or fact implies."""
    parts = [p.strip() for p in text.split("|")]
    if len(parts) >= 3 and parts[1].lower() in PROFILE_FIELDS:
        return [(parts[0].lower(), parts[1].lower(), " | ".join(parts[2:]))]
    relative = _RELATIVE.search(text)
    speaker = _SPEAKER.match(text)
    owner = speaker.group(1).lower() if speaker else \
        next((n.lower() for n in _NAME.findall(text)), "")
    out = []
    for name, (_, pattern) in PROFILE_FIELDS.items():
        if not re.search(pattern, text, re.IGNORECASE):
            continue
        if relative and name != "relatives":  # "my sister Maya moved to Oslo" is Maya's
            out.append((relative.group(1).lower(), name, text))
        if owner and (name == "relatives" or not relative):
            out.append((owner, name, text))
    return out


class KnowledgeBase:
    """Schema profiles per person plus a consolidated collection."""

    def __init__(self, toolkit):
        self.toolkit = toolkit
        self.collection = _cosine_collection(toolkit, "langmem_collection")
        self.profiles: dict[str, dict[str, list[tuple[str, str]]]] = {}
        self.history: dict[str, dict[str, list[tuple[str, str]]]] = {}
        self.memories: list[tuple[str, str]] = []  # (date, text)

    # -- write ---------------------------------------------------------------------------
    def write(self, item: KnowledgeItem, raw_text: str) -> None:
        lines, date = _dated_lines(raw_text, squeeze=True)
        body = [ln for ln in lines if not _HEADER.match(ln)]
        memories = _entries(item.memories)
        if not memories and not item.profile_updates:
            memories = [ln[:MAX_MEMORY_CHARS] for ln in _fallback(body, FALLBACK_LINES)]
        for entry in _entries(item.profile_updates) + memories:
            text, when = _split_date(entry, date)
            for person, name, value in patches(text):
                self._patch(person, name, value, when)
        self._consolidate([_split_date(m, date) for m in memories])

    def _patch(self, person: str, name: str, value: str, date: str) -> None:
        values = self.profiles.setdefault(person, {}).setdefault(name, [])
        if any(v == value for _, v in values):
            return
        if PROFILE_FIELDS[name][0] and values:  # single-valued: the old value is history
            self.history.setdefault(person, {}).setdefault(name, []).extend(values)
            values.clear()
        values.append((date, value))

    def _consolidate(self, dated: list[tuple[str, str]]) -> None:
        dated = [(t, d) for t, d in dated if t]
        if not dated:
            return
        vectors = self.toolkit.embed([t for t, _ in dated])
        for (text, date), vector in zip(dated, vectors, strict=True):
            if self.memories:
                found = self.collection.query(query_embeddings=[vector], n_results=1)
                best = found["ids"][0][0]
                if 1.0 - float(found["distances"][0][0]) >= UPDATE_SIM:  # update in place
                    self.memories[int(best[1:])] = (date, text)
                    self.collection.update(ids=[best], documents=[text], embeddings=[vector])
                    continue
            memory_id = f"m{len(self.memories)}"
            self.memories.append((date, text))
            self.collection.add(ids=[memory_id], documents=[text], embeddings=[vector])

    # -- read ----------------------------------------------------------------------------
    def read(self, query: Query) -> str:
        text = _query_text(query)
        if not text or not (self.profiles or self.memories):
            return ""
        named = [str(p).lower() for p in (query.people or [])]
        named += [n.lower() for n in _NAME.findall(query.question or "")]
        people = [p for p in dict.fromkeys(named) if p in self.profiles]
        asked = [f for f, p in FIELD_CUES.items() if re.search(p, query.question or "", re.I)]
        parts, used = [], 0
        shown: set[str] = set()
        for person in people:
            block = [f"Profile of {person.capitalize()}:"]
            for name in asked or list(self.profiles[person]):
                values = self.profiles[person].get(name, [])
                for date, value in values:
                    block.append(f"- [{date}] {value}" if date else f"- {value}")
                    shown.add(value)
                for date, value in self.history.get(person, {}).get(name, []):
                    block.append(f"  previously: [{date}] {value}" if date else
                                 f"  previously: {value}")
                    shown.add(value)
            size = sum(len(b) + 1 for b in block)
            if len(block) > 1 and used + size <= MAX_CHARS * PROFILE_SHARE:
                parts.append("\n".join(block))
                used += size
        if self.memories:
            found = self.collection.query(query_texts=[text], n_results=COLLECTION_K)
            block = ["Memories:"]
            for memory_id in found["ids"][0]:
                date, memory = self.memories[int(memory_id[1:])]
                line = f"- [{date}] {memory}" if date else f"- {memory}"
                if memory not in shown and used + len(line) + 1 <= MAX_CHARS - 10:
                    block.append(line)
                    used += len(line) + 1
            if len(block) > 1:
                parts.append("\n".join(block))
        return "\n".join(parts)[:MAX_CHARS]
