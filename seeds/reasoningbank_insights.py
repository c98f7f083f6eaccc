"""ReasoningBank-style insights: distilled (title, description, content) items, retrieved by similarity.

Paper: ReasoningBank (Ouyang et al.), arXiv:2509.25140 (2025)

Design: ReasoningBank (Ouyang et al. 2025): after every episode, distil reusable memory items,
each with a title, a one-line description and content (insights, strategies, pitfalls), from
successes AND failures; at a new task, retrieve the most similar items by embedding and inject
them. Outcomes (when the online protocol calls observe) label items as coming from a success
or a failure, which changes how they are ranked and presented.

Stores: one memory item per episode (title, description, session date, status) in a Python
dict, and each content entry as its own row in a toolkit.chroma collection (cosine space)
carrying its item id, so a single relevant insight can surface its item.
Write: copies item.title / item.description / item.insights (the item's content; entries
holding several lines are split; falls back to the most informative raw lines); 0 LLM calls
(the task agent does the distillation).
observe(outcome): marks the items written since the previous observe as success or failure
(from outcome["success"], or outcome["score"] / outcome["reward"] >= SUCCESS_THRESHOLD).
Read: the CANDIDATES nearest content rows; items scored by their best row's similarity (plus
SUCCESS_BONUS for proven items); the TOP_ITEMS best items are shown as "## title (date)",
description and up to POINTS_PER_ITEM of their most relevant entries; failure items are
labelled as pitfalls.

Strengths: compact transferable insights; works for dialog facts and for embodied strategies;
learns from failures. Weaknesses: relies on the quality of the distillation; item-level
grouping spends budget on weakly relevant neighbours; no notion of changed facts.

Toolkit LLM calls: 0 per write, 0 per read.
"""

import re
from dataclasses import dataclass

from ._shared import (
    _HEADER,
    Query,
    _cosine_collection,
    _episode_lines,
    _list_field,
    _query_text,
    _session_date,
    _succeeded,
    _text_field,
)

# --- design parameters ---
CANDIDATES = 40  # content rows retrieved before grouping into items
TOP_ITEMS = 5  # memory items shown per read
POINTS_PER_ITEM = 5  # content entries shown per item
SUCCESS_THRESHOLD = 0.5  # score at or above which an observed outcome is a success
SUCCESS_BONUS = 0.05  # similarity bonus for items from successful episodes
FALLBACK_POINTS = 6  # raw lines used as content when the agent extracted none
MAX_POINT_CHARS = 300  # one content entry is clipped to this length
MAX_TITLE_CHARS = 80  # titles are clipped to this length
MAX_CHARS = 3000  # read() budget (hard cap 3000)
# --- end design parameters ---

TOOLKIT_LLM_CALLS = {"write": 0, "read": 0}

INSTRUCTION_KNOWLEDGE_ITEM = (
    "Distil one reusable memory item from the episode. 'title': a few words naming what it is "
    "about; 'description': one sentence saying when it is useful; 'insights': the content, "
    "one per entry: concrete facts (who, what, when, with full names and time expressions as "
    "said), strategies that worked, and pitfalls to avoid."
)
INSTRUCTION_QUERY = (
    "Copy the question or task verbatim into 'question'. In 'keywords' list the people, "
    "objects and topics it is about."
)
INSTRUCTION_RESPONSE = (
    "Answer with a short phrase (names, dates, numbers), not a full sentence. Memory items "
    "carry their session date: resolve relative dates against it. Items marked as pitfalls "
    "come from failed attempts. If the memory does not contain the answer, answer "
    "'not mentioned'."
)
ALWAYS_ON_KNOWLEDGE = ""

_WORD = re.compile(r"[A-Za-z0-9]+")


@dataclass
class KnowledgeItem:
    title: str = _text_field("a few words naming the item")
    description: str = _text_field("one sentence: when this item is useful")
    insights: list[str] = _list_field("insights: facts, strategies, pitfalls, one per entry")


def _clean(text: object, limit: int) -> str:
    """The first non-empty line of ``text``, whitespace-normalised and clipped."""
    lines = [ln for ln in str(text or "").split("\n") if ln.strip()]
    value = " ".join(lines[0].split())[:limit] if lines else ""
    return "" if value.lower() in {"filler", "none", "n/a"} else value


def _entries(values: object) -> list[str]:
    """One entry per line: an entry holding several lines becomes several entries."""
    out = []
    for value in values or []:
        for line in str(value).split("\n"):
            text = _clean(line, MAX_POINT_CHARS).lstrip("-* ").strip()
            if text and text not in out:
                out.append(text)
    return out


class KnowledgeBase:
    """Memory items with per-insight embeddings."""

    def __init__(self, toolkit):
        self.toolkit = toolkit
        self.points = _cosine_collection(toolkit, "rb_points")
        self.items: dict[str, dict] = {}
        self.pending: list[str] = []

    def write(self, item: KnowledgeItem, raw_text: str) -> None:
        lines = _episode_lines(raw_text)
        body = [ln for ln in lines if not _HEADER.match(ln)]
        content = _entries(item.insights)
        if not content:
            ranked = sorted(body, key=lambda ln: -len(set(_WORD.findall(ln.lower()))))
            keep = set(ranked[:FALLBACK_POINTS])
            content = [ln[:MAX_POINT_CHARS] for ln in body if ln in keep]
        if not content:
            return
        item_id = f"i{len(self.items)}"
        title = _clean(item.title, MAX_TITLE_CHARS) or (body[0][:MAX_TITLE_CHARS] if body else
                                                        "episode")
        description = _clean(item.description, 200)
        self.items[item_id] = {
            "title": title,
            "description": description if description != title else "",
            "date": _session_date(lines),
            "status": "unknown",
            "content": content,
        }
        self.pending.append(item_id)
        self.points.add(
            ids=[f"{item_id}-{k}" for k in range(len(content))],
            documents=[f"{title}: {c}" for c in content],
            metadatas=[{"item": item_id, "k": k} for k in range(len(content))])

    def observe(self, outcome: dict) -> None:
        """Label the items written since the last observe with the episode's outcome."""
        success = _succeeded(outcome, SUCCESS_THRESHOLD)
        if success is None or not self.pending:
            return
        for item_id in self.pending:
            self.items[item_id]["status"] = "success" if success else "failure"
        self.pending = []

    def read(self, query: Query) -> str:
        text = _query_text(query)
        if not text or self.points.count() == 0:
            return ""
        found = self.points.query(query_texts=[text], n_results=CANDIDATES)
        best: dict[str, float] = {}
        ranked_points: dict[str, list[int]] = {}
        for meta, dist in zip(found["metadatas"][0], found["distances"][0], strict=True):
            item_id, k = meta["item"], int(meta["k"])
            sim = 1.0 - float(dist)
            if item_id not in best:
                status = self.items[item_id]["status"]
                best[item_id] = sim + (SUCCESS_BONUS if status == "success" else 0.0)
                ranked_points[item_id] = []
            ranked_points[item_id].append(k)
        order = sorted(best, key=lambda i: (-best[i], i))[:TOP_ITEMS]
        blocks, used = [], 0
        for item_id in order:
            info = self.items[item_id]
            label = " [pitfall: from a failed attempt]" if info["status"] == "failure" else ""
            head = f"## {info['title']}" + (f" ({info['date']})" if info["date"] else "") + label
            lines = [head] + ([info["description"]] if info["description"] else [])
            picks = sorted(ranked_points[item_id][:POINTS_PER_ITEM])
            lines += [f"- {info['content'][k]}" for k in picks]
            block = "\n".join(lines)
            room = MAX_CHARS - used - (2 if blocks else 0)
            if room < 80:
                break
            blocks.append(block[:room])
            used += len(blocks[-1]) + (2 if len(blocks) > 1 else 0)
        return "\n\n".join(blocks)[:MAX_CHARS]
