"""The meta-agent contract shared by the LLM meta-agent and the offline mutator.

The campaign loop builds a ``ReflectionContext`` for the chosen parent and asks the meta-agent
for a ``Proposal``. Gate failures come back through ``fix`` (compile/smoke, up to N rounds) and
runtime violations through ``repair``. Meta-agents never evaluate programs themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class LineageEntry:
    """One line of the lineage log shown to the meta-agent."""

    program_id: str
    relation: str            # "ancestor" | "parent" | "child" (an already-tried child of the parent)
    score: float | None      # validation score (None: gate failed / not evaluated)
    delta: float | None      # score minus its own parent's score
    commit_message: str
    regression: bool = False  # delta < 0
    duplicate: bool = False   # a child proposal that equalled this existing program (no new row)
    pending: bool = False     # a child proposed but not yet scored (steady schedule: in flight)


@dataclass(frozen=True)
class ProgramSnapshot:
    """A program as the meta-agent sees it."""

    program_id: str
    source: str
    score: float | None
    per_category: dict[str, float] = field(default_factory=dict)
    commit_message: str = ""
    design: dict[str, Any] | None = None  # design parameters of template-rendered programs


@dataclass(frozen=True)
class ReflectionContext:
    """Everything the meta-agent may use to propose a child of ``parent``.

    ``failed_cases`` / ``success_cases`` are item traces (dicts shaped like
    ``evolve.agent.qa_agent.ItemTrace.to_dict()``) from the rotating reflection set, never the
    static validation set. ``write_example`` is {"raw_text", "item"} of one ingested episode.
    """

    parent: ProgramSnapshot
    lineage: tuple[LineageEntry, ...] = ()
    failed_cases: tuple[dict[str, Any], ...] = ()
    success_cases: tuple[dict[str, Any], ...] = ()
    write_example: dict[str, Any] | None = None
    category_names: dict[str, str] = field(default_factory=dict)
    iteration: int = 0
    seed: int = 0                       # per-iteration seed: the same context gives the same child
    freeze_instructions: bool = False   # the child must keep the 4 instruction constants
    freeze_code: bool = False           # the child may only change the instruction constants
    other: ProgramSnapshot | None = None  # second parent for crossover


@dataclass(frozen=True)
class Proposal:
    """A child program proposed by a meta-agent (or ``source is None`` when it gave up)."""

    source: str | None
    commit_message: str
    mutator: str                      # e.g. "llm-patch", "llm-full", "offline:top_k", "crossover"
    origin: str = "mutation"          # "mutation" | "crossover" | "repair"
    design: dict[str, Any] | None = None
    error: str | None = None          # why no usable program came back (patch did not apply ...)
    raw_reply: str = ""


@runtime_checkable
class MetaAgent(Protocol):
    """Proposes children and fixes rejected ones.

    Contract: deterministic for a given context when the underlying model is (the offline
    mutator is); never raises for a bad model reply, but returns a ``Proposal`` with
    ``source=None`` and ``error`` set; ``fix`` and ``repair`` return a full program.
    """

    name: str

    def propose(self, context: ReflectionContext) -> Proposal: ...

    def fix(self, context: ReflectionContext, source: str, stage: str, message: str,
            attempt: int) -> Proposal:
        """Repair a child rejected by a gate (stage: parse|contract|imports|load|smoke)."""
        ...

    def repair(self, context: ReflectionContext, source: str, violation: str) -> Proposal:
        """Repair a child whose evaluation broke a runtime limit (read cap, time, budget)."""
        ...
