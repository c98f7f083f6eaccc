"""Typed, frozen records of what a campaign writes into its lineage database.

``LineageStore.add_program`` takes a ``NewProgram``, ``add_evaluation`` a ``NewEvaluation``
(with its ``NewItem``s and model calls) and ``add_calls`` model calls. A write record names
exactly the columns it fills (docs/lineage.md); the database adds the rest (ids, timestamps).
An evaluation comes back from an executor as one ``NewEvaluation`` (plain picklable data, so
worker processes, Dask and Ray can send it) and is read back as an ``EvaluationRecord``.

Model calls are ``evolve.llm.base.CallRecord``s; the store reads them through the
``LoggedCall`` protocol below, because ``lineage`` sits beside ``llm`` in the layering and
imports nothing from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


class LoggedCall(Protocol):
    """One model call as the ``llm_calls`` table stores it (``evolve.llm.base.CallRecord``)."""

    @property
    def role(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def tokens_in(self) -> int: ...
    @property
    def tokens_out(self) -> int: ...
    @property
    def cost_usd(self) -> float: ...
    @property
    def latency_s(self) -> float: ...
    @property
    def cached(self) -> bool: ...
    @property
    def error(self) -> str | None: ...
    @property
    def retries(self) -> int: ...
    @property
    def retry_errors(self) -> str | None: ...
    @property
    def truncated(self) -> bool: ...


@dataclass(frozen=True)
class NewProgram:
    """A program to store once (``id`` is the sha256 of ``source``, ``program.identity``).
    ``origin``: seed | mutation | crossover | repair; ``gate_status`` starts ``pending``
    (``LineageStore.set_gate`` records the outcome)."""

    id: str
    campaign_id: str
    source: str
    name: str | None = None
    parent_ids: tuple[str, ...] = ()
    generation: int = 0
    iteration: int = 0
    origin: str = "seed"
    mutator: str | None = None
    commit_message: str | None = None
    gate_status: str = "pending"
    gate_stage: str | None = None
    gate_message: str | None = None
    design: dict[str, Any] | None = None


@dataclass(frozen=True)
class NewItem:
    """One evaluated item: the columns of ``item_results`` and the item's whole trace (the
    ``trace`` column, a JSON object that also holds the other fields)."""

    item_id: str | None
    group_id: str | None
    category: str | None
    question: str | None
    gold: str | None
    answer: str | None
    retrieved: str | None
    score: float | None
    error: str | None
    trace: dict[str, Any]

    @classmethod
    def from_trace(cls, trace: Mapping[str, Any]) -> NewItem:
        """The item of an ``ItemTrace.to_dict()``-shaped trace (missing keys: None)."""
        return cls(item_id=trace.get("item_id"), group_id=trace.get("group_id"),
                   category=trace.get("category"), question=trace.get("question"),
                   gold=trace.get("gold"), answer=trace.get("answer"),
                   retrieved=trace.get("retrieved"), score=trace.get("score"),
                   error=trace.get("error"), trace=dict(trace))


@dataclass(frozen=True)
class NewEvaluation:
    """One finished evaluation of a program on a subset, as an executor returns it: the
    ``evaluations`` columns (``status``: ok | gate_failed | runtime_violation | error; a
    runtime violation has score 0), its items and the model calls it made."""

    status: str
    score: float = 0.0
    per_category: dict[str, float] | None = None
    n_items: int = 0
    error: str | None = None
    gate_stage: str | None = None
    sandbox_mode: str | None = None
    llm_calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    tokens_per_query: float = 0.0
    calls_per_query: float = 0.0
    duration_s: float = 0.0
    write_example: dict[str, Any] | None = None  # {"raw_text", "item"} of one episode
    failed_items: int = 0
    skipped_episodes: int = 0
    extraction_failures: int = 0
    query_fallbacks: int = 0
    coercions: int = 0
    episode_notes: tuple[dict[str, Any], ...] = ()
    items: tuple[NewItem, ...] = ()
    calls: tuple[LoggedCall, ...] = ()
