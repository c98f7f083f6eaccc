"""ExpeL-style experiential learning: voted insight list plus similar past episodes as exemplars.

Paper: ExpeL (Zhao et al., ExpeL: LLM Agents Are Experiential Learners), arXiv:2308.10144 (AAAI 2024)

Design: ExpeL gathers experiences (trajectories with their success or failure), extracts
natural-language insights from them and maintains the insight list with four operations: ADD a
new insight, EDIT one, UPVOTE one that is confirmed, DOWNVOTE one that is contradicted; an
insight whose importance count reaches zero is removed. At a new task the agent receives the
insights and the most similar successful trajectories as exemplars. ExpeL asks an LLM to pick
the operations by comparing successes and failures; here the task agent proposes insights and
the program picks the operation: similarity >= UPVOTE_SIM -> UPVOTE; same subject and
similarity >= EDIT_SIM -> EDIT (text replaced, importance +1); else ADD (importance
INITIAL_IMPORTANCE). observe(outcome) (online protocol) labels the episodes written since the
previous observe as success or failure and DOWNVOTEs the insights retrieved for a failed one.

Stores: insights (text, importance, date, supporting episodes) in a toolkit.chroma collection
(cosine space) and a python list; episodes (task line, lines, outcome) with one row per line
in a second collection, so a single relevant line finds its episode.
Write: insights = item.insights (for conversations the facts; fallback: informative raw
lines); the episode is stored whole. 0 LLM calls.
Read: "Insights:" the INSIGHT_K most relevant insights (similarity + IMPORTANCE_WEIGHT x
importance); then "Similar episodes:" up to EXEMPLARS episodes (failures excluded) whose
lines best match, each as its task line and its best-matching lines.
Prompting: INSTRUCTION_KNOWLEDGE_ITEM asks for general insights (rules that would help next
time) and, for conversations, the facts; INSTRUCTION_RESPONSE says to apply the insights.

Strengths: insights transfer across tasks and are voted up by repetition; exemplars show
concrete successful behaviour. Weaknesses: votes from similarity are noisy (a repeated
phrasing is not a confirmation); without observe() nothing is ever downvoted.

Toolkit LLM calls: 0 per write, 0 per read.
"""

from dataclasses import dataclass

from ._shared import (
    _HEADER,
    _SPEAKER,
    _WORD,
    _cosine_collection,
    _list_field,
    _query_text,
    _session_date,
    _split_date,
    _succeeded,
    _text_field,
)

# --- design parameters ---
INSIGHT_K = 16  # insights shown per read
EXEMPLARS = 2  # similar episodes shown per read
EXEMPLAR_LINES = 4  # lines shown per exemplar episode
TASK_CHARS = 160  # the task line of an episode is clipped to this length
UPVOTE_SIM = 0.93  # a proposed insight this similar to a stored one upvotes it
EDIT_SIM = 0.8  # ... this similar and about the same subject edits it
INITIAL_IMPORTANCE = 2  # importance of a new insight (ExpeL starts at 2)
IMPORTANCE_WEIGHT = 0.02  # ranking weight of importance against similarity
SUCCESS_THRESHOLD = 0.5  # observed score at or above which an episode succeeded
INSIGHT_SHARE = 0.65  # share of the budget for insights when exemplars follow
FALLBACK_LINES = 8  # informative raw lines used as insights when none were proposed
MAX_LINE_CHARS = 300  # one insight or line is clipped to this length
MAX_CHARS = 3000  # read() budget (hard cap 3000)
# --- end design parameters ---

TOOLKIT_LLM_CALLS = {"write": 0, "read": 0}

INSTRUCTION_KNOWLEDGE_ITEM = (
    "'task': one line naming what the episode tried to do or discussed. 'insights': what "
    "should be remembered for next time, one per entry: general rules that made the attempt "
    "succeed or fail (for tasks), and every concrete fact about people with full names and "
    "time expressions as said (for conversations)."
)
INSTRUCTION_QUERY = (
    "Copy the question or task verbatim into 'question'. In 'keywords' list the people, "
    "objects and topics it is about."
)
INSTRUCTION_RESPONSE = (
    "Answer with a short phrase (names, dates, numbers), not a full sentence. Apply the "
    "insights; dated lines: resolve relative dates against their date, the latest wins when "
    "facts changed. If the memory does not contain the answer, answer 'not mentioned'."
)
ALWAYS_ON_KNOWLEDGE = ""

_STOP = frozenset(
    "a an the and or but if of to in on at for with from by about as is am are was were be been "
    "do does did have has had i you he she it we they me him her us them my your his its our "
    "their this that what which who when where why how so not no just very really oh yeah can "
    "could would will now then there here".split())


@dataclass
class KnowledgeItem:
    task: str = _text_field("one line: what was attempted or discussed")
    insights: list[str] = _list_field("rules for next time, or facts about people, one per entry")


@dataclass
class Query:
    question: str = _text_field("the question or task")
    keywords: list[str] = _list_field("people, objects and topics asked about")


def _informative(line: str) -> bool:
    words = [w for w in _WORD.findall(line.lower()) if w not in _STOP]
    return not line.rstrip().endswith("?") and len(words) >= 4


def _subject(text: str) -> str:
    match = _SPEAKER.match(text)
    if match:
        return match.group(1).lower()
    words = _WORD.findall(text)
    return words[0].lower() if words and words[0][0].isupper() else ""


class KnowledgeBase:
    """A voted insight list and an experience pool."""

    def __init__(self, toolkit):
        self.toolkit = toolkit
        self.insight_index = _cosine_collection(toolkit, "expel_insights")
        self.line_index = _cosine_collection(toolkit, "expel_lines")
        self.insights: dict[str, dict] = {}
        self.episodes: list[dict] = []
        self.unobserved: list[int] = []  # episodes written since the last observe
        self.retrieved: set[str] = set()  # insights shown since the last observe

    # -- write ---------------------------------------------------------------------------
    def write(self, item: KnowledgeItem, raw_text: str) -> None:
        lines = [" ".join(ln.split())[:MAX_LINE_CHARS] for ln in (raw_text or "").split("\n")
                 if ln.strip()]
        date = _session_date(lines)
        body = [ln for ln in lines if not _HEADER.match(ln)]
        task = next((" ".join(ln.split()) for ln in str(item.task or "").split("\n")
                     if ln.strip()), "")
        task = _split_date(task, "")[0][:TASK_CHARS]
        proposed = [" ".join(str(i).split()) for i in (item.insights or [])]
        proposed = [p for p in proposed if p and p.lower() not in {"filler", "none"}]
        if not proposed:
            proposed = [ln for ln in body if _informative(ln)][:FALLBACK_LINES]
        n = len(self.episodes)
        self.episodes.append({"task": task or (body[0] if body else ""), "date": date,
                              "lines": body, "outcome": None})
        self.unobserved.append(n)
        if body:
            self.line_index.add(ids=[f"l{n}-{k}" for k in range(len(body))], documents=body,
                                metadatas=[{"episode": n, "k": k} for k in range(len(body))])
        dated = [_split_date(text[:MAX_LINE_CHARS], date) for text in proposed]
        dated = [(text, when) for text, when in dated if text]
        if dated:
            vectors = self.toolkit.embed([text for text, _ in dated])  # one embedding call
            for (text, when), vector in zip(dated, vectors, strict=True):
                self._vote(text, when, n, vector)

    def _vote(self, text: str, date: str, episode: int, vector: list[float]) -> None:
        """ADD, EDIT or UPVOTE one proposed insight."""
        if self.insight_index.count():
            found = self.insight_index.query(query_embeddings=[vector], n_results=1)
            best, sim = found["ids"][0][0], 1.0 - float(found["distances"][0][0])
            insight = self.insights[best]
            if sim >= UPVOTE_SIM:
                insight["importance"] += 1
                insight["episodes"].append(episode)
                return
            if sim >= EDIT_SIM and _subject(text) and _subject(text) == _subject(insight["text"]):
                insight.update(text=text, date=date, importance=insight["importance"] + 1)
                insight["episodes"].append(episode)
                self.insight_index.update(ids=[best], documents=[text], embeddings=[vector])
                return
        insight_id = f"i{len(self.insights)}"
        self.insights[insight_id] = {"text": text, "date": date, "episodes": [episode],
                                     "importance": INITIAL_IMPORTANCE}
        self.insight_index.add(ids=[insight_id], documents=[text], embeddings=[vector])

    def observe(self, outcome: dict) -> None:
        """Label the episodes written since the last observe; DOWNVOTE what a failure used."""
        success = _succeeded(outcome, SUCCESS_THRESHOLD)
        if success is None:
            return
        for n in self.unobserved:
            self.episodes[n]["outcome"] = "success" if success else "failure"
        if not success:
            for insight_id in sorted(self.retrieved):
                insight = self.insights.get(insight_id)
                if insight is None:
                    continue
                insight["importance"] -= 1
                if insight["importance"] <= 0:  # ExpeL removes insights voted down to zero
                    del self.insights[insight_id]
                    self.insight_index.delete(ids=[insight_id])
        self.unobserved, self.retrieved = [], set()

    # -- read ----------------------------------------------------------------------------
    def read(self, query: Query) -> str:
        text = _query_text(query)
        if not text or not self.episodes:
            return ""
        parts, used = [], 0
        if self.insights:
            found = self.insight_index.query(query_texts=[text], n_results=INSIGHT_K * 2)
            ranked = sorted(
                zip(found["ids"][0], found["distances"][0], strict=True),
                key=lambda p: -(1.0 - float(p[1]) + IMPORTANCE_WEIGHT *
                                self.insights[p[0]]["importance"]))[:INSIGHT_K]
            self.retrieved.update(i for i, _ in ranked)
            block = ["Insights:"]
            budget = int(MAX_CHARS * INSIGHT_SHARE)
            for insight_id, _ in ranked:
                insight = self.insights[insight_id]
                line = f"- [{insight['date']}] {insight['text']}" if insight["date"] else \
                    f"- {insight['text']}"
                if used + len(line) + 1 <= budget:
                    block.append(line)
                    used += len(line) + 1
            if len(block) > 1:
                parts.append("\n".join(block))
        exemplars = self._exemplars(text)
        if exemplars:
            block = ["Similar episodes:"]
            for n, ks in exemplars:
                episode = self.episodes[n]
                head = f"[{episode['date']}] {episode['task']}" if episode["date"] else \
                    episode["task"]
                for line in [head] + [f"  {episode['lines'][k]}" for k in sorted(ks)]:
                    if used + len(line) + 1 <= MAX_CHARS - 20:
                        block.append(line)
                        used += len(line) + 1
            parts.append("\n".join(block))
        return "\n".join(parts)[:MAX_CHARS]

    def _exemplars(self, text: str) -> list[tuple[int, list[int]]]:
        """Episodes (not failed) whose lines best match, with their best lines."""
        if self.line_index.count() == 0 or EXEMPLARS <= 0:
            return []
        found = self.line_index.query(query_texts=[text], n_results=40)
        best: dict[int, list[int]] = {}
        for meta in found["metadatas"][0]:
            n, k = int(meta["episode"]), int(meta["k"])
            if self.episodes[n]["outcome"] == "failure":
                continue
            if n in best or len(best) < EXEMPLARS:
                lines = best.setdefault(n, [])
                if len(lines) < EXEMPLAR_LINES:
                    lines.append(k)
        return list(best.items())
