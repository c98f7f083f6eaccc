"""The offline model: a deterministic, rule-based stand-in for a chat model.

It exists so that tests, CI and demos run without any endpoint. It is not a language model
and is never presented as one: it recognises the prompts of the fixed task agent by their tags
(``evolve/templates/*.j2``) and answers each with general, documented English text processing
(no word lists of any task's answers; limits in docs/offline-model.md).

Steps, recognised from the last user message:
- extraction (``<schema name="KnowledgeItem">`` + ``<text>``): a JSON object filling every
  schema field from the episode (``fill``: raw text, dated summary, date, speakers,
  keywords, "[date] Speaker: sentence" facts; bool false, numbers 0);
- query (``<schema name="Query">`` + ``<question>``): a JSON object with the question,
  keywords, names, date and a question-type guess (``fill``);
- answer (``<retrieved_memory>`` + ``<question>``): an extractive answer from the retrieved
  text only, or exactly "not mentioned" (``question`` + ``answer`` + ``spans`` over the
  sentence units of ``text``), shaped by the ``<instruction>`` (``instructions``);
- action (``<admissible_actions>``, interactive tasks): one admissible action chosen from the
  goal, the tips and the history (``action``); transcripts of interactive episodes
  ("Your task is to:" and "> action" lines) are extracted by ``action`` too, and a
  Query for an episode is filled from its ``<goal>``;
- anything else: toolkit calls made by programs (extractive summary, JSON fact list, yes/no,
  extractive answer) and rubric judge prompts (``generic``).
Token counts are estimated as characters / 4 so that cost and token logging work; latency is
the real compute time (well under a millisecond for typical prompts).
"""

from __future__ import annotations

import json
import re
import time

from ..base import Completion, Message
from .action import pick_action
from .answer import NOT_MENTIONED, answer_question
from .fill import fill_knowledge_item, fill_query, parse_schema
from .generic import generic_reply
from .transcript import fill_transcript_item, is_transcript

__all__ = ["OfflineModel", "NOT_MENTIONED"]


def _between(text: str, start: str, end: str) -> str | None:
    i = text.find(start)
    if i < 0:
        return None
    i += len(start)
    j = text.find(end, i)
    return text[i:j if j >= 0 else len(text)]


def _strip_newline(text: str) -> str:
    """Template tags put the value on its own lines; drop exactly those line breaks."""
    return re.sub(r"^\n|\n$", "", text)


def estimate_tokens(text: str) -> int:
    """Rough token count (characters / 4, at least 1 for non-empty text)."""
    return max(1, len(text) // 4) if text else 0


class OfflineModel:
    """Deterministic offline stand-in implementing ``evolve.llm.base.ChatModel``."""

    name = "offline"

    def complete(self, messages: list[Message], *, json_mode: bool = False,
                 temperature: float = 0.0, max_tokens: int | None = None) -> Completion:
        """Reply to ``messages``; ``temperature`` is ignored (always deterministic)."""
        started = time.perf_counter()
        text = self.reply(messages, json_mode=json_mode)
        if max_tokens is not None and max_tokens > 0:
            text = text[: max_tokens * 4]
        tokens_in = sum(estimate_tokens(str(m.get("content") or "")) for m in messages)
        return Completion(text=text, tokens_in=tokens_in, tokens_out=estimate_tokens(text),
                          latency_s=time.perf_counter() - started)

    def reply(self, messages: list[Message], *, json_mode: bool = False) -> str:
        """The reply text alone (what ``complete`` wraps)."""
        last = next((str(m.get("content") or "") for m in reversed(messages)
                     if m.get("role") == "user"), "")
        if "<admissible_actions>" in last:
            return pick_action(last)
        if "<retrieved_memory>" in last:
            memory = _strip_newline(_between(last, "<retrieved_memory>", "</retrieved_memory>")
                                    or "")
            question = (_between(last, "<question>", "</question>") or "").strip()
            instruction = _between(last, "<instruction>", "</instruction>")
            return answer_question(question, memory, instruction)
        schema = _between(last, "<schema", "</schema>")
        if schema is not None:
            header, _, body = schema.partition(">")
            fields = parse_schema(body)
            if "KnowledgeItem" in header and "<text>" in last:
                raw = _strip_newline(_between(last, "<text>", "</text>") or "")
                if is_transcript(raw):
                    return json.dumps(fill_transcript_item(fields, raw))
                return json.dumps(fill_knowledge_item(
                    fields, raw, _between(last, "<instruction>", "</instruction>")))
            if "Query" in header and ("<question>" in last or "<goal>" in last):
                tag = "question" if "<question>" in last else "goal"
                question = (_between(last, f"<{tag}>", f"</{tag}>") or "").strip()
                return json.dumps(fill_query(
                    fields, question, _between(last, "<instruction>", "</instruction>")))
        return generic_reply(messages, json_mode=json_mode)
