"""The fixed task agent in QA mode (docs/architecture.md, "One evaluation").

It never sees gold answers. For each episode it asks the task model to fill the program's
KnowledgeItem; for each question it asks for a Query, hands it to the program's ``read`` (done
by the caller, inside the sandbox) and asks for an answer given the retrieved memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import EndpointError
from ..eval_failures import is_local_failure
from ..llm.base import Completion, Message
from . import prompts
from .coerce import ReplyParseError, coerce_reply, fallback_values


class ChatHub(Protocol):
    """The part of ``evolve.llm.hub.ModelHub`` the agent uses."""

    def chat(self, role: str, messages: list[Message], *,
             json_mode: bool = False) -> Completion: ...


class ProgramView(Protocol):
    """What the agent needs to know about a loaded program (``evolve.jail.ProgramInfo``)."""

    # read-only: the agent never changes them (``ProgramInfo`` is a frozen dataclass)
    @property
    def constants(self) -> dict[str, str]: ...

    @property
    def item_fields(self) -> list[dict[str, Any]]: ...

    @property
    def query_fields(self) -> list[dict[str, Any]]: ...


@dataclass
class Extraction:
    """Result of the ingest step for one episode."""

    item: dict[str, Any] | None
    messages: list[Message]
    reply: str = ""
    error: str | None = None
    call_failed: bool = False  # ``error`` is a model call that failed for good
    notes: list[str] = field(default_factory=list)  # coercions of the reply (see coerce.py)


@dataclass
class QueryStep:
    """Result of the query step for one question."""

    query: dict[str, Any]
    messages: list[Message]
    reply: str
    error: str | None = None
    failure: str | None = None  # the call failed for good: the item fails
    fallback: bool = False      # the reply was unusable: ``query`` holds fallback values
    notes: list[str] = field(default_factory=list)  # coercions of the reply (see coerce.py)


@dataclass
class ItemTrace:
    """Everything that happened for one evaluation item (kept for reflection and inspection)."""

    item_id: str
    group_id: str
    category: str
    question: str
    gold: str
    query: dict[str, Any] = field(default_factory=dict)
    query_reply: str = ""
    retrieved: str = ""
    answer: str = ""
    score: float = 0.0
    rationale: str = ""
    prompts: dict[str, list[Message]] = field(default_factory=dict)
    error: str | None = None
    failure: str | None = None  # a model call failed for good: the item scores 0
    query_fallback: bool = False  # the query reply was unusable and fallback values were used
    coercions: list[str] = field(default_factory=list)  # lossy or guessed reply fixes

    def fail(self, reason: str) -> None:
        """Mark the item failed: score 0, ``reason`` in ``failure`` and ``error``."""
        self.failure, self.score = reason, 0.0
        self.rationale = f"item failed: {reason}"
        self.error = reason if self.error is None else f"{self.error}; {reason}"

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class QAAgent:
    """Prompts the task model for one program; thread-safe (no mutable state)."""

    def __init__(self, hub: ChatHub, program: ProgramView) -> None:
        self._hub = hub
        self._program = program

    def _constant(self, name: str) -> str:
        return str(self._program.constants.get(name, ""))

    def extract(self, raw_text: str) -> Extraction:
        """Episode text -> KnowledgeItem keyword arguments (``item`` is None on a bad reply)."""
        messages = prompts.extraction_messages(
            self._constant("INSTRUCTION_KNOWLEDGE_ITEM"), self._program.item_fields, raw_text)
        try:
            reply = self._hub.chat("task", messages, json_mode=True).text
        except EndpointError as exc:
            if not is_local_failure(exc):
                raise
            return Extraction(None, messages, "", f"extraction call failed: {exc}",
                              call_failed=True)
        try:
            coerced = coerce_reply(reply, self._program.item_fields)
        except ReplyParseError as exc:
            return Extraction(None, messages, reply, f"extraction reply unusable: {exc}")
        return Extraction(coerced.values, messages, reply, notes=coerced.notes)

    def form_query(self, question: str) -> QueryStep:
        """Question -> Query keyword arguments (defaults when the reply is unusable)."""
        messages = prompts.query_messages(
            self._constant("INSTRUCTION_QUERY"), self._program.query_fields, question)
        return self._query_step(messages, self._program.query_fields, question)

    def _query_step(self, messages: list[Message], fields: list[dict[str, Any]],
                    question: str) -> QueryStep:
        """Ask for a Query; a failed call marks the step failed, an unusable reply falls back
        to defaults with ``question`` in the one text field (if the schema has exactly one)."""
        try:
            reply = self._hub.chat("task", messages, json_mode=True).text
        except EndpointError as exc:
            if not is_local_failure(exc):
                raise
            return QueryStep({}, messages, "", failure=f"query call failed: {exc}")
        try:
            coerced = coerce_reply(reply, fields)
        except ReplyParseError as exc:
            fallback = fallback_values(fields, question)
            error = "; ".join([f"query reply unusable: {exc}", *fallback.notes])
            return QueryStep(fallback.values, messages, reply, error, fallback=True)
        return QueryStep(coerced.values, messages, reply, notes=coerced.notes)

    def answer(self, step: QueryStep, retrieved: str, question: str) -> tuple[str, list[Message]]:
        """Retrieved memory -> the final answer text, and the messages that produced it.

        A call that fails for good raises (``EndpointError``): the caller fails the item."""
        messages = prompts.answer_messages(
            step.messages, step.reply,
            always_on=self._constant("ALWAYS_ON_KNOWLEDGE"), retrieved=retrieved,
            instruction=self._constant("INSTRUCTION_RESPONSE"), question=question)
        return self._hub.chat("task", messages).text.strip(), messages
