"""G-Memory-style hierarchical graph memory: insight, query and interaction tiers, traversed both ways.

Paper: G-Memory (Zhang et al., Tracing Hierarchical Memory for Multi-Agent Systems), arXiv:2506.07398 (NeurIPS 2025)

Design: G-Memory organises experience in three graph tiers: an interaction graph per past
task (its utterances or steps as nodes, linked in the order they happened), a query graph
(one node per past task, linked to similar tasks) and an insight graph (general lessons,
each linked to the tasks it was drawn from). For a new task it finds similar query nodes,
expands them along query edges, then traverses upward to the insights attached to them and
downward to condensed interactions (the key utterances and their neighbours). The task agent
supplies each episode's task line and insights; the program builds the three tiers: query
edges where task similarity >= EDGE_SIM, insight nodes merged when similarity >= MERGE_SIM
(the merged insight gains a link to the new task), interaction nodes = the episode's lines
with order edges. For conversations the task line is the people and topics and the insights
are the stated facts, so traversal returns facts plus the matching utterances.

Stores: three toolkit.chroma collections (cosine space): query nodes, insights, utterances
(tagged with their episode); python adjacency for query edges and insight -> task links.
Write: add the query node and its edges, the utterance nodes, the insights (merged or new);
0 LLM calls.
Read: QUERY_K nearest query nodes + their neighbours within HOPS; upward: the INSIGHT_K
insights ranked by similarity + LINK_BONUS when linked to a reached task ("Insights:");
downward: the UTTERANCE_K best utterances of the reached tasks with NEIGHBOURS lines of
context each, grouped per task ("Interactions:").
Prompting: INSTRUCTION_KNOWLEDGE_ITEM asks for the task line and general insights (facts for
conversations); INSTRUCTION_RESPONSE for short, dated answers.

Strengths: both abstract lessons and concrete past interactions; related tasks reached
through the graph even when the query does not name them. Weaknesses: query edges by
embedding similarity only; condensation by relevance can drop the step that mattered.

Toolkit LLM calls: 0 per write, 0 per read.
"""

from dataclasses import dataclass

from ._shared import (
    _HEADER,
    _cosine_collection,
    _list_field,
    _query_text,
    _session_date,
    _split_date,
    _text_field,
)

# --- design parameters ---
QUERY_K = 4  # nearest past tasks (query nodes) per read
HOPS = 1  # query-graph hops expanded from them
EDGE_SIM = 0.6  # two tasks this similar are linked in the query graph
MAX_EDGES = 3  # query edges made for a new task
MERGE_SIM = 0.93  # an insight this similar to a stored one is merged into it
INSIGHT_K = 14  # insights shown per read
LINK_BONUS = 0.1  # ranking bonus of insights linked to a reached task
UTTERANCE_K = 6  # key utterances shown from the reached tasks
NEIGHBOURS = 1  # order neighbours shown around each key utterance
INSIGHT_SHARE = 0.6  # share of the budget for insights when interactions follow
TASK_CHARS = 160  # a task line is clipped to this length
MAX_LINE_CHARS = 300  # one line is clipped to this length
MAX_CHARS = 3000  # read() budget (hard cap 3000)
# --- end design parameters ---

TOOLKIT_LLM_CALLS = {"write": 0, "read": 0}

INSTRUCTION_KNOWLEDGE_ITEM = (
    "'task': one line: the task attempted or the people and topics discussed. 'insights': "
    "general lessons that would help with similar tasks, one per entry; for conversations "
    "every fact stated about people, with full names and time expressions as said."
)
INSTRUCTION_QUERY = (
    "Copy the question or task verbatim into 'question'. In 'keywords' list the people, "
    "objects and topics it is about."
)
INSTRUCTION_RESPONSE = (
    "Answer with a short phrase (names, dates, numbers), not a full sentence. Use the "
    "insights and the past interactions; resolve relative dates against the date shown; the "
    "latest wins when facts changed. If the memory does not contain the answer, answer "
    "'not mentioned'."
)
ALWAYS_ON_KNOWLEDGE = ""


@dataclass
class KnowledgeItem:
    task: str = _text_field("one line: task attempted, or people and topics")
    insights: list[str] = _list_field("general lessons, or facts about people, one per entry")


@dataclass
class Query:
    question: str = _text_field("the question or task")
    keywords: list[str] = _list_field("people, objects and topics asked about")


class KnowledgeBase:
    """Query, insight and interaction tiers."""

    def __init__(self, toolkit):
        self.toolkit = toolkit
        self.query_nodes = _cosine_collection(toolkit, "gmem_queries")
        self.insight_nodes = _cosine_collection(toolkit, "gmem_insights")
        self.utterances = _cosine_collection(toolkit, "gmem_utterances")
        self.tasks: list[dict] = []  # query node -> {"task", "date", "lines", "edges"}
        self.insights: dict[str, dict] = {}  # insight node -> {"text", "date", "tasks"}

    # -- write ---------------------------------------------------------------------------
    def write(self, item: KnowledgeItem, raw_text: str) -> None:
        lines = [" ".join(ln.split())[:MAX_LINE_CHARS] for ln in (raw_text or "").split("\n")
                 if ln.strip()]
        date = _session_date(lines)
        body = [ln for ln in lines if not _HEADER.match(ln)]
        task = next((" ".join(ln.split()) for ln in str(item.task or "").split("\n")
                     if ln.strip()), "")
        task = _split_date(task, "")[0][:TASK_CHARS] or (body[0][:TASK_CHARS] if body else "")
        if not task and not body:
            return
        n = len(self.tasks)
        edges = []
        if self.tasks:  # query graph: link to similar past tasks
            found = self.query_nodes.query(query_texts=[task], n_results=MAX_EDGES)
            edges = [int(m["n"]) for m, d in zip(found["metadatas"][0], found["distances"][0],
                                                  strict=True) if 1.0 - float(d) >= EDGE_SIM]
        self.tasks.append({"task": task, "date": date, "lines": body, "edges": edges})
        for other in edges:
            self.tasks[other]["edges"].append(n)
        self.query_nodes.add(ids=[f"q{n}"], documents=[task or body[0]], metadatas=[{"n": n}])
        if body:  # interaction graph: the lines in order (order edges are implicit: k, k+1)
            self.utterances.add(ids=[f"u{n}-{k}" for k in range(len(body))], documents=body,
                                metadatas=[{"n": n, "k": k} for k in range(len(body))])
        proposed = [" ".join(str(i).split()) for i in (item.insights or [])]
        proposed = [_split_date(p, date) for p in proposed
                    if p and p.lower() not in {"filler", "none"}]
        self._insights([(t[:MAX_LINE_CHARS], d) for t, d in proposed if t], n)

    def _insights(self, proposed: list[tuple[str, str]], task: int) -> None:
        if not proposed:
            return
        vectors = self.toolkit.embed([t for t, _ in proposed])
        for (text, date), vector in zip(proposed, vectors, strict=True):
            if self.insights:
                found = self.insight_nodes.query(query_embeddings=[vector], n_results=1)
                best = found["ids"][0][0]
                if 1.0 - float(found["distances"][0][0]) >= MERGE_SIM:
                    if task not in self.insights[best]["tasks"]:
                        self.insights[best]["tasks"].append(task)
                    continue
            insight_id = f"i{len(self.insights)}"
            self.insights[insight_id] = {"text": text, "date": date, "tasks": [task]}
            self.insight_nodes.add(ids=[insight_id], documents=[text], embeddings=[vector])

    # -- read ----------------------------------------------------------------------------
    def _reached(self, text: str) -> list[int]:
        found = self.query_nodes.query(query_texts=[text], n_results=QUERY_K)
        reached = [int(m["n"]) for m in found["metadatas"][0]]
        frontier = list(reached)
        for _ in range(HOPS):
            frontier = [o for n in frontier for o in self.tasks[n]["edges"] if o not in reached]
            reached += list(dict.fromkeys(frontier))
        return reached

    def read(self, query: Query) -> str:
        text = _query_text(query)
        if not text or not self.tasks:
            return ""
        reached = self._reached(text)
        parts, used = [], 0
        if self.insights:  # upward traversal
            found = self.insight_nodes.query(query_texts=[text], n_results=INSIGHT_K * 2)
            scored = sorted(
                ((1.0 - float(d) + (LINK_BONUS if set(self.insights[i]["tasks"]) & set(reached)
                                    else 0.0), i)
                 for i, d in zip(found["ids"][0], found["distances"][0], strict=True)),
                key=lambda s: (-s[0], s[1]))[:INSIGHT_K]
            block, budget = ["Insights:"], int(MAX_CHARS * INSIGHT_SHARE)
            for _, insight_id in scored:
                insight = self.insights[insight_id]
                line = f"- [{insight['date']}] {insight['text']}" if insight["date"] else \
                    f"- {insight['text']}"
                if used + len(line) + 1 <= budget:
                    block.append(line)
                    used += len(line) + 1
            if len(block) > 1:
                parts.append("\n".join(block))
        found = self.utterances.query(query_texts=[text], n_results=UTTERANCE_K,
                                      where={"n": {"$in": reached}})
        keep: dict[int, set[int]] = {}  # downward traversal: key utterances + neighbours
        for meta in found["metadatas"][0]:
            n, k = int(meta["n"]), int(meta["k"])
            size = len(self.tasks[n]["lines"])
            keep.setdefault(n, set()).update(
                j for j in range(k - NEIGHBOURS, k + NEIGHBOURS + 1) if 0 <= j < size)
        if keep:
            block = ["Interactions:"]
            for n in sorted(keep):
                node = self.tasks[n]
                head = f"[{node['date']}] {node['task']}" if node["date"] else node["task"]
                for line in [head] + [f"  {node['lines'][k]}" for k in sorted(keep[n])]:
                    if used + len(line) + 1 <= MAX_CHARS - 16:
                        block.append(line)
                        used += len(line) + 1
            parts.append("\n".join(block))
        return "\n".join(parts)[:MAX_CHARS]
