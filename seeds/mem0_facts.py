"""Mem0-style fact store: candidate facts are added, updated or deleted against near-duplicates.

Paper: Mem0 (Chhikara et al.), arXiv:2504.19413 (2025)

Design: Mem0 (Chhikara et al. 2025): an extraction phase turns each exchange into short
candidate facts (here the task agent fills KnowledgeItem.facts), then an update phase compares
every candidate with its most similar stored memories and applies ADD / UPDATE / DELETE / NONE.
Mem0 lets an LLM choose the operation; we make ONE toolkit LLM call per write for the whole
batch (only when some candidate has a similar stored memory) and fall back to deterministic
rules when the reply is not the JSON we asked for.

Stores: facts in a toolkit.chroma collection (cosine space) with metadata: session date,
active flag, and the text it replaced ("earlier: ..."), so updates keep their history; a
replaced or deleted fact is removed from the collection (only its text survives, in the
fact that replaced it).
Write: candidates = item.facts (or first-person lines of the raw text when empty); for each,
the NEIGHBOURS nearest active facts; operations from the LLM, else by rule: distance <=
DUPLICATE_DIST -> NONE; same subject and relation and distance <= UPDATE_DIST -> UPDATE (old
fact removed, new fact records it as earlier); a negation ("no longer") of a similar fact
-> DELETE it and ADD the new statement; otherwise ADD.
Read: vector search over active facts, TOP_K best, each as "- [date] fact (earlier: ...)".

Strengths: compact, de-duplicated memory; knowledge updates replace stale values; facts are
short so many fit in the budget. Weaknesses: everything not captured as a fact is lost (exact
wording, small talk that later matters); rule-based updates can merge distinct facts that share
subject and verb; pure vector search can miss rare names.

Toolkit LLM calls: at most 1 per write (only when candidates have similar stored facts),
0 per read.
"""

import json
import re
from dataclasses import dataclass

from ._shared import (
    _FIRST_PERSON,
    _HEADER,
    _SKIP,
    _SPEAKER,
    _WORD,
    Query,
    _cosine_collection,
    _dated_lines,
    _list_field,
    _query_text,
    _split_date,
    _stem,
)

# --- design parameters ---
TOP_K = 20  # facts returned per read
NEIGHBOURS = 3  # stored facts compared with each candidate
DUPLICATE_DIST = 0.06  # cosine distance under which a candidate is a duplicate (NONE)
UPDATE_DIST = 0.35  # cosine distance under which a same-subject/relation fact is updated
USE_LLM_UPDATE = True  # ask the toolkit LLM for the operations (1 call per write at most)
SHOW_HISTORY = True  # show the replaced value next to an updated fact
FALLBACK_LINES = 8  # raw lines used as facts when the agent extracted none
MAX_FACT_CHARS = 300  # one fact is clipped to this length
MAX_CHARS = 3000  # read() budget (hard cap 3000)
# --- end design parameters ---

TOOLKIT_LLM_CALLS = {"write": 1, "read": 0}

INSTRUCTION_KNOWLEDGE_ITEM = (
    "List in 'facts' every fact about the people in the episode worth remembering: one short, "
    "self-contained sentence per fact, with full names instead of pronouns (e.g. 'Ana adopted "
    "a dog named Biscuit last Saturday'). Include jobs, homes, relatives, pets, hobbies, plans, "
    "preferences and dated events; keep time expressions as said. Skip small talk."
)
INSTRUCTION_QUERY = (
    "Copy the question verbatim into 'question'. In 'keywords' list the people, objects and "
    "topics the answer is about."
)
INSTRUCTION_RESPONSE = (
    "Answer with a short phrase (names, dates, numbers), not a full sentence. Facts are "
    "prefixed with the date of the session they come from: resolve relative dates against it. "
    "A fact marked 'earlier' was replaced: the current value is the fact itself. If the memory "
    "does not contain the answer, answer 'not mentioned'."
)
ALWAYS_ON_KNOWLEDGE = ""

_GENERIC_VERBS = frozenset(
    "have has had got get gets is am are was were be like likes liked love loves loved own "
    "owns enjoy enjoys".split())
_NEGATION = re.compile(r"\b(no longer|not anymore|any ?more|stopped|quit|gave up|sold|left)\b",
                       re.IGNORECASE)


@dataclass
class KnowledgeItem:
    facts: list[str] = _list_field("short self-contained facts with full names, one per entry")


def _subject_relation(text: str) -> tuple[str, str]:
    """('ana', 'work') for 'Ana: I now work as a nurse' or 'Ana works as a nurse'."""
    match = _SPEAKER.match(text)
    words = _WORD.findall(match.group(2) if match else text)
    subject = match.group(1).lower() if match else ""
    if not subject and words and words[0][0].isupper() and words[0].lower() not in _SKIP:
        subject, words = words[0].lower(), words[1:]
    rest = [w.lower() for w in words if w.lower() not in _SKIP]
    if not rest:
        return subject, ""
    relation = _stem(rest[0])
    if rest[0] in _GENERIC_VERBS and len(rest) > 1:
        relation += ":" + _stem(rest[1])
    return subject, relation


def _fallback_facts(lines: list[str]) -> list[str]:
    body = [ln for ln in lines if not _HEADER.match(ln)]
    personal = [ln for ln in body if _FIRST_PERSON.search(ln) and len(ln.split()) >= 6]
    ranked = sorted(personal, key=lambda ln: -len(ln))[:FALLBACK_LINES]
    return [ln for ln in body if ln in ranked]


def _parse_operations(reply: str) -> list[dict]:
    """Operation dicts from the LLM reply; [] when it is not the JSON we asked for."""
    text = str(reply or "")
    start = text.find("{")
    if start < 0:
        return []
    try:
        value, _ = json.JSONDecoder().raw_decode(text[start:])
    except ValueError:
        return []
    ops = value.get("operations") if isinstance(value, dict) else None
    if not isinstance(ops, list):
        return []
    valid = []
    for op in ops:
        if isinstance(op, dict) and str(op.get("event", "")).upper() in {
                "ADD", "UPDATE", "DELETE", "NONE"} and "fact" in op:
            valid.append(op)
    return valid


class KnowledgeBase:
    """Active facts in a vector collection, updated Mem0-style."""

    def __init__(self, toolkit):
        self.toolkit = toolkit
        self.facts = _cosine_collection(toolkit, "mem0_facts")
        self.next_id = 0

    # -- write ---------------------------------------------------------------------------
    def write(self, item: KnowledgeItem, raw_text: str) -> None:
        lines, date = _dated_lines(raw_text)
        candidates, dates, seen = [], [], set()
        for fact in [str(f) for f in (item.facts or [])] or _fallback_facts(lines):
            text, when = _split_date(" ".join(fact.split()), date)
            text = text[:MAX_FACT_CHARS]
            if text and text.lower() not in seen and text.lower() not in {"filler", "none"}:
                seen.add(text.lower())
                candidates.append(text)
                dates.append(when)
        if not candidates:
            return
        # One embedding per candidate, used both to find its neighbours and to store it.
        vectors = self.toolkit.embed(candidates)
        neighbours = self._neighbours(vectors)
        operations = {}
        if USE_LLM_UPDATE and any(n for n in neighbours):
            operations = self._llm_operations(candidates, neighbours)
        removed: dict[str, str] = {}  # fact id -> its "previous" text, removed in this write
        for index, text in enumerate(candidates):
            op = operations.get(index) or self._rule_operation(text, neighbours[index])
            self._apply(op, text, dates[index], vectors[index], removed)

    def _neighbours(self, vectors: list) -> list[list[tuple[str, str, float]]]:
        if self.facts.count() == 0:
            return [[] for _ in vectors]
        found = self.facts.query(query_embeddings=vectors, n_results=NEIGHBOURS,
                                 where={"active": True})
        out = []
        for ids, docs, dists in zip(found["ids"], found["documents"], found["distances"],
                                    strict=True):
            out.append([(i, d or "", float(x)) for i, d, x in zip(ids, docs, dists, strict=True)
                        if float(x) <= UPDATE_DIST])
        return out

    def _llm_operations(self, candidates, neighbours) -> dict[int, dict]:
        existing = {}
        for near in neighbours:
            for fact_id, doc, _ in near:
                existing[fact_id] = doc
        prompt = (
            "You maintain a memory of facts. Existing memories:\n"
            + "\n".join(f"[{k}] {v}" for k, v in existing.items())
            + "\n\nNew facts:\n" + "\n".join(f"[n{i}] {c}" for i, c in enumerate(candidates))
            + "\n\nFor every new fact choose one event: ADD (new information), UPDATE (it "
            "replaces or refines an existing memory: give that memory's id), DELETE (it shows "
            "an existing memory is no longer true: give that id), NONE (already known). Reply "
            'with JSON only: {"operations": [{"fact": "n0", "event": "UPDATE", "id": "m3"}]}'
        )
        try:
            reply = self.toolkit.llm_completion(
                [{"role": "user", "content": prompt}], json_mode=True)
        except Exception as exc:  # deterministic rules take over
            self.toolkit.logger.warning(f"update call failed: {exc}")
            return {}
        chosen: dict[int, dict] = {}
        for op in _parse_operations(reply):
            fact = str(op.get("fact", "")).lstrip("n")
            if not fact.isdigit() or int(fact) >= len(candidates):
                continue
            event = str(op["event"]).upper()
            target = str(op.get("id", ""))
            if event in ("UPDATE", "DELETE") and target not in existing:
                continue
            chosen[int(fact)] = {"event": event, "id": target}
        return chosen

    @staticmethod
    def _rule_operation(text: str, near: list[tuple[str, str, float]]) -> dict:
        if not near:
            return {"event": "ADD"}
        fact_id, doc, dist = near[0]
        if dist <= DUPLICATE_DIST:
            return {"event": "NONE", "id": fact_id}
        subject, relation = _subject_relation(text)
        for fact_id, doc, _ in near:
            other_subject, other_relation = _subject_relation(doc)
            if subject != other_subject or not subject:
                continue
            if _NEGATION.search(text):
                return {"event": "DELETE", "id": fact_id}
            if relation and relation == other_relation:
                return {"event": "UPDATE", "id": fact_id}
        return {"event": "ADD"}

    def _apply(self, op: dict, text: str, date: str, vector: list,
               removed: dict[str, str]) -> None:
        """Apply one operation; ``removed`` holds the facts this write already replaced (the
        neighbours were found before any was applied, so two candidates can name one fact)."""
        event, target = op.get("event", "ADD"), op.get("id", "")
        if event == "NONE":
            return
        previous = ""
        if event in ("UPDATE", "DELETE") and target:
            if target in removed:
                previous = removed[target]
            else:
                old = self.facts.get(ids=[target])
                if old["ids"]:
                    meta = old["metadatas"][0] or {}
                    previous = f"{old['documents'][0]} ({meta.get('date', '')})".replace(
                        " ()", "")
                    # The replaced fact is removed, not kept as inactive: nothing reads an
                    # inactive fact again (reads and neighbour queries filter on active, its
                    # text lives on in the new fact's "previous"), and every neighbour query
                    # of every later write would score it (44% of the rows at 3,000 episodes).
                    self.facts.delete(ids=[target])
                    removed[target] = previous
        fact_id = f"m{self.next_id}"
        self.next_id += 1
        self.facts.add(ids=[fact_id], documents=[text], embeddings=[vector], metadatas=[
            {"active": True, "date": date, "previous": previous, "order": self.next_id}])

    # -- read ----------------------------------------------------------------------------
    def read(self, query: Query) -> str:
        text = _query_text(query)
        if not text or self.facts.count() == 0:
            return ""
        found = self.facts.query(query_texts=[text], n_results=TOP_K, where={"active": True})
        out, used = [], 0
        for doc, meta in zip(found["documents"][0], found["metadatas"][0], strict=True):
            meta = meta or {}
            line = f"- [{meta.get('date')}] {doc}" if meta.get("date") else f"- {doc}"
            if SHOW_HISTORY and meta.get("previous"):
                line += f" (earlier: {meta['previous']})"
            if used + len(line) + 1 > MAX_CHARS:
                continue
            out.append(line)
            used += len(line) + 1
        return "\n".join(out)[:MAX_CHARS]
