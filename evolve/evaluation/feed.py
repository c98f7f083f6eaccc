"""Evaluations requested one at a time, each started as soon as it is requested.

``CampaignEvaluator.iter_many`` starts a list of evaluations together. A round of children does
not have its list at once: each child's program arrives when its proposal is in, and the
proposals finish at different times. An ``EvaluationFeed`` takes the requests as they come
and, on an executor with ``submit`` (threads, Dask, Ray), starts each one at once, so a
child's evaluation runs while later proposals are still out instead of after the slowest.
Executors without ``submit`` (loky processes, or a user's executor with ``map`` only) run the
requests together when ``results`` is called, as ``iter_many`` would.

Contract (the same as ``iter_many``'s): an evaluation already stored is not run again; the
same program on the same subset twice runs once; results are stored on the caller's thread
(the database's only writer) in the order of first request, whatever order they finished
in. So the database does not depend on which evaluation finished first.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol

from ..lineage.records import EvaluationRecord
from ..lineage.writes import NewEvaluation
from .executors import EvalJob, Executor

__all__ = ["EvaluationFeed", "FeedEvaluator"]


class FeedEvaluator(Protocol):
    """What a feed needs of its evaluator (``CampaignEvaluator`` is one)."""

    executor: Executor

    def lookup(self, program_id: str, subset: str) -> EvaluationRecord | None:
        """The stored evaluation, or None when it has not run yet."""

    def job(self, program_id: str, source: str, subset: str) -> EvalJob:
        """The executor's job for one evaluation."""

    def store_result(self, program_id: str, subset: str, result: NewEvaluation
                     ) -> EvaluationRecord:
        """Store one finished evaluation (on the caller's thread) and return its record."""


class EvaluationFeed:
    """Requests added one by one (``add``), results stored and returned together (``results``)."""

    def __init__(self, evaluator: FeedEvaluator) -> None:
        self._evaluator = evaluator
        self._submit: Callable[[EvalJob], Future[NewEvaluation]] | None = getattr(
            evaluator.executor, "submit", None)
        self._requests: list[tuple[str, str]] = []          # (program id, subset) per add
        self._found: dict[tuple[str, str], EvaluationRecord] = {}
        self._running: dict[tuple[str, str], Future[NewEvaluation] | EvalJob] = {}

    def add(self, program_id: str, source: str, subset: str) -> None:
        """Request the evaluation of ``program_id`` on ``subset`` (started now if it can be)."""
        key = (program_id, subset)
        self._requests.append(key)
        if key in self._found or key in self._running:
            return
        stored = self._evaluator.lookup(program_id, subset)
        if stored is not None:
            self._found[key] = stored
            return
        job = self._evaluator.job(program_id, source, subset)
        self._running[key] = self._submit(job) if self._submit is not None else job

    def results(self) -> list[EvaluationRecord]:
        """Every requested evaluation, in request order, each stored once it is done."""
        deferred = [(key, job) for key, job in self._running.items()
                    if isinstance(job, EvalJob)]
        late: dict[tuple[str, str], Any] = {}
        if deferred:  # an executor without submit: run them together now
            late = dict(zip([key for key, _ in deferred],
                            self._evaluator.executor.map([job for _, job in deferred]),
                            strict=True))
        for key, running in self._running.items():  # first-request order: dicts keep it
            outcome = late[key] if key in late else running.result()  # type: ignore[union-attr]
            self._found[key] = self._evaluator.store_result(*key, outcome)
        self._running.clear()
        return [self._found[key] for key in self._requests]
