"""Full context: keeps every raw episode and returns the most recent ones that fit the budget.

Paper: M* baseline (Every Task Deserves Its Own Memory Harness), arXiv:2604.11811 (2026)

Design: the "full context" / long-context baseline (LoCoMo, LongMemEval, M*): no indexing, the
agent simply sees the transcript. Under M*'s 3000-character read cap it becomes a recency
window: the newest episodes that fit, oldest first and newest LAST, as a transcript reads.

Stores: the raw text of every episode, in arrival order (a Python list; reads never mutate it).
Write: appends the raw text (the KnowledgeItem is not needed). Read: walks back from the newest
episode while the total stays within MAX_CHARS; if even the newest alone is too long, keeps its
first line (the date header) and its last lines.

Strengths: exact wording, dates and speaker turns are kept; perfect for questions about the
latest episode; zero LLM cost. Weaknesses: anything older than the last few episodes is
invisible, so long histories (many sessions) score poorly; the query is ignored.

Toolkit LLM calls: 0 per write, 0 per read.
"""

from dataclasses import dataclass

from ._shared import _text_field

# --- design parameters ---
MAX_CHARS = 3000  # read() budget (hard cap of the harness is 3000)
SEPARATOR = "\n\n"  # between episodes
KEEP_HEADER_WHEN_CLIPPED = True  # keep the date line of an episode that must be clipped
# --- end design parameters ---

TOOLKIT_LLM_CALLS = {"write": 0, "read": 0}

INSTRUCTION_KNOWLEDGE_ITEM = (
    "Write a one-sentence summary of the episode. The raw episode text itself is stored."
)
INSTRUCTION_QUERY = "Copy the question verbatim into the 'question' field."
INSTRUCTION_RESPONSE = (
    "Answer with a short phrase taken from the memory (names, dates, numbers), not a full "
    "sentence. Resolve relative dates ('yesterday', 'last Saturday') against the date of the "
    "session they were said in. If the memory does not contain the answer, answer "
    "'not mentioned'."
)
ALWAYS_ON_KNOWLEDGE = "The memory below is the most recent part of the history, oldest first."


@dataclass
class KnowledgeItem:
    summary: str = _text_field("one-sentence summary (unused)")


@dataclass
class Query:
    question: str = _text_field("the question, verbatim")


def _clip_episode(text: str, budget: int) -> str:
    """The date header plus as many final lines as fit in ``budget`` characters."""
    lines = text.split("\n")
    head = lines[0] if KEEP_HEADER_WHEN_CLIPPED and lines else ""
    room = budget - (len(head) + 1 if head else 0)
    tail: list[str] = []
    for line in reversed(lines[1:] if head else lines):
        if len(line) + 1 > room:
            break
        tail.append(line)
        room -= len(line) + 1
    kept = ([head] if head else []) + list(reversed(tail))
    return "\n".join(kept)[:budget]


class KnowledgeBase:
    """A list of raw episodes; read returns a recency window."""

    def __init__(self, toolkit):
        self.toolkit = toolkit
        self.episodes: list[str] = []

    def write(self, item: KnowledgeItem, raw_text: str) -> None:
        text = (raw_text or "").strip()
        if text:
            self.episodes.append(text)

    def read(self, query: Query) -> str:
        picked: list[str] = []
        used = 0
        # Newest first, without copying the list: a read touches only the episodes it shows
        # (plus the one that did not fit), so its cost does not grow with the history.
        for text in reversed(self.episodes):
            cost = len(text) + (len(SEPARATOR) if picked else 0)
            if used + cost <= MAX_CHARS:
                picked.append(text)
                used += cost
                continue
            if not picked:  # the newest episode alone is too long: keep its end
                picked.append(_clip_episode(text, MAX_CHARS))
            break
        return SEPARATOR.join(reversed(picked))[:MAX_CHARS]
