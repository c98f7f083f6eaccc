"""AMA-style adaptive multi-granularity memory: turns, facts and session summaries, routed and judged.

Paper: AMA (Huang et al., Adaptive Memory via Multi-Agent Collaboration), arXiv:2601.20352 (2026)

Design: AMA builds memory at several granularities (raw text, fact knowledge, episode memory)
with a Constructor; a Retriever routes each query to the granularity its complexity needs; a
Judge checks that the retrieved evidence is relevant and sufficient, triggers another
retrieval when it is not, and calls a Refresher when it finds conflicting entries; the
Refresher updates or removes outdated entries. Here the Constructor is the task agent plus the
program (turns are cut from the raw text, facts and the session summary come from the item);
the Retriever routes by Query.complexity (or deterministic cues); the Judge is ONE toolkit LLM
call per read (yes/no: does the evidence answer the question?) with a deterministic coverage
test as fallback and for later rounds; the Refresher runs at write time (a new fact about the
same subject and single-valued slot removes the older fact from the fact level; the raw turn
stays at the turn level) and, without changing memory, at read time (of two retrieved facts
that conflict, only the newer is shown).

Stores: three toolkit.chroma collections (cosine space): turns (each raw line, embedded
without its speaker prefix), facts (item.facts, fallback: first-person or informative
lines; with date, subject and slot) and sessions (item.summary of each episode, with its date).
Write: add the turns, the session summary and the facts (after the Refresher); 0 LLM calls.
Read: route: simple -> facts (FACT_K), temporal -> turns (TURN_K), complex -> sessions
(SESSION_K summaries); the Judge checks the evidence; while insufficient and rounds remain
(MAX_ROUNDS), the next granularity in ESCALATION is retrieved and appended. Output: one
section per granularity used ("Facts:", "Turns:", "Session summaries:"), lines dated.
Prompting: INSTRUCTION_KNOWLEDGE_ITEM asks for atomic facts and a session summary;
INSTRUCTION_QUERY asks for the complexity label; INSTRUCTION_RESPONSE for short answers.

Strengths: compact facts for simple questions, exact dated turns for temporal ones, session
context for multi-hop; the judge adds evidence only when needed. Weaknesses: the offline
judge is word overlap, so it can accept evidence about the wrong person; the Refresher knows
only the slots in SLOTS.

Toolkit LLM calls: 0 per write, at most 1 per read (the judge).
"""

import re
from dataclasses import dataclass

from ._shared import (
    _HEADER,
    _RELATIVE,
    _SPEAKER,
    _WORD,
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
FACT_K = 12  # facts retrieved at the fact level
TURN_K = 10  # turns retrieved at the turn level
SESSION_K = 6  # session summaries retrieved at the session level
MAX_ROUNDS = 2  # retrieval rounds (the first plus re-retrievals asked by the judge)
ESCALATION = {"fact": "turn", "turn": "session", "session": "fact"}  # next granularity
USE_LLM_JUDGE = True  # first judgement by the toolkit LLM (1 call per read)
JUDGE_MIN_COVER = 0.6  # rule judge: share of the question's words the best line must hold
LEXICAL_WEIGHT = 0.3  # turn level: weight of the share of question words found in a turn
SLOTS = {  # single-valued attributes: the Refresher keeps only the newest fact per subject
    "job": r"\b(?:works? as|working as|worked as|hired as|job as|career|profession)\b",
    "home": r"\b(?:live[sd]? in|living in|moved to|relocated to)\b",
}
COMPLEXITY_CUES = {  # deterministic router when Query.complexity is not a known label
    "session": r"\b(?:which \w+ (?:has|have|did)|what are|how many|list|all|both|names of|"
               r"why|would|likely)\b",
    "turn": r"\b(?:when|what time|what date|how long ago|before|after)\b",
}
FALLBACK_LINES = 8  # raw lines used as facts when the agent extracted none
MAX_LINE_CHARS = 300  # one line is clipped to this length
MAX_CHARS = 3000  # read() budget (hard cap 3000)
# --- end design parameters ---

TOOLKIT_LLM_CALLS = {"write": 0, "read": 1}

INSTRUCTION_KNOWLEDGE_ITEM = (
    "'facts': the atomic facts of the episode, one short sentence each, with full names and "
    "time expressions as said (jobs, homes, relatives, pets, hobbies, dated events). "
    "'summary': two or three sentences summarising the whole episode (who, what, when)."
)
INSTRUCTION_QUERY = (
    "Copy the question verbatim into 'question'. In 'complexity' write 'simple' (one fact), "
    "'temporal' (when something happened) or 'complex' (needs several facts or sessions). "
    "In 'keywords' list the people, objects and topics asked about."
)
INSTRUCTION_RESPONSE = (
    "Answer with a short phrase (names, dates, numbers), not a full sentence. Evidence lines "
    "carry their session date: resolve relative dates against it; the newest fact wins when "
    "facts changed. If the memory does not contain the answer, answer 'not mentioned'."
)
ALWAYS_ON_KNOWLEDGE = ""

_STOP = frozenset(
    "a an the and or but if of to in on at for with from by about as is am are was were be been "
    "do does did have has had i you he she it we they me him her us them my your his its our "
    "their this that what which who when where why how so not no just very really can could "
    "would will now currently current latest recent recently ever still any some".split())
_SECTIONS = {"fact": "Facts:", "turn": "Turns:", "session": "Session summaries:"}


@dataclass
class KnowledgeItem:
    facts: list[str] = _list_field("atomic facts, one short sentence each, with full names")
    summary: str = _text_field("two or three sentences summarising the episode")


@dataclass
class Query:
    question: str = _text_field("the question, verbatim")
    complexity: str = _text_field("simple | temporal | complex: the kind of reasoning needed")
    keywords: list[str] = _list_field("people, objects and topics asked about")


def _terms(text: str) -> set[str]:
    return {w.lower()[:5] for w in _WORD.findall(text) if w.lower() not in _STOP}


def _subject(text: str) -> str:
    relative = _RELATIVE.search(text)
    if relative:
        return relative.group(1).lower()
    match = _SPEAKER.match(text)
    return match.group(1).lower() if match else ""


def _slot(text: str) -> str:
    return next((s for s, p in SLOTS.items() if re.search(p, text, re.IGNORECASE)), "")


def _granularity(query: Query) -> str:
    label = str(query.complexity or "").lower()
    for level, words in (("fact", ("simple", "single", "knowledge-update", "fact")),
                         ("turn", ("temporal", "time", "turn")),
                         ("session", ("complex", "multi", "session", "summary"))):
        if any(w in label for w in words):
            return level
    for level in ("session", "turn"):
        if re.search(COMPLEXITY_CUES[level], query.question or "", re.IGNORECASE):
            return level
    return "fact"


class KnowledgeBase:
    """Turn, fact and session-summary levels with a routed, judged read."""

    def __init__(self, toolkit):
        self.toolkit = toolkit
        self.levels = {"turn": _cosine_collection(toolkit, "ama_turns"),
                       "fact": _cosine_collection(toolkit, "ama_facts"),
                       "session": _cosine_collection(toolkit, "ama_sessions")}
        self.texts: dict[str, str] = {}  # row id -> the line shown for it
        self.turn_terms: dict[str, set[str]] = {}
        self.summaries: dict[int, list[str]] = {}  # session -> summary lines (dated header first)
        self.fact_lines: set[str] = set()  # every fact line ever added (duplicates skipped)
        self.sessions = 0
        self.next_fact = 0

    # -- write (Constructor + Refresher) -------------------------------------------------
    def write(self, item: KnowledgeItem, raw_text: str) -> None:
        lines, date = _dated_lines(raw_text, squeeze=True)
        stamp = f"[{date}] " if date else ""
        body = [ln[:MAX_LINE_CHARS] for ln in lines if not _HEADER.match(ln)]
        n = self.sessions
        self.sessions += 1
        if body:
            ids = [f"t{n}-{k}" for k in range(len(body))]
            for row, line in zip(ids, body, strict=True):
                self.texts[row] = stamp + line
                self.turn_terms[row] = _terms(line)
            self.levels["turn"].add(ids=ids, documents=[
                (_SPEAKER.match(ln).group(2) if _SPEAKER.match(ln) else ln) for ln in body],
                metadatas=[{"session": n} for _ in body])
        summary = [_split_date(" ".join(ln.split()), "")[0]
                   for ln in str(item.summary or "").split("\n") if ln.strip()]
        summary = [ln[:MAX_LINE_CHARS] for ln in summary if ln.lower() not in {"filler", "none"}]
        if summary:
            self.summaries[n] = [stamp.strip() or "(undated session)", *summary]
            self.levels["session"].add(ids=[f"s{n}"], documents=[" ".join(summary)[:2000]],
                                       metadatas=[{"session": n}])
        facts = _extracted(item.facts)
        if not facts:
            facts = _fallback(body, FALLBACK_LINES)
        self._add_facts([_split_date(fact, date) for fact in facts])

    def _add_facts(self, dated: list[tuple[str, str]]) -> None:
        """Fact level with the Refresher: a newer fact about the same subject and slot
        removes the older one (stored or earlier in the same batch)."""
        facts = self.levels["fact"]
        known = self.fact_lines
        batch: dict[str, tuple[str, dict]] = {}  # row id -> (text, metadata)
        for text, date in dated:
            text = text[:MAX_LINE_CHARS]
            line = f"[{date}] {text}" if date else text
            if not text or line in known:
                continue
            known.add(line)
            subject, slot = _subject(text), _slot(text)
            if subject and slot:
                stale = facts.get(where={"$and": [{"subject": subject}, {"slot": slot}]})
                if stale["ids"]:
                    facts.delete(ids=stale["ids"])
                    self.toolkit.logger.debug(f"refresher removed {len(stale['ids'])} fact(s)")
                for row in [r for r, (_, m) in batch.items()
                            if (m["subject"], m["slot"]) == (subject, slot)]:
                    del batch[row]
            row = f"f{self.next_fact}"
            self.next_fact += 1
            self.texts[row] = line
            batch[row] = (text, {"date": date, "subject": subject, "slot": slot,
                                 "order": self.next_fact})
        if batch:
            facts.add(ids=list(batch), documents=[t for t, _ in batch.values()],
                      metadatas=[m for _, m in batch.values()])

    # -- read (Retriever + Judge) --------------------------------------------------------
    def _retrieve(self, level: str, text: str) -> list[str]:
        collection = self.levels[level]
        if collection.count() == 0:
            return []
        if level == "session":
            return self._sessions(text)
        k = FACT_K if level == "fact" else TURN_K
        found = collection.query(query_texts=[text], n_results=k * (3 if level == "turn" else 1))
        ids = found["ids"][0]
        if level == "turn":  # short remarks and questions are rarely evidence
            score = self._turn_scores(text, found)
            ids = sorted(ids, key=lambda i: -score[i])[:k]
        if level == "fact":  # read-time Refresher: of conflicting facts show the newest
            metas = {i: m or {} for i, m in zip(ids, found["metadatas"][0], strict=True)}
            newest: dict[tuple, str] = {}
            for i in ids:
                key = (metas[i].get("subject", ""), metas[i].get("slot", ""))
                if all(key) and metas[i].get("order", 0) > \
                        metas.get(newest.get(key, ""), {}).get("order", 0):
                    newest[key] = i
            ids = [i for i in ids if newest.get((metas[i].get("subject", ""),
                                                 metas[i].get("slot", "")), i) == i]
        return [self.texts[i] for i in ids]

    def _turn_scores(self, text: str, found: dict) -> dict[str, float]:
        wanted = _terms(text)
        return {i: 1.0 - float(d) + LEXICAL_WEIGHT * len(wanted & self.turn_terms[i])
                / max(1, len(wanted)) - (0.2 if self.texts[i].endswith("?") else 0.0)
                for i, d in zip(found["ids"][0], found["distances"][0], strict=True)}

    def _sessions(self, text: str) -> list[str]:
        """Session level: sessions ranked by their summary plus their best matching turns
        (coarse output, fine matching); each shown as its dated summary."""
        score: dict[int, float] = {}
        found = self.levels["session"].query(query_texts=[text], n_results=SESSION_K * 3)
        for meta, dist in zip(found["metadatas"][0], found["distances"][0], strict=True):
            score[int(meta["session"])] = 1.0 - float(dist)
        turns = self.levels["turn"].query(query_texts=[text], n_results=TURN_K * 4)
        best: dict[int, float] = {}
        for i, value in self._turn_scores(text, turns).items():
            n = int(i[1:].split("-")[0])
            best[n] = max(best.get(n, 0.0), value)
        ranked = sorted((n for n in self.summaries),
                        key=lambda n: -(score.get(n, 0.0) + best.get(n, 0.0)))[:SESSION_K]
        lines = []
        for n in sorted(ranked):
            lines += self.summaries[n]
        return lines

    def _rule_judge(self, question: str, lines: list[str]) -> bool:
        wanted = _terms(question)
        if not wanted:
            return bool(lines)
        best = max((len(wanted & _terms(ln)) for ln in lines), default=0)
        return best / len(wanted) >= JUDGE_MIN_COVER

    def _llm_judge(self, question: str, lines: list[str]) -> bool | None:
        prompt = ("Answer yes or no: does the evidence below contain the answer to the "
                  f"question?\nQuestion: {question}\nEvidence:\n" + "\n".join(lines[:40]))
        try:
            reply = str(self.toolkit.llm_completion([{"role": "user", "content": prompt}]))
        except Exception as exc:  # the rule judge decides
            self.toolkit.logger.warning(f"judge call failed: {exc}")
            return None
        verdict = reply.strip().lower().lstrip('{"answer: ')
        if verdict.startswith("yes"):
            return True
        if verdict.startswith("no"):
            return False
        return None

    def read(self, query: Query) -> str:
        text = _query_text(query)
        if not text or not self.texts:
            return ""
        question = query.question or text
        level = _granularity(query)
        sections: list[tuple[str, list[str]]] = []
        for round_ in range(max(1, MAX_ROUNDS)):
            lines = [ln for ln in self._retrieve(level, text)
                     if all(ln not in shown for _, shown in sections)]
            sections.append((level, lines))
            if round_ + 1 >= MAX_ROUNDS:
                break
            evidence = [ln for _, shown in sections for ln in shown]
            verdict = self._llm_judge(question, evidence) if USE_LLM_JUDGE and round_ == 0 \
                and evidence else None
            if verdict is None:
                verdict = self._rule_judge(question, evidence)
            if verdict:
                break
            level = ESCALATION.get(level, "fact")
            self.toolkit.logger.debug(f"judge: evidence insufficient, retrieving {level}s")
            if any(level == used for used, _ in sections):
                break
        out, used = [], 0
        for level, lines in sections:
            block = [_SECTIONS[level]]
            for line in lines:
                if used + len(block[0]) + len(line) + 3 > MAX_CHARS:
                    continue
                block.append(line if line.startswith("[") and level == "session" else f"- {line}")
                used += len(line) + 3
            if len(block) > 1:
                out.append("\n".join(block))
                used += len(block[0]) + 1
        return "\n".join(out)[:MAX_CHARS]
