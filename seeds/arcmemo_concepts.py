"""ArcMemo-style concept memory: abstract, reusable takeaways selected by the cues a problem shows.

Paper: ArcMemo (Ho et al., Abstract Reasoning Composition with Lifelong LLM Memory), arXiv:2509.04439 (2025)

Design: ArcMemo stores concepts instead of instances: modular, natural-language abstractions
distilled from solution traces, each with the situation it applies to and what to do
("situation -> suggestion", its open-ended format); a new problem is described by the
features it exhibits and the concepts whose situations match those features are selected and
composed. The task agent writes lessons and the cues of the episode; the program keeps a
lesson's "situation -> suggestion" split when given, attaches the episode's cues, abstracts
raw action transcripts into concepts ("when the task needs <verb>: <action with ids
removed>"), and generalises by merging: a lesson this similar (MERGE_SIM) to a stored concept
adds its cues and support to that concept instead of a new instance. For conversations the
lessons are the stated facts and the cues the people and topics, so selection by cues finds
the facts about the people asked about.

Stores: concepts (situation, suggestion, cues, support, date) in a python dict and a
toolkit.chroma collection (cosine space, embedded as situation + suggestion).
Write: lessons (fallback: informative raw lines) and transcript concepts, merged; 0 LLM calls.
Read: candidates = the CANDIDATES nearest concepts; score = similarity + CUE_WEIGHT x share
of the problem's cues (Query.cues + question words) found among the concept's cues +
SUPPORT_WEIGHT x support; the TOP_K best as "- When <situation>: <suggestion>" (or
"- [date] <fact>" when the concept has no explicit situation).
Prompting: INSTRUCTION_KNOWLEDGE_ITEM asks for abstract lessons in situation -> suggestion
form plus the cues; INSTRUCTION_QUERY asks for the cues the new problem exhibits.

Strengths: compact, transferable knowledge; cue matching selects by what the problem is
about rather than by surface similarity alone. Weaknesses: the deterministic abstraction of
transcripts is shallow; merged concepts can blur distinct facts that sound alike.

Toolkit LLM calls: 0 per write, 0 per read.
"""

import re
from dataclasses import dataclass

from ._shared import (
    _ACTION,
    _HEADER,
    _WORD,
    _cosine_collection,
    _dated_lines,
    _list_field,
    _split_date,
    _text_field,
)

# --- design parameters ---
TOP_K = 18  # concepts shown per read
CANDIDATES = 60  # nearest concepts rescored with cues
CUE_WEIGHT = 0.3  # weight of cue overlap against similarity
SUPPORT_WEIGHT = 0.01  # small bonus per supporting episode
MERGE_SIM = 0.94  # a lesson this similar to a stored concept generalises it
MAX_CUES = 24  # cues kept per concept
FALLBACK_LINES = 8  # informative raw lines used as lessons when none were written
MAX_LINE_CHARS = 300  # one concept is clipped to this length
MAX_CHARS = 3000  # read() budget (hard cap 3000)
# --- end design parameters ---

TOOLKIT_LLM_CALLS = {"write": 0, "read": 0}

INSTRUCTION_KNOWLEDGE_ITEM = (
    "'lessons': reusable takeaways, one per entry, written abstractly as 'situation -> "
    "suggestion' (e.g. 'object must be heated -> find the microwave first'); for "
    "conversations, every fact stated about people with full names and time expressions as "
    "said. 'cues': the features that signal when these lessons apply (goals, objects, people, "
    "topics)."
)
INSTRUCTION_QUERY = (
    "Copy the question or task verbatim into 'question'. In 'cues' list the features it "
    "exhibits: people, objects, goals and topics."
)
INSTRUCTION_RESPONSE = (
    "Answer with a short phrase (names, dates, numbers), not a full sentence. Compose the "
    "concepts that fit; dated facts: resolve relative dates against their date, the latest "
    "wins when facts changed. If the memory does not contain the answer, answer "
    "'not mentioned'."
)
ALWAYS_ON_KNOWLEDGE = ""

_ARROW = re.compile(r"\s*(?:->|=>|→)\s*")
_STOP = frozenset(
    "a an the and or but if of to in on at for with from by about as is am are was were be been "
    "do does did have has had i you he she it we they me him her us them my your his its our "
    "their this that what which who when where why how so not no just very really can could "
    "would will now then there here".split())


@dataclass
class KnowledgeItem:
    lessons: list[str] = _list_field("abstract 'situation -> suggestion' lessons, or facts")
    cues: list[str] = _list_field("features signalling when the lessons apply")


@dataclass
class Query:
    question: str = _text_field("the question or task")
    cues: list[str] = _list_field("people, objects, goals, topics shown")


def _cues(values) -> set[str]:
    return {w.lower() for v in values for w in _WORD.findall(str(v)) if w.lower() not in _STOP}


def transcript_concepts(lines: list[str]) -> list[str]:
    """'situation -> suggestion' concepts abstracted from "> action" lines."""
    out = []
    for line in lines:
        match = _ACTION.match(line)
        if not match:
            continue
        action = re.sub(r"\b([a-z]+) \d+\b", r"\1", match.group(1).strip())
        verb = action.split()[0] if action.split() else ""
        if verb and verb not in ("go", "look", "inventory", "examine"):
            concept = f"the task needs to {verb} something -> {action}"
            if concept not in out:
                out.append(concept)
    return out


class KnowledgeBase:
    """Abstract concepts with cue sets."""

    def __init__(self, toolkit):
        self.toolkit = toolkit
        self.index = _cosine_collection(toolkit, "arcmemo_concepts")
        self.concepts: dict[str, dict] = {}

    def write(self, item: KnowledgeItem, raw_text: str) -> None:
        lines, date = _dated_lines(raw_text, squeeze=True)
        body = [ln for ln in lines if not _HEADER.match(ln)]
        lessons = [" ".join(str(x).split()) for x in (item.lessons or [])]
        lessons = [x for x in lessons if x and x.lower() not in {"filler", "none"}]
        lessons += transcript_concepts(body)
        if not lessons:
            lessons = [ln for ln in body if not ln.endswith("?") and
                       len(_cues([ln])) >= 4][:FALLBACK_LINES]
        cues = _cues(item.cues or [])
        pending = []
        for lesson in lessons:
            text, when = _split_date(lesson[:MAX_LINE_CHARS], date)
            parts = _ARROW.split(text, maxsplit=1)
            situation, suggestion = (parts[0], parts[1]) if len(parts) == 2 else ("", text)
            if suggestion:
                doc = f"{situation}: {suggestion}" if situation else suggestion
                pending.append((doc, situation, suggestion, cues | _cues([situation]), when))
        if pending:
            vectors = self.toolkit.embed([p[0] for p in pending])  # one embedding call
            for args, vector in zip(pending, vectors, strict=True):
                self._add(*args, vector)

    def _add(self, doc: str, situation: str, suggestion: str, cues: set[str], date: str,
             vector: list[float]) -> None:
        if self.concepts:
            found = self.index.query(query_embeddings=[vector], n_results=1)
            best = found["ids"][0][0]
            if 1.0 - float(found["distances"][0][0]) >= MERGE_SIM:
                concept = self.concepts[best]  # generalise: more cues, more support
                concept["cues"] = sorted(set(concept["cues"]) | cues)[:MAX_CUES]
                concept["support"] += 1
                return
        concept_id = f"c{len(self.concepts)}"
        self.concepts[concept_id] = {"situation": situation, "suggestion": suggestion,
                                     "cues": sorted(cues)[:MAX_CUES], "support": 1,
                                     "date": date}
        self.index.add(ids=[concept_id], documents=[doc], embeddings=[vector])

    def read(self, query: Query) -> str:
        text = " ".join([query.question or "", *map(str, query.cues or [])]).strip()
        if not text or not self.concepts:
            return ""
        wanted = _cues([text])
        found = self.index.query(query_texts=[text], n_results=CANDIDATES)
        scored = []
        for concept_id, dist in zip(found["ids"][0], found["distances"][0], strict=True):
            concept = self.concepts[concept_id]
            shown = len(wanted & set(concept["cues"])) / len(wanted) if wanted else 0.0
            scored.append((1.0 - float(dist) + CUE_WEIGHT * shown
                           + SUPPORT_WEIGHT * concept["support"], concept_id))
        out, used = [], 0
        for _, concept_id in sorted(scored, key=lambda s: (-s[0], s[1]))[:TOP_K]:
            concept = self.concepts[concept_id]
            if concept["situation"]:
                line = f"- When {concept['situation']}: {concept['suggestion']}"
            elif concept["date"]:
                line = f"- [{concept['date']}] {concept['suggestion']}"
            else:
                line = f"- {concept['suggestion']}"
            if used + len(line) + 1 <= MAX_CHARS:
                out.append(line)
                used += len(line) + 1
        return "\n".join(out)[:MAX_CHARS]
