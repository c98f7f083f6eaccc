"""No memory: stores nothing and always returns an empty retrieval (lower-bound baseline).

Paper: M* baseline (Every Task Deserves Its Own Memory Harness), arXiv:2604.11811 (2026)

Design: the "no memory" control of memory-system papers (M*, Mem0, LoCoMo). It shows what the
task agent achieves from the question alone, so every other design can be judged against it.

Stores: nothing. Write: ignores the item and the raw text. Read: returns "".

Strengths: free, instant, never wrong about what it remembers. Weaknesses: cannot answer any
question that needs the past; only "not mentioned" style (adversarial) items can score.

Toolkit LLM calls: 0 per write, 0 per read.
"""

from dataclasses import dataclass

from ._shared import _text_field

# --- design parameters ---
MAX_CHARS = 0  # nothing is ever returned
# --- end design parameters ---

TOOLKIT_LLM_CALLS = {"write": 0, "read": 0}

INSTRUCTION_KNOWLEDGE_ITEM = (
    "Write a one-sentence note about the episode. (This memory design discards it.)"
)
INSTRUCTION_QUERY = "Copy the question verbatim into the 'question' field."
INSTRUCTION_RESPONSE = (
    "Answer with a short phrase. If the retrieved memory does not contain the answer, "
    "answer 'not mentioned'."
)
ALWAYS_ON_KNOWLEDGE = ""


@dataclass
class KnowledgeItem:
    note: str = _text_field("one-sentence note (unused)")


@dataclass
class Query:
    question: str = _text_field("the question, verbatim")


class KnowledgeBase:
    """Remembers nothing."""

    def __init__(self, toolkit):
        self.toolkit = toolkit

    def write(self, item: KnowledgeItem, raw_text: str) -> None:
        return None

    def read(self, query: Query) -> str:
        return ""[:MAX_CHARS]
