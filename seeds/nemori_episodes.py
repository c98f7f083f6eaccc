"""Nemori-style self-organising memory: topic-segmented episodes plus facts from prediction gaps.

Paper: Nemori (Nan et al., Self-Organizing Agent Memory Inspired by Cognitive Science), arXiv:2508.03341 (2025)

Design: Nemori lets the memory decide its own unit: the raw stream is cut into events where
the topic shifts (event segmentation), each event becomes an episodic memory (a titled,
dated narrative), and semantic memory grows by predict-calibrate: before storing an episode's
knowledge, the memory predicts it from what it already knows and keeps only what the
prediction missed (the gap). Nemori uses an LLM for boundaries, narratives and the gap; here
all three are deterministic: boundaries where a line's embedding drifts from the running
centroid of the current event (similarity < BOUNDARY_SIM) once the event has MIN_EVENT_LINES
lines; the narrative is the event's title (its most frequent content words) with its
informative lines (chatter such as questions and short remarks dropped); the prediction for a
candidate fact is its nearest semantic fact, and the candidate is stored only when that
similarity is below PREDICTED_SIM (otherwise the known fact gains support).

Stores: episodes (date, title, narrative lines) and semantic facts (date, support count), each
in a toolkit.chroma collection (cosine space).
Write: one embedding call for the episode's lines, segmentation, episodes stored; candidates =
item.facts (fallback: the informative lines) run through predict-calibrate. 0 LLM calls.
Read: the SEMANTIC_K nearest semantic facts ("Known facts:") then the EPISODE_K nearest
episodes ("Episodes:", each "[date] title" and its lines), within MAX_CHARS.
Prompting: INSTRUCTION_KNOWLEDGE_ITEM asks for durable facts (the semantic candidates);
INSTRUCTION_RESPONSE says facts are dated and episodes are narratives with their date.

Strengths: memory units follow topics instead of fixed turns or sessions; semantic memory
stays small because predictable facts are not stored twice. Weaknesses: embedding drift is a
crude topic detector on short lines; a changed fact close to a known one can be judged
"predicted" and dropped (it then survives only in its episode).

Toolkit LLM calls: 0 per write, 0 per read.
"""

import math
import re
from collections import Counter
from dataclasses import dataclass

from ._shared import (
    _HEADER,
    _SPEAKER,
    Query,
    _cosine_collection,
    _list_field,
    _query_text,
    _session_date,
    _split_date,
)

# --- design parameters ---
BOUNDARY_SIM = 0.25  # a line less similar than this to the event centroid opens a new event
MIN_EVENT_LINES = 3  # an event is never cut before it has this many lines
MAX_EVENT_LINES = 12  # ... and always cut when it reaches this many
PREDICTED_SIM = 0.9  # a candidate fact this similar to a known one was predicted (not stored)
SEMANTIC_K = 12  # semantic facts returned per read
EPISODE_K = 4  # episodes returned per read
TITLE_WORDS = 3  # content words in an episode title
SEMANTIC_SHARE = 0.45  # share of the budget for semantic facts when episodes follow
MIN_CONTENT_WORDS = 4  # lines with fewer content words are chatter (left out of narratives)
MAX_LINE_CHARS = 300  # one line is clipped to this length
MAX_CHARS = 3000  # read() budget (hard cap 3000)
# --- end design parameters ---

TOOLKIT_LLM_CALLS = {"write": 0, "read": 0}

INSTRUCTION_KNOWLEDGE_ITEM = (
    "List in 'facts' the durable knowledge the episode adds about people, places and things: "
    "one short self-contained sentence per fact, with full names and time expressions as "
    "said (jobs, homes, relatives, pets, hobbies, dated events). Skip small talk."
)
INSTRUCTION_QUERY = (
    "Copy the question verbatim into 'question'. In 'keywords' list the people, objects and "
    "topics it is about."
)
INSTRUCTION_RESPONSE = (
    "Answer with a short phrase (names, dates, numbers), not a full sentence. Known facts and "
    "episodes carry the date of their session: resolve relative dates against it; when facts "
    "changed, the latest wins. If the memory does not contain the answer, answer "
    "'not mentioned'."
)
ALWAYS_ON_KNOWLEDGE = ""

_WORD = re.compile(r"[A-Za-z][A-Za-z']+")
_STOP = frozenset(
    "a an the and or but if of to in on at for with from by about as is am are was were be been "
    "do does did have has had i you he she it we they me him her us them my your his its our "
    "their this that these those what which who when where why how so not no just very really "
    "oh yeah ok okay can could would will now then there here some any all too also again "
    "still much many more most one get got going go been being thing things lot time".split())


@dataclass
class KnowledgeItem:
    facts: list[str] = _list_field("durable facts the episode adds, one short sentence each")


def _content(text: str) -> list[str]:
    match = _SPEAKER.match(text)
    body = match.group(2) if match else text
    return [w.lower() for w in _WORD.findall(body) if w.lower() not in _STOP]


def _informative(line: str) -> bool:
    return not line.rstrip().endswith("?") and len(_content(line)) >= MIN_CONTENT_WORDS


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


def segment(lines: list[str], vectors: list[list[float]]) -> list[list[int]]:
    """Event boundaries: indices of the lines of each event, in order."""
    events: list[list[int]] = []
    current: list[int] = []
    centroid: list[float] = []
    for index, vector in enumerate(vectors):
        drift = current and len(current) >= MIN_EVENT_LINES and \
            _cosine(vector, centroid) < BOUNDARY_SIM
        if current and (drift or len(current) >= MAX_EVENT_LINES):
            events.append(current)
            current, centroid = [], []
        current.append(index)
        size = len(current)
        centroid = list(vector) if size == 1 else \
            [(c * (size - 1) + v) / size for c, v in zip(centroid, vector, strict=False)]
    if current:
        events.append(current)
    return [e for e in events if e and len(lines) > max(e)]


class KnowledgeBase:
    """Episodic narratives and predict-calibrated semantic facts."""

    def __init__(self, toolkit):
        self.toolkit = toolkit
        self.episodes = _cosine_collection(toolkit, "nemori_episodes")
        self.semantic = _cosine_collection(toolkit, "nemori_facts")
        self.narratives: list[dict] = []
        self.facts: list[dict] = []

    # -- write ---------------------------------------------------------------------------
    def write(self, item: KnowledgeItem, raw_text: str) -> None:
        lines = [" ".join(ln.split())[:MAX_LINE_CHARS] for ln in (raw_text or "").split("\n")
                 if ln.strip()]
        date = _session_date(lines)
        body = [ln for ln in lines if not _HEADER.match(ln)]
        if body:
            self._episodes(body, date)
        candidates = [" ".join(str(f).split()) for f in (item.facts or [])]
        candidates = [c for c in candidates if c and c.lower() not in {"filler", "none"}]
        if not candidates:
            candidates = [ln for ln in body if _informative(ln)]
        self._predict_calibrate(candidates, date)

    def _episodes(self, body: list[str], date: str) -> None:
        vectors = self.toolkit.embed(body)
        ids, docs, metas = [], [], []
        for event in segment(body, vectors):
            kept = [body[i] for i in event if _informative(body[i])]
            if not kept:
                continue  # an event of pure chatter leaves no episodic trace
            words = Counter(w for ln in kept for w in _content(ln) if len(w) > 3)
            title = ", ".join(w for w, _ in words.most_common(TITLE_WORDS)) or "conversation"
            n = len(self.narratives)
            self.narratives.append({"date": date, "title": title, "lines": kept})
            ids.append(f"e{n}")
            docs.append(f"{title}. " + " ".join(kept))
            metas.append({"n": n})
        if ids:
            self.episodes.add(ids=ids, documents=docs, metadatas=metas)

    def _predict_calibrate(self, candidates: list[str], date: str) -> None:
        texts, dates = [], []
        for candidate in candidates:
            text, when = _split_date(candidate, date)
            if text and text not in texts:
                texts.append(text[:MAX_LINE_CHARS])
                dates.append(when)
        if not texts:
            return
        predicted = [None] * len(texts)
        if self.semantic.count():
            found = self.semantic.query(query_texts=texts, n_results=1)
            for k, (metas, dists) in enumerate(zip(found["metadatas"], found["distances"],
                                                   strict=True)):
                if metas and 1.0 - float(dists[0]) >= PREDICTED_SIM:
                    predicted[k] = int(metas[0]["n"])
        ids, docs, metas = [], [], []
        for text, when, known in zip(texts, dates, predicted, strict=True):
            if known is not None:  # the memory already predicted it: calibrate, do not store
                self.facts[known]["support"] += 1
                continue
            n = len(self.facts)
            self.facts.append({"text": text, "date": when, "support": 1})
            ids.append(f"k{n}")
            docs.append(text)
            metas.append({"n": n})
        if ids:
            self.semantic.add(ids=ids, documents=docs, metadatas=metas)

    # -- read ----------------------------------------------------------------------------
    def read(self, query: Query) -> str:
        text = _query_text(query)
        if not text or not (self.facts or self.narratives):
            return ""
        parts, used = [], 0
        if self.facts:
            found = self.semantic.query(query_texts=[text], n_results=SEMANTIC_K)
            budget = int(MAX_CHARS * SEMANTIC_SHARE) if self.narratives else MAX_CHARS
            lines = ["Known facts:"]
            for meta in found["metadatas"][0]:
                fact = self.facts[int(meta["n"])]
                line = f"- [{fact['date']}] {fact['text']}" if fact["date"] else \
                    f"- {fact['text']}"
                if used + len(line) + 1 > budget:
                    continue
                lines.append(line)
                used += len(line) + 1
            if len(lines) > 1:
                parts.append("\n".join(lines))
        if self.narratives:
            found = self.episodes.query(query_texts=[text], n_results=EPISODE_K)
            lines = ["Episodes:"]
            for meta in found["metadatas"][0]:
                episode = self.narratives[int(meta["n"])]
                head = f"[{episode['date']}] {episode['title']}" if episode["date"] else \
                    episode["title"]
                block = [head] + [f"  {ln}" for ln in episode["lines"]]
                for line in block:
                    if used + len(line) + 1 > MAX_CHARS - 12:
                        break
                    lines.append(line)
                    used += len(line) + 1
            if len(lines) > 1:
                parts.append("\n".join(lines))
        return "\n".join(parts)[:MAX_CHARS]
