"""MemSkill-style skill memory: a small bank of extraction skills, the fitting ones chosen per span.

Paper: MemSkill (Zhang et al., Learning and Evolving Memory Skills for Self-Evolving Agents), arXiv:2602.02474 (2026)

Design: MemSkill treats memory operations as skills: structured routines (purpose, when to
use, how to apply) for extracting and consolidating memories. A controller selects a few
relevant skills for each span of the interaction, an LLM executor applies the selected skills
in one pass, and a designer reviews hard cases and refines the skill set. Here the skill bank
is SKILLS (cue pattern + card); the controller scores each skill on a span by the lines its
cue matches times the skill's learned weight and keeps the SKILLS_PER_SPAN best; the executor
is threefold: the task agent's memories (its instruction lists the skill cards), each
selected skill's deterministic routine (the lines its cue matches, dated), and ONE toolkit
LLM call per write applying the selected cards to the episode (its JSON list is merged; a
reply that is not a JSON list is ignored); duplicates are consolidated. The designer is
observe(outcome): skills used on a failed episode lose weight, on a successful one gain it
(bounded), which changes future selection; new skills are not invented.

Stores: memories (text, date, skill) in a toolkit.chroma collection (cosine space); the skill
weights and per-episode skill choices in python.
Write: spans of SPAN_LINES lines; select skills per span; execute; consolidate (exact or
near-exact duplicates, similarity >= DUPLICATE_SIM, are skipped).
Read: the TOP_K nearest memories as "- [date] memory", within MAX_CHARS.
Prompting: INSTRUCTION_KNOWLEDGE_ITEM carries the skill cards for the task agent; the
executor prompt carries the selected cards; INSTRUCTION_RESPONSE for short dated answers.

Strengths: extraction adapts to the span (dated events in chat, steps and object locations in
embodied transcripts); skills are inspectable and tunable. Weaknesses: cue patterns are a
fixed vocabulary; the designer only reweights, it does not write new skills.

Toolkit LLM calls: at most 1 per write (the executor), 0 per read.
"""

import json
import re
from dataclasses import dataclass

from ._shared import (
    _HEADER,
    _cosine_collection,
    _dated_lines,
    _list_field,
    _query_text,
    _split_date,
    _succeeded,
    _text_field,
)

# --- design parameters ---
SKILLS = {  # name -> (cue pattern: the lines the skill handles, card: how to apply it)
    "dated_events": (r"\b(?:yesterday|today|tonight|this morning|last \w+|\w+ (?:days?|weeks?|"
                     r"months?|years?) ago|\d{4})\b",
                     "Record each event with who did what and when; keep the time phrase."),
    "profile_facts": (r"\b(?:works? as|job|career|live[sd]? in|moved to|relocated|sister|"
                      r"brother|mother|father|aunt|uncle|cousin|nephew|niece|grand\w+)\b",
                      "Record stable attributes of people: job, home, relatives."),
    "possessions": (r"\b(?:adopted|bought|named|pet|dog|cat|parrot|rabbit|turtle|hamster|"
                    r"got a new)\b", "Record what people own or adopted, with names."),
    "preferences": (r"\b(?:love|loves|like|likes|enjoy|enjoys|prefer|favou?rite|hooked|"
                    r"relaxing|hate)\b", "Record likes, dislikes and hobbies taken up."),
    "procedure_steps": (r"^\s*(?:>|action\s*:|act\s*:)", "Record the actions taken, in order."),
    "object_locations": (r"\byou see\b|\b(?:is|are) (?:in|on|at) the\b|\bcontains?\b",
                         "Record where objects are."),
}
SKILLS_PER_SPAN = 3  # skills the controller selects for one span
SPAN_LINES = 12  # lines per span
USE_LLM_EXECUTOR = True  # one toolkit LLM call per write applies the selected cards
WEIGHT_STEP = 0.2  # designer: weight change per observed outcome
WEIGHT_RANGE = (0.2, 3.0)  # bounds of a skill's weight
DUPLICATE_SIM = 0.97  # a memory this similar to a stored one is consolidated away
TOP_K = 20  # memories returned per read
SUCCESS_THRESHOLD = 0.5  # observed score at or above which an episode succeeded
MAX_MEMORY_CHARS = 300  # one memory is clipped to this length
MAX_CHARS = 3000  # read() budget (hard cap 3000)
# --- end design parameters ---

TOOLKIT_LLM_CALLS = {"write": 1, "read": 0}

INSTRUCTION_KNOWLEDGE_ITEM = (
    "Apply these memory skills to the episode and list the results in 'memories', one short "
    "self-contained sentence each, with full names and time expressions as said: "
    + " ".join(f"[{name}] {card}" for name, (_, card) in SKILLS.items())
)
INSTRUCTION_QUERY = (
    "Copy the question or task verbatim into 'question'. In 'keywords' list the people, "
    "objects and topics it is about."
)
INSTRUCTION_RESPONSE = (
    "Answer with a short phrase (names, dates, numbers), not a full sentence. Memories carry "
    "the date of their session: resolve relative dates against it; the latest wins when facts "
    "changed. If the memory does not contain the answer, answer 'not mentioned'."
)
ALWAYS_ON_KNOWLEDGE = ""

_WORD = re.compile(r"[a-z0-9]+")


@dataclass
class KnowledgeItem:
    memories: list[str] = _list_field("results of the memory skills, one sentence each")


@dataclass
class Query:
    question: str = _text_field("the question or task")
    keywords: list[str] = _list_field("people, objects and topics asked about")


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def _json_list(reply: str) -> list[str]:
    """The strings of the first JSON list (or {"memories"|"facts": [...]}) in a reply."""
    text = str(reply or "")
    for opener in ("[", "{"):
        start = text.find(opener)
        if start < 0:
            continue
        try:
            value, _ = json.JSONDecoder().raw_decode(text[start:])
        except ValueError:
            continue
        if isinstance(value, dict):
            value = next((v for v in value.values() if isinstance(v, list)), [])
        if isinstance(value, list):
            return [str(v) for v in value if isinstance(v, (str, int, float))]
    return []


class KnowledgeBase:
    """Skill-extracted memories with learned skill weights."""

    def __init__(self, toolkit):
        self.toolkit = toolkit
        self.index = _cosine_collection(toolkit, "memskill_memories")
        self.memories: list[dict] = []
        self.weights = {name: 1.0 for name in SKILLS}
        self.used: list[str] = []  # skills selected since the last observe

    # -- controller ----------------------------------------------------------------------
    def select(self, span: list[str]) -> list[str]:
        """The skills for one span: cue hits x learned weight, best SKILLS_PER_SPAN."""
        scores = {}
        for name, (cue, _) in SKILLS.items():
            hits = sum(1 for ln in span if re.search(cue, ln, re.IGNORECASE))
            if hits:
                scores[name] = hits * self.weights[name]
        return sorted(scores, key=lambda n: (-scores[n], n))[:SKILLS_PER_SPAN]

    # -- write (executor) ----------------------------------------------------------------
    def write(self, item: KnowledgeItem, raw_text: str) -> None:
        lines, date = _dated_lines(raw_text, squeeze=True)
        body = [ln for ln in lines if not _HEADER.match(ln)]
        found: list[tuple[str, str]] = []  # (memory, skill)
        for value in item.memories or []:
            found += [(" ".join(v.split()), "agent") for v in str(value).split("\n")
                      if v.strip()]
        selected: list[str] = []
        for start in range(0, len(body), SPAN_LINES):
            span = body[start:start + SPAN_LINES]
            for name in self.select(span):
                selected.append(name)
                cue = SKILLS[name][0]
                found += [(ln, name) for ln in span if re.search(cue, ln, re.IGNORECASE)]
        selected = list(dict.fromkeys(selected))
        self.used += selected
        if USE_LLM_EXECUTOR and selected and body:
            found += [(m, "executor") for m in self._execute(selected, body)]
        self._consolidate(found, date)

    def _execute(self, selected: list[str], body: list[str]) -> list[str]:
        cards = "\n".join(f"- {name}: {SKILLS[name][1]}" for name in selected)
        prompt = ("Apply these memory skills to the text and return the resulting memories "
                  "as a JSON list of short self-contained sentences (full names, time "
                  f"expressions as said).\nSkills:\n{cards}\nText:\n" + "\n".join(body[:80]))
        try:
            reply = self.toolkit.llm_completion([{"role": "user", "content": prompt}])
        except Exception as exc:  # the deterministic skill routines stand
            self.toolkit.logger.warning(f"skill executor failed: {exc}")
            return []
        return [" ".join(m.split()) for m in _json_list(reply)]

    def _consolidate(self, found: list[tuple[str, str]], date: str) -> None:
        seen = {_norm(m["text"]) for m in self.memories}
        fresh = []
        for text, skill in found:
            text, when = _split_date(text, date)
            key = _norm(text)
            if len(key.split()) < 3 or key in seen or text.lower() in {"filler", "none"}:
                continue
            seen.add(key)
            fresh.append((text[:MAX_MEMORY_CHARS], when, skill))
        if not fresh:
            return
        vectors = self.toolkit.embed([t for t, _, _ in fresh])
        keep = list(range(len(fresh)))
        if self.memories:
            near = self.index.query(query_embeddings=vectors, n_results=1)
            keep = [k for k in keep if 1.0 - float(near["distances"][k][0]) < DUPLICATE_SIM]
        if not keep:
            return
        first = len(self.memories)
        for k in keep:
            text, when, skill = fresh[k]
            self.memories.append({"text": text, "date": when, "skill": skill})
        self.index.add(ids=[f"m{first + j}" for j in range(len(keep))],
                       documents=[fresh[k][0] for k in keep],
                       embeddings=[vectors[k] for k in keep],
                       metadatas=[{"skill": fresh[k][2]} for k in keep])

    # -- designer ------------------------------------------------------------------------
    def observe(self, outcome: dict) -> None:
        """Reweight the skills used since the last observe by the episode's outcome."""
        success = _succeeded(outcome, SUCCESS_THRESHOLD)
        if success is None:
            return
        low, high = WEIGHT_RANGE
        for name in set(self.used):
            step = WEIGHT_STEP if success else -WEIGHT_STEP
            self.weights[name] = min(high, max(low, self.weights[name] + step))
        self.used = []

    # -- read ----------------------------------------------------------------------------
    def read(self, query: Query) -> str:
        text = _query_text(query)
        if not text or not self.memories:
            return ""
        found = self.index.query(query_texts=[text], n_results=TOP_K)
        out, used = [], 0
        for memory_id in found["ids"][0]:
            memory = self.memories[int(memory_id[1:])]
            line = f"- [{memory['date']}] {memory['text']}" if memory["date"] else \
                f"- {memory['text']}"
            if used + len(line) + 1 <= MAX_CHARS:
                out.append(line)
                used += len(line) + 1
        return "\n".join(out)[:MAX_CHARS]
