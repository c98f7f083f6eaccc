"""Evaluations of a campaign: run once, store atomically, never run twice.

Every evaluation is keyed by (program id, subset key). Before running, the store is asked;
after running, the result, its item traces and its LLM calls are written in one transaction.
That is what makes resume exact: a replayed step finds its evaluations and does not pay again.
Several evaluations can run at once through an executor (threads, processes, Dask, Ray); their
results are stored in request order, whatever order they finished in.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..config.sections import ModelsSection
from ..lineage import LineageStore
from ..lineage.records import EvaluationRecord, find_evaluation, read_evaluation
from ..lineage.writes import NewEvaluation
from .evaluate import EvalSettings
from .executors import EvalJob, Executor
from .feed import EvaluationFeed
from .records import subset_key
from .subset_task import SubsetTask


class CampaignEvaluator:
    """Runs evaluations of the campaign's fixed subsets through the store."""

    def __init__(self, store: LineageStore, campaign_id: str, task: SubsetTask,
                 settings: EvalSettings, subset_items: dict[str, list[str]],
                 executor: Executor, task_spec: tuple[str, dict[str, str]],
                 models: ModelsSection, *, task_object: Any = None,
                 model_objects: dict[str, Any] | None = None) -> None:
        self.store = store
        self.campaign_id = campaign_id
        self.task = task
        self.settings = settings
        self.subset_items = subset_items
        self.executor = executor
        self._task_name, task_args = task_spec
        self._task_args = tuple(sorted((str(k), str(v)) for k, v in task_args.items()))
        self._models = models
        self._objects = {"task_object": task_object, "model_objects": dict(model_objects or {})}

    def key(self, subset: str) -> str:
        return subset_key(subset, self.subset_items[subset])

    def lookup(self, program_id: str, subset: str) -> EvaluationRecord | None:
        """The stored evaluation of ``program_id`` on ``subset`` (None: not run yet)."""
        return find_evaluation(self.store, program_id, subset.split(":")[0], self.key(subset))

    def evaluate(self, program_id: str, source: str, subset: str) -> EvaluationRecord:
        """The evaluation of ``program_id`` on ``subset``, running it only if not stored."""
        return self.evaluate_many([(program_id, source, subset)])[0]

    def evaluate_many(self, requests: list[tuple[str, str, str]]) -> list[EvaluationRecord]:
        """Evaluations for (program id, source, subset) requests; missing ones run at once."""
        return list(self.iter_many(requests))

    def iter_many(self, requests: list[tuple[str, str, str]]) -> Iterator[EvaluationRecord]:
        """``evaluate_many`` as it goes: each evaluation, in request order, once it is stored.

        Missing evaluations start together; each is stored (on the calling thread, the
        database's only writer) as soon as it and the ones before it are done, while later
        ones still run. The same program on the same subset twice runs once.
        """
        feed = self.feed()
        for program_id, source, subset in requests:
            feed.add(program_id, source, subset)
        return feed.stored()

    def feed(self) -> EvaluationFeed:
        """Evaluations requested one at a time, each started at once where the executor can
        (``evolve.evaluation.feed``)."""
        return EvaluationFeed(self)

    def job(self, program_id: str, source: str, subset: str) -> EvalJob:
        """The executor's job for one evaluation."""
        return EvalJob(program_id=program_id, source=source, subset=subset,
                       groups=tuple(self.task.groups(subset)), task_name=self._task_name,
                       task_args=self._task_args, settings=self.settings, models=self._models,
                       **self._objects)

    def store_result(self, program_id: str, subset: str, result: NewEvaluation
                     ) -> EvaluationRecord:
        """Store one finished evaluation (on the campaign thread) and read it back."""
        evaluation_id = self.store.add_evaluation(
            self.campaign_id, program_id, subset.split(":")[0], self.key(subset), result)
        # read back: a fresh evaluation looks exactly like one a resumed campaign finds
        record = read_evaluation(self.store, evaluation_id)
        assert record is not None  # written just now, by this (the only) writer
        return record
