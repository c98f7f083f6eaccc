"""Trajectory retrieval: whole past episodes as exemplars, the most similar ones returned verbatim.

Paper: Synapse (Zheng et al.), arXiv:2306.07863 (ICLR 2024)

Design: exemplar / trajectory memory as in Synapse (Zheng et al. 2024) and the episodic half of
Agent Workflow Memory: keep complete past episodes, index each by a short description of its
goal, and give the agent the few most similar ones in full, so it can imitate what worked (or
reread what was said). For conversations this is session-level retrieval.

Stores: every episode's raw text with the task agent's 'goal' and 'summary'. A toolkit.chroma
collection (cosine space) holds, per episode, one row for goal + summary + the start of the
episode and one row per line, each tagged with the episode number.
Write: one batch add per episode (0 LLM calls). Read: the CANDIDATES nearest rows vote for
their episodes (an episode scores its best row, the episode row weighted by EPISODE_WEIGHT);
the TOP_EPISODES best episodes are each given an equal share of MAX_CHARS: date/goal header,
summary, then the whole episode or, when it is too long, its lines that best match the query
(with neighbours); in episode order.

Strengths: keeps complete context (multi-step procedures, Q/A pairs, dates); good for embodied
tasks where a similar solved episode is the best hint. Weaknesses: episode-level embeddings are
coarse, so small facts in long episodes rank poorly; only two or three episodes fit the budget.

Toolkit LLM calls: 0 per write, 0 per read.
"""

import re
from dataclasses import dataclass

from ._shared import _HEADER, Query, _cosine_collection, _query_text, _text_field

# --- design parameters ---
TOP_EPISODES = 3  # episodes returned per read
CANDIDATES = 40  # nearest rows (episode rows and line rows) that vote for episodes
EPISODE_WEIGHT = 1.0  # weight of the goal/summary row against single lines
EMBED_CHARS = 1500  # characters of the episode embedded with its goal and summary
GOAL_CHARS = 160  # the goal is one line of at most this length
SUMMARY_CHARS = 400  # summary characters shown per returned episode
LINE_CONTEXT = 1  # neighbours kept around each matching line when an episode is clipped
MAX_CHARS = 3000  # read() budget (hard cap 3000)
# --- end design parameters ---

TOOLKIT_LLM_CALLS = {"write": 0, "read": 0}

INSTRUCTION_KNOWLEDGE_ITEM = (
    "'goal': what the episode was about or tried to achieve, in one line (for conversations: "
    "the people and main topics). 'summary': two or three sentences with the key facts, "
    "outcomes and steps that worked."
)
INSTRUCTION_QUERY = (
    "Copy the question or task verbatim into 'question'. In 'keywords' list the people, "
    "objects and topics it is about."
)
INSTRUCTION_RESPONSE = (
    "Answer with a short phrase (names, dates, numbers), not a full sentence, using the most "
    "relevant past episode. Resolve relative dates against the episode's date. If the memory "
    "does not contain the answer, answer 'not mentioned'."
)
ALWAYS_ON_KNOWLEDGE = ""

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an the and or but if of to in on at for with from by about as is am are was were be "
    "do does did have has had i you he she it we they my your what which who when where why "
    "how so not no just very really oh yeah can could would will".split())


@dataclass
class KnowledgeItem:
    goal: str = _text_field("one line: what was attempted or discussed")
    summary: str = _text_field("two or three sentences: key facts and outcomes")


def _terms(text: str) -> set[str]:
    return {w[:6] for w in _WORD.findall(text.lower()) if w not in _STOP}


class KnowledgeBase:
    """Whole episodes, retrieved by episode-level similarity."""

    def __init__(self, toolkit):
        self.toolkit = toolkit
        self.index = _cosine_collection(toolkit, "trajectories")
        self.episodes: list[dict] = []

    def write(self, item: KnowledgeItem, raw_text: str) -> None:
        lines = [ln.rstrip() for ln in (raw_text or "").split("\n") if ln.strip()]
        if not lines:
            return
        header = lines[0].strip() if _HEADER.match(lines[0]) else ""
        goal = next((" ".join(ln.split()) for ln in str(item.goal or "").split("\n")
                     if ln.strip()), "")[:GOAL_CHARS]
        summary = [" ".join(ln.split()) for ln in str(item.summary or "").split("\n")
                   if ln.strip()]
        episode = {"header": header, "goal": goal, "summary": summary,
                   "lines": lines[1:] if header else lines}
        n = len(self.episodes)
        doc = "\n".join([goal, *summary, "\n".join(lines)[:EMBED_CHARS]]).strip()
        docs = [doc, *episode["lines"]]
        self.index.add(ids=[f"t{n}-{k}" for k in range(len(docs))], documents=docs,
                       metadatas=[{"n": n, "episode_row": k == 0} for k in range(len(docs))])
        self.episodes.append(episode)

    def _render(self, n: int, wanted: set[str], budget: int) -> str:
        episode = self.episodes[n]
        head = episode["header"]
        goal = f"Goal: {episode['goal']}" if episode["goal"] else ""
        summary, used_summary = [], 0
        for line in episode["summary"]:  # one line each: keeps who-said-what readable
            if used_summary + len(line) > SUMMARY_CHARS:
                break
            summary.append(f"- {line}")
            used_summary += len(line)
        parts = [p for p in (head, goal, "Summary:" if summary else "") if p] + summary
        lines = episode["lines"]
        full = "\n".join(parts + lines)
        if len(full) <= budget:
            return full
        scores = [len(wanted & _terms(ln)) for ln in lines]
        keep: set[int] = set()
        used = len("\n".join(parts))
        for i in sorted(range(len(lines)), key=lambda k: (-scores[k], k)):
            if scores[i] == 0:
                break
            window = {j for j in range(i - LINE_CONTEXT, i + LINE_CONTEXT + 1)
                      if 0 <= j < len(lines)} - keep
            cost = sum(len(lines[j]) + 1 for j in window)
            if used + cost > budget:
                continue
            keep |= window
            used += cost
        if not keep:  # nothing matches: show the start of the episode
            return full[:budget]
        return "\n".join(parts + [lines[j] for j in sorted(keep)])[:budget]

    def read(self, query: Query) -> str:
        text = _query_text(query)
        if not text or not self.episodes:
            return ""
        found = self.index.query(query_texts=[text], n_results=CANDIDATES)
        best: dict[int, float] = {}
        for meta, dist in zip(found["metadatas"][0], found["distances"][0], strict=True):
            sim = (1.0 - float(dist)) * (EPISODE_WEIGHT if meta.get("episode_row") else 1.0)
            n = int(meta["n"])
            best[n] = max(best.get(n, -1.0), sim)
        picked = sorted(sorted(best, key=lambda k: (-best[k], k))[:TOP_EPISODES])
        if not picked:
            return ""
        wanted = _terms(text)
        share = MAX_CHARS // len(picked) - 2
        blocks = [self._render(n, wanted, share) for n in picked]
        return "\n\n".join(b for b in blocks if b)[:MAX_CHARS]
