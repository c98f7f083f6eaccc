"""Evaluations requested one at a time, each started as soon as it is requested.

``CampaignEvaluator.iter_many`` and ``evaluate_many`` are a feed given a whole list at once. A
round of children does not have its list at once: each child's program arrives when its
proposal is in, and the proposals finish at different times. An ``EvaluationFeed`` takes the
requests as they come and, on an executor with ``submit`` (threads, Dask, Ray), starts each one
at once, so a child's evaluation runs while later proposals are still out instead of after the
slowest. Executors without ``submit`` (loky processes, or a user's executor with ``map`` only)
run the requests together when ``results`` or ``stored`` is called.

Contract: an evaluation already stored is not run again; the same program on the same subset
twice runs once; results are stored on the caller's thread (the database's only writer) in the
order of first request, whatever order they finished in. So the database does not depend on
which evaluation finished first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Protocol

from ..lineage.records import EvaluationRecord
from ..lineage.writes import NewEvaluation
from .executors import EvalJob, Executor

__all__ = ["EvaluationFeed", "FeedEvaluator", "StartedEvaluation"]


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


class StartedEvaluation:
    """One evaluation, found stored or submitted at once (``start``); ``done`` says whether
    its result is in, ``record`` stores it on the caller's thread (once) and returns it.
    The steady schedule holds these per child; a feed holds them in request order."""

    def __init__(self, evaluator: FeedEvaluator, program_id: str, subset: str,
                 future: Future[NewEvaluation] | None = None,
                 stored: EvaluationRecord | None = None) -> None:
        self._evaluator, self.program_id, self.subset = evaluator, program_id, subset
        self.future, self._record = future, stored

    @classmethod
    def start(cls, evaluator: FeedEvaluator, submit: Callable[[EvalJob], Future[NewEvaluation]],
              program_id: str, source: str, subset: str) -> StartedEvaluation:
        """The stored evaluation of ``program_id`` on ``subset``, else one submitted now."""
        stored = evaluator.lookup(program_id, subset)
        if stored is not None:
            return cls(evaluator, program_id, subset, stored=stored)
        return cls(evaluator, program_id, subset,
                   future=submit(evaluator.job(program_id, source, subset)))

    @property
    def stored(self) -> bool:
        """True when the record is in the database (found there, or ``record`` was called)."""
        return self._record is not None

    def done(self) -> bool:
        return self._record is not None or (self.future is not None and self.future.done())

    def record(self) -> EvaluationRecord:
        """The stored record (waits for the evaluation and stores it the first time)."""
        if self._record is None:
            assert self.future is not None
            self._record = self._evaluator.store_result(self.program_id, self.subset,
                                                        self.future.result())
        return self._record


class EvaluationFeed:
    """Requests added one by one (``add``), results stored and returned together (``results``)."""

    def __init__(self, evaluator: FeedEvaluator) -> None:
        self._evaluator = evaluator
        self._submit: Callable[[EvalJob], Future[NewEvaluation]] | None = getattr(
            evaluator.executor, "submit", None)
        self._requests: list[tuple[str, str]] = []          # (program id, subset) per add
        self._found: dict[tuple[str, str], EvaluationRecord] = {}
        self._running: dict[tuple[str, str], StartedEvaluation | EvalJob] = {}

    def add(self, program_id: str, source: str, subset: str) -> None:
        """Request the evaluation of ``program_id`` on ``subset`` (started now if it can be)."""
        key = (program_id, subset)
        self._requests.append(key)
        if key in self._found or key in self._running:
            return
        if self._submit is not None:
            started = StartedEvaluation.start(self._evaluator, self._submit, program_id, source,
                                              subset)
            if started.stored:
                self._found[key] = started.record()
            else:
                self._running[key] = started
            return
        stored = self._evaluator.lookup(program_id, subset)
        if stored is not None:
            self._found[key] = stored
            return
        self._running[key] = self._evaluator.job(program_id, source, subset)

    def results(self) -> list[EvaluationRecord]:
        """Every requested evaluation, in request order, each stored once it is done."""
        return list(self.stored())

    def stored(self) -> Iterator[EvaluationRecord]:
        """``results`` as it goes: each evaluation, in request order, once it and the ones
        before it are done and stored, while later ones still run (iterate to the end)."""
        deferred = [job for job in self._running.values() if isinstance(job, EvalJob)]
        # an executor without submit: the deferred jobs run together now, in first-request
        # order, which is the order their results are taken in below
        late = iter(self._evaluator.executor.map(deferred)) if deferred else iter(())
        for key in self._requests:
            if key not in self._found:
                running = self._running.pop(key)
                self._found[key] = (self._evaluator.store_result(*key, next(late))
                                    if isinstance(running, EvalJob) else running.record())
            yield self._found[key]
