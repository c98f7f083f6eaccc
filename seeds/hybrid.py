"""Hybrid retrieval: FTS5 bm25 + vector search over turns, fused by reciprocal rank, capped per episode.

Paper: Reciprocal Rank Fusion (Cormack et al.), SIGIR 2009

Design: hybrid lexical + dense retrieval with Reciprocal Rank Fusion (Cormack et al. 2009), the
default retriever of many production memory stacks (e.g. Zep/Graphiti's search, LangChain
ensemble retrievers), with a per-source cap so one long episode cannot fill the whole answer.

Stores: one unit per dialogue turn (non-empty line). The turn text goes into an SQLite FTS5
table (porter stemming); the turn together with VECTOR_CONTEXT preceding turns goes into a
toolkit.chroma collection, so short replies ("Yes, Biscuit!") are embedded with what they
answer. A plain table keeps lines and date headers for display.
Write: split into turns, insert into both indices (0 LLM calls).
Read: CANDIDATES best turns from each index; fused score = sum of 1 / (RRF_K + rank); the best
TOP_K turns, at most MAX_PER_EPISODE per episode, each shown with CONTEXT_TURNS neighbours,
grouped by episode under its date header, best first, clipped to MAX_CHARS.

Strengths: lexical search catches names and rare words, vectors catch paraphrases; fusion needs
no score calibration; the cap diversifies evidence for multi-hop questions. Weaknesses: two
indices to maintain (one embedding per turn); no notion of updated facts or time beyond the
date headers; the fused list can still miss evidence both retrievers rank low.

Toolkit LLM calls: 0 per write, 0 per read.
"""

from dataclasses import dataclass

from ._shared import (
    _STOP,
    _cosine_collection,
    _episode_lines,
    _list_field,
    _match_expression,
    _query_text,
    _split_header,
    _text_field,
    _windows,
)

# --- design parameters ---
CANDIDATES = 30  # hits taken from each retriever before fusion
RRF_K = 60  # reciprocal-rank-fusion constant
LEXICAL_WEIGHT = 1.0  # weight of the FTS5 ranking in the fusion
VECTOR_WEIGHT = 1.0  # weight of the vector ranking in the fusion
TOP_K = 16  # fused turns returned (the MAX_CHARS cap applies on top)
MAX_PER_EPISODE = 3  # per-source cap on returned turns
CONTEXT_TURNS = 1  # neighbouring turns shown on each side of a hit
VECTOR_CONTEXT = 1  # preceding turns embedded together with a turn
MAX_CHARS = 3000  # read() budget (hard cap 3000)
# --- end design parameters ---

TOOLKIT_LLM_CALLS = {"write": 0, "read": 0}

INSTRUCTION_KNOWLEDGE_ITEM = (
    "Write a one-sentence summary of the episode. The raw turns themselves are indexed."
)
INSTRUCTION_QUERY = (
    "Copy the question verbatim into 'question'. In 'keywords' add names, objects, "
    "synonyms and word variants a matching dialogue turn would contain."
)
INSTRUCTION_RESPONSE = (
    "Answer with a short phrase taken from the memory (names, dates, numbers), not a full "
    "sentence. Each block starts with its session date: resolve relative dates ('yesterday', "
    "'last Saturday') against it; when a fact changed, the latest session wins. If the memory "
    "does not contain the answer, answer 'not mentioned'."
)
ALWAYS_ON_KNOWLEDGE = ""



@dataclass
class KnowledgeItem:
    summary: str = _text_field("one-sentence summary (unused)")


@dataclass
class Query:
    question: str = _text_field("the question, verbatim")
    keywords: list[str] = _list_field("names, objects, synonyms a matching turn would contain")


class KnowledgeBase:
    """Turn units in FTS5 and in a vector collection; RRF at read time."""

    def __init__(self, toolkit):
        self.toolkit = toolkit
        self.db = toolkit.db
        self.db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS hy_fts USING fts5("
                        "body, uid UNINDEXED, tokenize='porter unicode61')")
        self.db.execute("CREATE TABLE IF NOT EXISTS hy_lines("
                        "episode INTEGER, pos INTEGER, body TEXT, PRIMARY KEY(episode, pos))")
        self.db.execute("CREATE TABLE IF NOT EXISTS hy_episodes("
                        "episode INTEGER PRIMARY KEY, header TEXT)")
        self.db.commit()
        self.vectors = _cosine_collection(toolkit, "hybrid_turns")
        self.episodes = 0

    def write(self, item: KnowledgeItem, raw_text: str) -> None:
        lines = _episode_lines(raw_text)
        if not lines:
            return
        header, lines = _split_header(lines)
        episode = self.episodes
        self.episodes += 1
        uids = [f"{episode}:{pos}" for pos in range(len(lines))]
        self.db.execute("INSERT INTO hy_episodes VALUES (?, ?)", (episode, header))
        self.db.executemany("INSERT INTO hy_lines VALUES (?, ?, ?)",
                            [(episode, pos, body) for pos, body in enumerate(lines)])
        self.db.executemany("INSERT INTO hy_fts(body, uid) VALUES (?, ?)",
                            list(zip(lines, uids, strict=True)))
        self.db.commit()
        if lines:
            docs = ["\n".join(lines[max(0, pos - VECTOR_CONTEXT):pos + 1])
                    for pos in range(len(lines))]
            self.vectors.add(documents=docs, ids=uids,
                             metadatas=[{"episode": episode, "pos": pos}
                                        for pos in range(len(lines))])

    def _fused(self, text: str) -> list[tuple[int, int]]:
        scores: dict[str, float] = {}
        expression = _match_expression(text, _STOP)
        if expression:
            rows = self.db.execute(
                "SELECT uid FROM hy_fts WHERE hy_fts MATCH ? ORDER BY bm25(hy_fts) LIMIT ?",
                (expression, CANDIDATES)).fetchall()
            for rank, (uid,) in enumerate(rows):
                scores[uid] = scores.get(uid, 0.0) + LEXICAL_WEIGHT / (RRF_K + rank + 1)
        if self.vectors.count():
            found = self.vectors.query(query_texts=[text], n_results=CANDIDATES)
            for rank, uid in enumerate(found["ids"][0]):
                scores[uid] = scores.get(uid, 0.0) + VECTOR_WEIGHT / (RRF_K + rank + 1)
        ranked = sorted(scores, key=lambda u: (-scores[u], u))
        picked: list[tuple[int, int]] = []
        per_episode: dict[int, int] = {}
        for uid in ranked:
            episode, pos = (int(x) for x in uid.split(":"))
            if per_episode.get(episode, 0) >= MAX_PER_EPISODE:
                continue
            per_episode[episode] = per_episode.get(episode, 0) + 1
            picked.append((episode, pos))
            if len(picked) >= TOP_K:
                break
        return picked

    def read(self, query: Query) -> str:
        text = _query_text(query)
        if not text:
            return ""
        order, keep = _windows(self._fused(text), CONTEXT_TURNS)
        blocks, used = [], 0
        for episode in order:
            header_row = self.db.execute(
                "SELECT header FROM hy_episodes WHERE episode = ?", (episode,)).fetchone()
            rows = self.db.execute(
                "SELECT pos, body FROM hy_lines WHERE episode = ? AND pos BETWEEN ? AND ? "
                "ORDER BY pos", (episode, min(keep[episode]), max(keep[episode]))).fetchall()
            header = header_row[0] if header_row and header_row[0] else ""
            body = [line for pos, line in rows if int(pos) in keep[episode]]
            block = "\n".join(([header] if header else []) + body)
            room = MAX_CHARS - used - (2 if blocks else 0)
            if room <= len(header) + 20:
                break
            blocks.append(block[:room])
            used += len(blocks[-1]) + (2 if len(blocks) > 1 else 0)
        return "\n\n".join(blocks)[:MAX_CHARS]
