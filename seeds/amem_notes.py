"""A-Mem-style linked notes: atomic notes with keywords, context and tags, linked and evolved.

Paper: A-MEM (Xu et al., A-MEM: Agentic Memory for LLM Agents), arXiv:2502.12110 (NeurIPS 2025)

Design: A-MEM (Zettelkasten-inspired) turns every new memory into a note with its content,
time, keywords, tags and a one-line context; on insertion the note is linked to its nearest
existing notes and those neighbours "evolve": their context and tags are rewritten in the
light of the new note; retrieval takes the nearest notes and follows their links, so related
notes from other episodes come along (useful for multi-hop questions). A-MEM asks an LLM to
build notes, choose links and evolve neighbours; here the task agent builds the notes (notes,
keywords, context, tags), links use a similarity threshold and evolution is deterministic:
a linked neighbour inherits up to TAGS_INHERITED of the new note's tags and its context is
rewritten to end with the new note's context (kept to CONTEXT_CHARS, newest part kept).

Stores: notes in a toolkit.chroma collection (cosine space; embedded text = the note), and in
Python per note: date, keywords (the episode keywords the note mentions, plus its names),
context (item.context, one line), tags (item.tags, else item.keywords, plus inherited ones)
and links.
Write: one note per entry of item.notes (fallback: first-person raw lines, else informative ones);
one embedding call; each new note is linked (both ways) to up to MAX_LINKS nearest earlier
notes with similarity >= LINK_MIN_SIM, and those neighbours evolve as above.
Read: the TOP_K nearest notes to the query (plus TAG_BONUS per query word among a note's tags
or keywords and CONTEXT_BONUS per query word in its context), each followed by up to
LINKS_PER_NOTE of its linked notes not shown yet (indented), as "- [date] note" lines
(SHOW_CONTEXT adds the note's context), clipped to MAX_CHARS.
Prompting: INSTRUCTION_KNOWLEDGE_ITEM asks for atomic notes, keywords, a one-line context and
tags; INSTRUCTION_RESPONSE says the latest note wins when facts changed.

Strengths: atomic notes pack densely; links surface related facts the query does not name
(multi-hop); the structure grows without a fixed schema. Weaknesses: threshold links can
connect unrelated notes that merely sound alike; no handling of updated facts beyond dates;
everything depends on the note extraction.

Toolkit LLM calls: 0 per write, 0 per read.
"""

import re
from dataclasses import dataclass

from ._shared import (
    Query,
    _cosine_collection,
    _dated_lines,
    _fallback,
    _list_field,
    _query_text,
    _split_date,
    _text_field,
)

# --- design parameters ---
TOP_K = 10  # nearest notes per read
LINKS_PER_NOTE = 2  # linked notes shown after each retrieved note
MAX_LINKS = 3  # links made for a new note
LINK_MIN_SIM = 0.55  # cosine similarity needed to link two notes
TAGS_INHERITED = 3  # tags a linked neighbour inherits from a new note ("memory evolution")
TAG_BONUS = 0.05  # similarity bonus per query word found among a note's tags or keywords
CONTEXT_BONUS = 0.003  # similarity bonus per query word found in a note's context
CONTEXT_CHARS = 200  # a note's context is kept to this length (newest part)
MAX_NOTE_KEYWORDS = 8  # keywords kept per note
SHOW_CONTEXT = False  # show each retrieved note's context after it
FALLBACK_NOTES = 8  # raw lines used as notes when the agent extracted none
MAX_NOTE_CHARS = 300  # one note is clipped to this length
MAX_CHARS = 3000  # read() budget (hard cap 3000)
# --- end design parameters ---

TOOLKIT_LLM_CALLS = {"write": 0, "read": 0}

INSTRUCTION_KNOWLEDGE_ITEM = (
    "Write the episode as atomic notes. 'notes': one self-contained statement per entry "
    "(who, what, when; full names; time expressions as said), covering every fact worth "
    "remembering. 'keywords': names, places, objects and topics of the episode. 'context': "
    "one line saying what the situation was. 'tags': a few broad categories (e.g. work, "
    "family, travel, pets, hobbies)."
)
INSTRUCTION_QUERY = (
    "Copy the question verbatim into 'question'. In 'keywords' list the people, objects and "
    "topics it is about, with synonyms."
)
INSTRUCTION_RESPONSE = (
    "Answer with a short phrase (names, dates, numbers), not a full sentence. Notes carry the "
    "date of their session: resolve relative dates against it; when facts changed, the latest "
    "note wins. If the memory does not contain the answer, answer 'not mentioned'."
)
ALWAYS_ON_KNOWLEDGE = ""

_WORD = re.compile(r"[a-z0-9]+")
_NAME = re.compile(r"\b[A-Z][a-z]+\b")


@dataclass
class KnowledgeItem:
    notes: list[str] = _list_field("atomic notes, one self-contained statement each")
    keywords: list[str] = _list_field("names, places, objects and topics")
    context: str = _text_field("one line: the gist of the situation")
    tags: list[str] = _list_field("a few broad categories")


def _entries(values) -> list[str]:
    out = []
    for value in values or []:
        for line in str(value).split("\n"):
            text = " ".join(line.split())[:MAX_NOTE_CHARS].lstrip("-* ")
            if text and text.lower() not in {"filler", "none"} and text not in out:
                out.append(text)
    return out


class KnowledgeBase:
    """Notes in a vector collection plus a link graph."""

    def __init__(self, toolkit):
        self.toolkit = toolkit
        self.notes = _cosine_collection(toolkit, "amem_notes")
        self.info: dict[str, dict] = {}  # note id -> {"text", "date", "tags", "links"}

    def write(self, item: KnowledgeItem, raw_text: str) -> None:
        lines, date = _dated_lines(raw_text)
        texts = _entries(item.notes)
        if not texts:
            texts = [ln[:MAX_NOTE_CHARS] for ln in _fallback(lines, FALLBACK_NOTES)]
        known = {v["text"] for v in self.info.values()}
        dated = [_split_date(t, date) for t in texts]
        dated = [(t, d) for t, d in dict(dated).items() if t and t not in known]
        if not dated:
            return
        texts = [t for t, _ in dated]
        episode_keywords = _entries(item.keywords)
        tags = [t.lower() for t in (_entries(item.tags) or episode_keywords)][:12]
        context = next((ln for ln in _entries([item.context])), "")
        context = _split_date(context, "")[0][:CONTEXT_CHARS]
        ids = [f"n{len(self.info) + k}" for k in range(len(texts))]
        vectors = self.toolkit.embed(texts)  # one embedding call per write
        neighbours = self._neighbours(vectors)
        self.notes.add(ids=ids, documents=texts, embeddings=vectors,
                       metadatas=[{"date": d} for _, d in dated])
        for note_id, (text, when), near in zip(ids, dated, neighbours, strict=True):
            low = text.lower()
            keywords = [k.lower() for k in episode_keywords if k.lower() in low]
            keywords += [n.lower() for n in _NAME.findall(text) if n.lower() not in keywords]
            self.info[note_id] = {"text": text, "date": when, "tags": list(tags),
                                  "keywords": keywords[:MAX_NOTE_KEYWORDS],
                                  "context": context, "links": []}
            for other in near:
                self.info[note_id]["links"].append(other)
                self.info[other]["links"].append(note_id)
                self._evolve(other, tags, context)

    def _evolve(self, note_id: str, tags: list[str], context: str) -> None:
        """Memory evolution of a linked neighbour: new tags, context rewritten."""
        note = self.info[note_id]
        inherited = [t for t in tags if t not in note["tags"]]
        note["tags"].extend(inherited[:TAGS_INHERITED])
        if context and context not in note["context"]:
            merged = f"{note['context']}; then {context}" if note["context"] else context
            note["context"] = merged[-CONTEXT_CHARS:]

    def _neighbours(self, vectors: list) -> list[list[str]]:
        if self.notes.count() == 0:
            return [[] for _ in vectors]
        found = self.notes.query(query_embeddings=vectors, n_results=MAX_LINKS)
        return [[i for i, d in zip(ids, dists, strict=True) if 1.0 - float(d) >= LINK_MIN_SIM]
                for ids, dists in zip(found["ids"], found["distances"], strict=True)]

    def _line(self, note_id: str, prefix: str = "- ") -> str:
        note = self.info[note_id]
        line = f"{prefix}[{note['date']}] {note['text']}" if note["date"] else \
            f"{prefix}{note['text']}"
        return line + (f" (context: {note['context']})" if SHOW_CONTEXT and note["context"]
                       else "")

    def read(self, query: Query) -> str:
        text = _query_text(query)
        if not text or not self.info:
            return ""
        words = set(_WORD.findall(text.lower()))
        found = self.notes.query(query_texts=[text], n_results=TOP_K * 2)
        scored = []
        for note_id, dist in zip(found["ids"][0], found["distances"][0], strict=True):
            note = self.info[note_id]
            labels = set(note["tags"]) | set(note["keywords"])
            bonus = TAG_BONUS * sum(1 for t in labels if set(_WORD.findall(t)) <= words)
            bonus += CONTEXT_BONUS * len(words & set(_WORD.findall(note["context"].lower())))
            scored.append((1.0 - float(dist) + bonus, note_id))
        scored.sort(key=lambda s: (-s[0], s[1]))
        shown: set[str] = set()
        out: list[str] = []
        used = 0
        for _, note_id in scored[:TOP_K]:
            if note_id in shown:
                continue
            group = [self._line(note_id)]
            shown.add(note_id)
            for other in self.info[note_id]["links"]:
                if len(group) > LINKS_PER_NOTE:
                    break
                if other not in shown:
                    group.append(self._line(other, "  - "))  # indented: linked note
                    shown.add(other)
            for line in group:
                if used + len(line) + 1 > MAX_CHARS:
                    continue
                out.append(line)
                used += len(line) + 1
        return "\n".join(out)[:MAX_CHARS]
