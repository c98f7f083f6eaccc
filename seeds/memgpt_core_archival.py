"""MemGPT/Letta-style tiers: bounded core memory blocks, archival passages and searchable recall.

Paper: MemGPT (Packer et al., MemGPT: Towards LLMs as Operating Systems), arXiv:2310.08560 (2023)

Design: MemGPT manages memory like an operating system: a small core memory that is always in
context (editable blocks, e.g. one about the user), an archival memory of passages searched on
demand, and a recall memory holding the full message history, searchable; the agent moves
information between tiers with function calls (core_memory_append / core_memory_replace,
archival_memory_insert, archival/conversation search), and memory pressure evicts from the
context. Here the task agent's KnowledgeItem plays the function calls: 'core_memory' entries
are appended to the block of the person they are about ("human:<name>"); an entry about the
same person and single-valued slot (SLOTS) replaces the older one (core_memory_replace; the
old entry goes to archival); when a block exceeds CORE_BLOCK_CHARS its oldest entries are
evicted to archival memory (memory pressure). 'archival' entries are inserted into archival
memory directly. Every raw line goes to recall memory.

Stores: core blocks (person -> dated entries) in python; archival passages in a
toolkit.chroma collection (cosine space); recall memory in an SQLite FTS5 table.
Write: core appends/replaces with eviction, archival inserts, recall lines; 0 LLM calls.
Read: "Core memory:" the blocks of the people named in the question (all blocks while they
fit within CORE_SHARE when nobody is named); "Archival memory:" the ARCHIVAL_K nearest
passages; "Recall:" the RECALL_K best-matching raw lines (bm25), each dated.
Prompting: INSTRUCTION_KNOWLEDGE_ITEM tells the task agent what belongs in core memory and
what goes to archival memory; INSTRUCTION_RESPONSE says core memory is current.

Strengths: current key facts about each person are always at hand; nothing is lost (evicted
entries stay searchable, raw lines are in recall). Weaknesses: core blocks are small, so
busy people's blocks churn; three tiers split the budget.

Toolkit LLM calls: 0 per write, 0 per read.
"""

import re
from dataclasses import dataclass

from ._shared import (
    _HEADER,
    _LEADING_DATE,
    _NAME,
    _RELATIVE,
    _SPEAKER,
    _cosine_collection,
    _dated_lines,
    _fallback,
    _list_field,
    _match_expression,
    _query_text,
    _split_date,
    _text_field,
)

# --- design parameters ---
CORE_BLOCK_CHARS = 600  # size limit of one person's core block (memory pressure beyond)
CORE_SHARE = 0.4  # share of the read budget for core memory
ARCHIVAL_K = 12  # archival passages returned per read
RECALL_K = 5  # raw lines returned from recall memory per read
SLOTS = {  # single-valued attributes: a new entry replaces the old one in the block
    "job": r"\b(?:works? as|working as|worked as|hired as|job as|career|profession)\b",
    "home": r"\b(?:live[sd]? in|living in|moved to|relocated to)\b",
}
FALLBACK_LINES = 8  # raw lines used as core entries when none were given
MAX_ENTRY_CHARS = 300  # one entry is clipped to this length
MAX_CHARS = 3000  # read() budget (hard cap 3000)
# --- end design parameters ---

TOOLKIT_LLM_CALLS = {"write": 0, "read": 0}

INSTRUCTION_KNOWLEDGE_ITEM = (
    "You manage your memory. 'core_memory': key facts about each person to keep in mind, one "
    "short sentence per entry starting with the person's name (identity, job, home, family, "
    "pets, hobbies, changes to these). 'archival': other facts and dated events worth "
    "storing, one per entry, with full names and time expressions as said."
)
INSTRUCTION_QUERY = (
    "Copy the question verbatim into 'question'. In 'people' list the persons it is about; "
    "in 'keywords' the topics."
)
INSTRUCTION_RESPONSE = (
    "Answer with a short phrase (names, dates, numbers), not a full sentence. Core memory is "
    "current; archival and recall entries carry their date: resolve relative dates against "
    "it. If the memory does not contain the answer, answer 'not mentioned'."
)
ALWAYS_ON_KNOWLEDGE = ""

_STOP = frozenset(
    "a an the and or but if of to in on at for with from by about as is am are was were be been "
    "do does did have has had i you he she it we they me him her us them my your his its our "
    "their this that what which who when where why how so not no just very really can could "
    "would will now currently current latest ever still".split())


@dataclass
class KnowledgeItem:
    core_memory: list[str] = _list_field("key facts about each person, one sentence each")
    archival: list[str] = _list_field("other facts and dated events")


@dataclass
class Query:
    question: str = _text_field("the question, verbatim")
    people: list[str] = _list_field("persons the question is about")
    keywords: list[str] = _list_field("topics of the question")


def _owner(text: str) -> str:
    """Whose core block an entry belongs to: the named relative, else speaker / first name."""
    relative = _RELATIVE.search(text)
    if relative:
        return relative.group(1).lower()
    speaker = _SPEAKER.match(text)
    if speaker:
        return speaker.group(1).lower()
    names = _NAME.findall(text)
    return names[0].lower() if names else "general"


def _slot(text: str) -> str:
    return next((s for s, p in SLOTS.items() if re.search(p, text, re.IGNORECASE)), "")


def _entries(values) -> list[str]:
    out = []
    for value in values or []:
        for line in str(value).split("\n"):
            text = " ".join(line.split())[:MAX_ENTRY_CHARS]
            if text and text.lower() not in {"filler", "none"}:
                out.append(text)
    return out


class KnowledgeBase:
    """Core blocks, archival passages and recall memory."""

    def __init__(self, toolkit):
        self.toolkit = toolkit
        self.db = toolkit.db
        self.db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS memgpt_recall USING fts5("
                        "body, date UNINDEXED, tokenize='porter unicode61')")
        self.db.commit()
        self.archive = _cosine_collection(toolkit, "memgpt_archival")
        self.core: dict[str, list[tuple[str, str]]] = {}  # person -> [(date, entry)]
        self.passages: list[str] = []

    # -- write (the agent's memory functions) --------------------------------------------
    def write(self, item: KnowledgeItem, raw_text: str) -> None:
        lines, date = _dated_lines(raw_text, squeeze=True)
        body = [ln for ln in lines if not _HEADER.match(ln)]
        if body:  # recall memory: the whole message history
            self.db.executemany("INSERT INTO memgpt_recall(body, date) VALUES (?, ?)",
                                [(ln, date) for ln in body])
            self.db.commit()
        core = _entries(item.core_memory)
        if not core:
            core = [ln[:MAX_ENTRY_CHARS] for ln in _fallback(body, FALLBACK_LINES)]
        evicted: list[tuple[str, str]] = []
        for entry in core:
            text, when = _split_date(entry, date)
            if text:
                evicted += self._core_append(text, when)
        archival = [_split_date(e, date) for e in _entries(item.archival)]
        in_core = {t for block in self.core.values() for _, t in block}
        self._archive([(w, t) for t, w in archival if t and t not in in_core] + evicted)

    def _core_append(self, text: str, date: str) -> list[tuple[str, str]]:
        """core_memory_append / core_memory_replace; returns what pressure evicted."""
        owner = _owner(text)
        block = self.core.setdefault(owner, [])
        if any(t == text for _, t in block):
            return []
        out = []
        slot = _slot(text)
        if slot:  # replace: the older value of a single-valued slot leaves the core
            for entry in [e for e in block if _slot(e[1]) == slot and _owner(e[1]) == owner]:
                block.remove(entry)
                out.append(entry)
        block.append((date, text))
        while len(block) > 1 and sum(len(t) + len(d) + 5 for d, t in block) > CORE_BLOCK_CHARS:
            out.append(block.pop(0))  # memory pressure: the oldest entry is archived
        return out

    def _archive(self, entries: list[tuple[str, str]]) -> None:
        """archival_memory_insert for (date, text) entries."""
        fresh = []
        for date, text in entries:
            line = f"[{date}] {text}" if date else text
            if line not in self.passages and line not in fresh:
                fresh.append(line)
        if not fresh:
            return
        first = len(self.passages)
        self.passages += fresh
        self.archive.add(ids=[f"p{first + k}" for k in range(len(fresh))],
                         documents=[_LEADING_DATE.sub("", ln) for ln in fresh])

    # -- read (context assembly and searches) --------------------------------------------
    def read(self, query: Query) -> str:
        text = _query_text(query)
        if not text or not (self.core or self.passages):
            return ""
        named = [str(p).lower() for p in (query.people or [])]
        named += [n.lower() for n in _NAME.findall(query.question or "")]
        people = [p for p in dict.fromkeys(named) if p in self.core] or sorted(self.core)
        parts, used = [], 0
        block = ["Core memory:"]
        for person in people:
            lines = [f"- [{d}] {t}" if d else f"- {t}" for d, t in self.core[person]]
            size = sum(len(ln) + 1 for ln in lines)
            if used + size > MAX_CHARS * CORE_SHARE:
                continue
            block += lines
            used += size
        if len(block) > 1:
            parts.append("\n".join(block))
        if self.passages:
            found = self.archive.query(query_texts=[text], n_results=ARCHIVAL_K)
            block = ["Archival memory:"]
            shown = "\n".join(parts)
            for passage_id in found["ids"][0]:
                line = f"- {self.passages[int(passage_id[1:])]}"
                if line[2:] in shown or used + len(line) + 1 > MAX_CHARS * 0.85:
                    continue
                block.append(line)
                used += len(line) + 1
            if len(block) > 1:
                parts.append("\n".join(block))
        expression = _match_expression(text, _STOP)
        if expression and RECALL_K > 0:
            rows = self.db.execute(
                "SELECT date, body FROM memgpt_recall WHERE memgpt_recall MATCH ? "
                "ORDER BY bm25(memgpt_recall) LIMIT ?", (expression, RECALL_K)).fetchall()
            block = ["Recall:"]
            for date, body in rows:
                line = f"- [{date}] {body}" if date else f"- {body}"
                if used + len(line) + 1 <= MAX_CHARS - 10:
                    block.append(line)
                    used += len(line) + 1
            if len(block) > 1:
                parts.append("\n".join(block))
        return "\n".join(parts)[:MAX_CHARS]
