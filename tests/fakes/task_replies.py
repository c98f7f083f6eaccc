"""A responder for ``FakeOpenAIServer`` that plays the task agent's model.

Every task prompt (extraction, query, answer, judge, action) is answered as the offline model
answers it, so an evaluation over HTTP scores like an offline one; ``rules`` replace the reply
for chosen prompts: a scripted text (nested JSON, fences, prose, echoed placeholders) or a
``Fault`` (HTTP 400 on one prompt, a 500 on every attempt of one call). Each rule is
``(step, needle, reply)``: ``step`` is ``"extract"``, ``"query"``, ``"answer"`` or ``"any"``,
and the rule fires when ``needle`` occurs in the prompt's last user message.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from evolve.llm.offline import OfflineModel

from .openai_server import Fault


def prompt_step(text: str) -> str:
    """Which step of the task agent a last user message belongs to."""
    if '<schema name="KnowledgeItem">' in text:
        return "extract"
    if '<schema name="Query">' in text:
        return "query"
    if "<retrieved_memory>" in text:
        return "answer"
    return "other"


class TaskReplies:
    """Offline-model answers with scripted exceptions; counts requests per step."""

    def __init__(self, rules: list[tuple[str, str, str | Fault]] | None = None) -> None:
        self.rules = list(rules or [])
        self.offline = OfflineModel()
        self.counts: Counter[str] = Counter()
        self.fired: Counter[int] = Counter()  # rule index -> times it replaced a reply
        self._lock = threading.Lock()

    def __call__(self, request: dict[str, Any]) -> str | Fault:
        messages = request["messages"]
        last = next((str(m.get("content") or "") for m in reversed(messages)
                     if m.get("role") == "user"), "")
        step = prompt_step(last)
        with self._lock:
            self.counts[step] += 1
        for index, (rule_step, needle, reply) in enumerate(self.rules):
            if rule_step in (step, "any") and needle in last:
                with self._lock:
                    self.fired[index] += 1
                return reply
        json_mode = (request.get("response_format") or {}).get("type") == "json_object"
        return self.offline.complete(messages, json_mode=json_mode).text


def rejected(code: str = "context_length_exceeded") -> Fault:
    """HTTP 400 as llama.cpp sends it for a prompt longer than its window."""
    return Fault("status", status=400, code=code)
