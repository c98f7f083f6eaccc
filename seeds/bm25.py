"""BM25: every dialogue turn in an SQLite FTS5 index, best turns (with neighbours) by bm25.

Paper: Okapi BM25 (Robertson et al.), TREC-3 1994

Design: classic lexical retrieval (Okapi BM25, as in LoCoMo/LongMemEval's BM25 retrievers)
over turn-level units, using the toolkit's SQLite FTS5 (porter stemming, bm25 ranking).

Stores: one FTS5 row per non-empty line of an episode (a dialogue turn "Speaker: text"), with
its episode number and position; a plain table keeps the lines for neighbour lookup and the
episodes' date headers.
Write: split the raw text into lines and insert them (0 LLM calls).
Read: the question and keywords become an OR of quoted terms (stop words dropped, so the
FTS5 MATCH syntax can never be broken by the question's punctuation); the TOP_K best turns are
expanded with CONTEXT_TURNS neighbours on each side, grouped by episode under the date header,
best episode first, clipped to MAX_CHARS.

Strengths: exact names and rare words rank very well; turn-level units keep noise low; fast
and deterministic. Weaknesses: no synonyms or paraphrase matching; questions phrased unlike
the conversation miss; updated facts return old and new values alike; no reasoning over time.

Toolkit LLM calls: 0 per write, 0 per read.
"""

from dataclasses import dataclass

from ._shared import (
    _STOP,
    _episode_lines,
    _list_field,
    _match_expression,
    _query_text,
    _split_header,
    _text_field,
    _windows,
)

# --- design parameters ---
TOP_K = 12  # best-matching turns per read (the MAX_CHARS cap applies on top)
CONTEXT_TURNS = 1  # neighbouring turns shown on each side of a hit
TOKENIZER = "porter unicode61"  # FTS5 tokenizer (porter = English stemming)
MIN_TERM_LEN = 2  # shorter query words are ignored
MAX_CHARS = 3000  # read() budget (hard cap 3000)
# --- end design parameters ---

TOOLKIT_LLM_CALLS = {"write": 0, "read": 0}

INSTRUCTION_KNOWLEDGE_ITEM = (
    "Write a one-sentence summary of the episode. The raw turns themselves are indexed."
)
INSTRUCTION_QUERY = (
    "Copy the question verbatim into 'question'. In 'keywords' add words a matching "
    "dialogue turn would literally contain: names, objects, synonyms and word variants."
)
INSTRUCTION_RESPONSE = (
    "Answer with a short phrase taken from the memory (names, dates, numbers), not a full "
    "sentence. Each block starts with its session date: resolve relative dates ('yesterday', "
    "'last Saturday') against it. If the memory does not contain the answer, answer "
    "'not mentioned'."
)
ALWAYS_ON_KNOWLEDGE = ""



@dataclass
class KnowledgeItem:
    summary: str = _text_field("one-sentence summary (unused)")


@dataclass
class Query:
    question: str = _text_field("the question, verbatim")
    keywords: list[str] = _list_field("words a matching turn would contain (names, synonyms)")


class KnowledgeBase:
    """Turn-level FTS5 index."""

    def __init__(self, toolkit):
        self.toolkit = toolkit
        self.db = toolkit.db
        self.db.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS bm25_turns USING fts5("
            f"body, episode UNINDEXED, pos UNINDEXED, tokenize='{TOKENIZER}')")
        self.db.execute("CREATE TABLE IF NOT EXISTS bm25_lines("
                        "episode INTEGER, pos INTEGER, body TEXT, PRIMARY KEY(episode, pos))")
        self.db.execute("CREATE TABLE IF NOT EXISTS bm25_episodes("
                        "episode INTEGER PRIMARY KEY, header TEXT)")
        self.db.commit()
        self.episodes = 0

    def write(self, item: KnowledgeItem, raw_text: str) -> None:
        lines = _episode_lines(raw_text)
        if not lines:
            return
        header, lines = _split_header(lines)
        episode = self.episodes
        self.episodes += 1
        rows = [(episode, pos, body) for pos, body in enumerate(lines)]
        self.db.execute("INSERT INTO bm25_episodes VALUES (?, ?)", (episode, header))
        self.db.executemany("INSERT INTO bm25_lines VALUES (?, ?, ?)", rows)
        self.db.executemany("INSERT INTO bm25_turns(episode, pos, body) VALUES (?, ?, ?)", rows)
        self.db.commit()

    def read(self, query: Query) -> str:
        expression = _match_expression(
            _query_text(query), _STOP, MIN_TERM_LEN)
        if not expression:
            return ""
        hits = self.db.execute(
            "SELECT episode, pos FROM bm25_turns WHERE bm25_turns MATCH ? "
            "ORDER BY bm25(bm25_turns) LIMIT ?", (expression, TOP_K)).fetchall()
        order, keep = _windows(hits, CONTEXT_TURNS)
        blocks, used = [], 0
        for episode in order:
            header_row = self.db.execute(
                "SELECT header FROM bm25_episodes WHERE episode = ?", (episode,)).fetchone()
            rows = self.db.execute(
                "SELECT pos, body FROM bm25_lines WHERE episode = ? AND pos BETWEEN ? AND ? "
                "ORDER BY pos", (episode, min(keep[episode]), max(keep[episode]))).fetchall()
            body = [text for pos, text in rows if int(pos) in keep[episode]]
            header = header_row[0] if header_row and header_row[0] else ""
            block = "\n".join(([header] if header else []) + body)
            room = MAX_CHARS - used - (2 if blocks else 0)
            if room <= len(header) + 20:
                break
            blocks.append(block[:room])
            used += len(blocks[-1]) + (2 if len(blocks) > 1 else 0)
        return "\n\n".join(blocks)[:MAX_CHARS]
