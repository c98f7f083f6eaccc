"""The task plugin contract.

A task supplies *groups*: independent memories to build. Each group has episodes (raw text
written into a fresh KnowledgeBase in order) and evaluation items (questions asked against
that KnowledgeBase). LoCoMo has one group per conversation; the synthetic dialog task too.

Gold answers and evidence stay on the trusted side: only ``Episode.text`` and questions ever
reach the sandbox (questions indirectly, through the task agent's Query).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeGuard, runtime_checkable

AgentMode = Literal["qa", "interactive"]
Split = Literal["train", "val", "test", "all"]


@dataclass(frozen=True)
class Episode:
    """One unit of experience to remember (LoCoMo: one session rendered as text)."""

    id: str
    text: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EvalItem:
    """One question with its gold answer.

    ``category`` is a string key (LoCoMo: "1".."5"); ``evidence`` holds the gold evidence
    rendered as text (used only by ``--oracle`` and for inspection, never sent to programs).
    """

    id: str
    question: str
    gold: str
    category: str
    evidence: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScoreResult:
    """Score in [0, 1] for one answer, and a short human-readable rationale."""

    score: float
    rationale: str = ""


@dataclass(frozen=True)
class Group:
    """Episodes that form one memory, and the items asked against it."""

    id: str
    episodes: tuple[Episode, ...]
    items: tuple[EvalItem, ...]


@dataclass(frozen=True)
class TaskArg:
    """A documented task argument (shown by ``evolve tasks``)."""

    name: str
    help: str
    default: str | None = None
    choices: tuple[str, ...] = ()


class Judge(Protocol):
    """An LLM judge handed to tasks that set ``needs_judge = True``.

    ``judge(messages, json_mode=False) -> str`` makes one call to the campaign's judge model
    (offline: the deterministic stand-in); tasks then score with
    ``score(item, answer, judge=judge)``.
    """

    def __call__(self, messages: list[dict[str, str]], json_mode: bool = False) -> str: ...


@runtime_checkable
class Task(Protocol):
    """What every benchmark provides.

    Contract:
    - ``groups(split)`` is deterministic for the task's arguments (same seed, same data);
      items of different splits never overlap; each returned group keeps only the items of
      the requested split but all of its episodes.
    - ``score(item, answer)`` is pure: the same inputs give the same result.
    - ``category_names`` maps category keys to human names for reports.
    """

    name: str
    mode: AgentMode
    category_names: dict[str, str]

    def groups(self, split: Split) -> list[Group]: ...

    def score(self, item: EvalItem, answer: str) -> ScoreResult: ...

    def describe(self) -> dict[str, Any]:
        """Task name, arguments in force and data provenance, for records."""
        ...


class JudgedTask(Task, Protocol):
    """A task scored with an LLM judge: it sets ``needs_judge = True`` and its ``score``
    takes the judge (None scores without one, where the task can)."""

    needs_judge: bool

    def score(self, item: EvalItem, answer: str, judge: Judge | None = None) -> ScoreResult: ...


def needs_judge(task: Task) -> TypeGuard[JudgedTask]:
    """True when ``task`` declares ``needs_judge = True`` (a missing attribute means no)."""
    return bool(getattr(task, "needs_judge", False))
