"""MemOS-style memory units: items with provenance, versions and a lifecycle state.

Paper: MemOS (Li et al., MemOS: A Memory OS for AI System), arXiv:2507.03724 (2025)

Design: MemOS treats memory as a managed resource: every memory item (a "MemCube" in the
paper) carries metadata besides its content: where it came from (provenance), which version
it is (edits produce new versions, old ones are kept), and a lifecycle state that governance
moves it through (generated -> activated -> archived, merged). We keep MemOS's plaintext
memory only (no activation or parametric memory) and make the lifecycle rules explicit:
- a new unit is GENERATED with provenance (episode number, date, source: extracted|raw);
- a later near-duplicate (similarity >= MERGE_SIM) is MERGED into it: the duplicate is not
  stored, its provenance is appended and the unit becomes ACTIVATED (confirmed twice);
- a unit with the same key (subject + single-valued slot, SLOTS) as a newer one is ARCHIVED:
  the newer unit is version v+1 of that key and records its predecessor.
Only generated/activated units are searched; archived versions are shown as history of the
keys that were retrieved.

Stores: units in a dict (text, key, version, state, provenance, predecessor) and their
embeddings in a toolkit.chroma collection (cosine space) whose metadata mirrors the state.
Write: candidates = item.facts (fallback: first-person raw lines, else informative ones);
merge / version / generate as above. 0 LLM calls.
Read: the TOP_K nearest live units (ACTIVATED_BONUS for confirmed units) as
"- [date] text (v2)" lines, then "History:" with the archived versions of the retrieved keys
("- [date] text (archived, replaced by v2)") within HISTORY_SHARE of the budget.
Prompting: INSTRUCTION_KNOWLEDGE_ITEM asks for one fact per entry with full names so keys
can be formed; INSTRUCTION_RESPONSE explains current vs archived versions.

Strengths: auditable memory (who said it, when, which version); updates never lose the old
value; confirmed facts rank higher. Weaknesses: keys exist only for the slots in SLOTS, other
changes simply coexist; merging by similarity can fold two distinct facts together.

Toolkit LLM calls: 0 per write, 0 per read.
"""

import re
from dataclasses import dataclass

from ._shared import (
    _RELATIVE,
    _SPEAKER,
    Query,
    _cosine_collection,
    _dated_lines,
    _extracted,
    _fallback,
    _list_field,
    _query_text,
    _split_date,
)

# --- design parameters ---
TOP_K = 18  # live units returned per read
MERGE_SIM = 0.93  # a candidate this similar to a live unit is merged into it
ACTIVATED_BONUS = 0.05  # ranking bonus of units confirmed by more than one episode
HISTORY_SHARE = 0.3  # share of the budget for archived versions
SHOW_VERSION = True  # mark units with version > 1 as "(v2)"
SLOTS = {  # single-valued attributes: a newer unit with the same key archives the older
    "job": r"\b(?:works? as|working as|worked as|hired as|job as|career|profession)\b",
    "home": r"\b(?:live[sd]? in|living in|moved to|relocated to)\b",
}
FALLBACK_LINES = 8  # raw lines used as units when the agent extracted none
MAX_UNIT_CHARS = 300  # one unit is clipped to this length
MAX_CHARS = 3000  # read() budget (hard cap 3000)
# --- end design parameters ---

TOOLKIT_LLM_CALLS = {"write": 0, "read": 0}

INSTRUCTION_KNOWLEDGE_ITEM = (
    "List in 'facts' every fact worth remembering from the episode: one short self-contained "
    "sentence per fact, with the full name of the person it is about (jobs, homes, relatives, "
    "pets, hobbies, dated events, changes to earlier facts); keep time expressions as said."
)
INSTRUCTION_QUERY = (
    "Copy the question verbatim into 'question'. In 'keywords' list the people, objects and "
    "topics it is about."
)
INSTRUCTION_RESPONSE = (
    "Answer with a short phrase (names, dates, numbers), not a full sentence. Units carry "
    "the date of their session: resolve relative dates against it. History lists archived "
    "versions that were replaced: the current value is the live unit. If the memory does not "
    "contain the answer, answer 'not mentioned'."
)
ALWAYS_ON_KNOWLEDGE = ""

LIVE = ("generated", "activated")


@dataclass
class KnowledgeItem:
    facts: list[str] = _list_field("facts worth remembering, one short sentence each")


def _key(text: str) -> str:
    """'maya|home' for "Ana: My sister Maya moved to Oslo"; '' when no slot applies."""
    slot = next((s for s, p in SLOTS.items() if re.search(p, text, re.IGNORECASE)), "")
    if not slot:
        return ""
    relative = _RELATIVE.search(text)
    speaker = _SPEAKER.match(text)
    subject = relative.group(1) if relative else (speaker.group(1) if speaker else "")
    return f"{subject.lower()}|{slot}" if subject else ""


class KnowledgeBase:
    """Versioned memory units with provenance and lifecycle states."""

    def __init__(self, toolkit):
        self.toolkit = toolkit
        self.index = _cosine_collection(toolkit, "memos_units")
        self.units: dict[str, dict] = {}
        self.current: dict[str, str] = {}  # key -> live unit id
        self.episodes = 0

    # -- write ---------------------------------------------------------------------------
    def write(self, item: KnowledgeItem, raw_text: str) -> None:
        lines, date = _dated_lines(raw_text)
        episode = self.episodes
        self.episodes += 1
        source = "extracted"
        facts = _extracted(item.facts)
        if not facts:
            source = "raw"
            facts = _fallback(lines, FALLBACK_LINES)
        dated = [_split_date(fact, date) for fact in facts]
        dated = [(text[:MAX_UNIT_CHARS], when) for text, when in dated if text]
        if not dated:
            return
        vectors = self.toolkit.embed([text for text, _ in dated])  # one embedding call
        for (text, when), vector in zip(dated, vectors, strict=True):
            self._admit(text, vector, {"episode": episode, "date": when, "source": source})

    def _admit(self, text: str, vector: list[float], origin: dict) -> None:
        if self.index.count():
            found = self.index.query(query_embeddings=[vector], n_results=1,
                                     where={"state": {"$in": list(LIVE)}})
            if found["ids"][0] and 1.0 - float(found["distances"][0][0]) >= MERGE_SIM:
                unit = self.units[found["ids"][0][0]]
                if all(p["episode"] != origin["episode"] for p in unit["provenance"]):
                    unit["provenance"].append(origin)
                    self._set_state(found["ids"][0][0], "activated")
                return  # merged: the duplicate adds provenance, not a unit
        key = _key(text)
        unit_id = f"u{len(self.units)}"
        previous = self.current.get(key) if key else None
        version = 1
        if previous:
            version = self.units[previous]["version"] + 1
            self.units[previous]["successor"] = unit_id
            self._set_state(previous, "archived")
        self.units[unit_id] = {"text": text, "key": key, "version": version,
                               "state": "generated", "provenance": [origin],
                               "predecessor": previous, "successor": None}
        if key:
            self.current[key] = unit_id
        self.index.add(ids=[unit_id], documents=[text], embeddings=[vector],
                       metadatas=[{"state": "generated"}])

    def _set_state(self, unit_id: str, state: str) -> None:
        self.units[unit_id]["state"] = state
        self.index.update(ids=[unit_id], metadatas=[{"state": state}])

    # -- read ----------------------------------------------------------------------------
    def _line(self, unit_id: str) -> str:
        unit = self.units[unit_id]
        date = unit["provenance"][0]["date"]
        line = f"- [{date}] {unit['text']}" if date else f"- {unit['text']}"
        if unit["state"] == "archived":
            successor = self.units.get(unit["successor"] or "", {})
            return line + f" (archived, replaced by v{successor.get('version', '?')})"
        return line + (f" (v{unit['version']})" if SHOW_VERSION and unit["version"] > 1 else "")

    def read(self, query: Query) -> str:
        text = _query_text(query)
        if not text or not self.units:
            return ""
        found = self.index.query(query_texts=[text], n_results=TOP_K * 2,
                                 where={"state": {"$in": list(LIVE)}})
        scored = []
        for unit_id, dist in zip(found["ids"][0], found["distances"][0], strict=True):
            bonus = ACTIVATED_BONUS if self.units[unit_id]["state"] == "activated" else 0.0
            scored.append((1.0 - float(dist) + bonus, unit_id))
        live = [u for _, u in sorted(scored, key=lambda s: (-s[0], s[1]))[:TOP_K]]
        history = []
        for unit_id in live:
            previous = self.units[unit_id]["predecessor"]
            while previous and previous not in history:
                history.append(previous)
                previous = self.units[previous]["predecessor"]
        out, used = [], 0
        budget = MAX_CHARS - (int(MAX_CHARS * HISTORY_SHARE) if history else 0)
        for unit_id in live:
            line = self._line(unit_id)
            if used + len(line) + 1 <= budget:
                out.append(line)
                used += len(line) + 1
        if history:
            block = ["History:"]
            used += 9
            for unit_id in history:
                line = self._line(unit_id)
                if used + len(line) + 1 <= MAX_CHARS:
                    block.append(line)
                    used += len(line) + 1
            if len(block) > 1:
                out += block
        return "\n".join(out)[:MAX_CHARS]
