"""Where a campaign's evaluations run: threads here, worker processes, or a Dask/Ray cluster.

Every executor maps a list of ``EvalJob``s to ``JobResult``s in the same order. Jobs are plain
picklable data (program source, the subset's groups, task name and arguments, model settings),
so a remote worker rebuilds the task and a model hub locally, runs the program in its own local
sandbox, and sends back only data. Results come back lazily in job order: the campaign process,
the only database writer, stores the first result while the others are still running, and the
database still does not depend on which worker finished first.

Worker processes and Dask come through joblib's backends (``loky``, ``dask`` from
``distributed``); Ray through Ray tasks (``evolve.campaign.clusters``: Ray's joblib backend
cannot hand results back lazily).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from ..evaluate import EvalSettings, evaluate_program
from ..registry import Registry
from ..tasks.base import Group
from .config import ModelsSection
from .subset_task import SubsetTask


@dataclass(frozen=True)
class EvalJob:
    """One evaluation to run: everything a worker needs, as picklable data."""

    program_id: str
    source: str
    subset: str
    groups: tuple[Group, ...]
    task_name: str
    task_args: tuple[tuple[str, str], ...]
    settings: EvalSettings
    models: ModelsSection = field(default_factory=ModelsSection)  # the config's [models]
    # a caller's task and model objects (Python API), used instead of the names above
    task_object: Any = None
    model_objects: dict[str, Any] = field(default_factory=dict)


@dataclass
class JobResult:
    """What comes back from a worker (no live objects)."""

    status: str
    score: float
    per_category: dict[str, float]
    n_items: int
    error: str | None
    gate_stage: str | None
    summary: dict[str, Any]
    items: list[dict[str, Any]]
    calls: list[dict[str, Any]]
    write_example: dict[str, Any] | None


@functools.lru_cache(maxsize=8)
def _task(name: str, args: tuple[tuple[str, str], ...]) -> Any:
    from ..tasks.registry import make_task

    return make_task(name, dict(args))


_WORKER_HUBS: dict[str, Any] = {}


def _worker_hub(models: ModelsSection) -> Any:
    """One model hub per worker process and model settings (built on first use)."""
    import json
    from dataclasses import asdict

    from .hub_setup import hub_from_models, response_cache_path

    key = json.dumps(asdict(models), sort_keys=True)
    if key not in _WORKER_HUBS:
        _WORKER_HUBS[key] = hub_from_models(models, response_cache_path(models.cache, None))
    return _WORKER_HUBS[key]


def run_job(job: EvalJob, hub: Any = None) -> JobResult:
    """Run one evaluation (in this process; ``hub`` defaults to a worker-local one)."""
    from .records import call_rows, evaluation_summary, item_rows

    base = job.task_object if job.task_object is not None else _task(job.task_name,
                                                                     job.task_args)
    task = SubsetTask(base, {job.subset: list(job.groups)})
    settings = replace(job.settings, split=job.subset)  # keeps protocol, env workers, ...
    if hub is None:
        from .hub_setup import with_model_objects

        models = job.models
        hub = with_model_objects(_worker_hub(models), job.model_objects, toolkit=models.toolkit,
                                 judge=models.judge, reflector=models.reflector)
    result = evaluate_program(job.source, task, hub, settings)
    summary = evaluation_summary(result)
    if result.status == "runtime_violation":
        summary["score"] = 0.0  # M*: a violation zeroes the whole evaluation
    summary["write_example"] = result.write_example
    return JobResult(status=result.status, score=summary["score"],
                     per_category=dict(result.per_category), n_items=result.n_items,
                     error=result.error, gate_stage=result.gate_stage, summary=summary,
                     items=item_rows(result), calls=call_rows(result.calls),
                     write_example=result.write_example)


class Executor(Protocol):
    """Runs evaluation jobs at once where it can; ``map`` yields their results in job order,
    each as soon as it and every earlier one are done (iterate it to the end: stopping early
    abandons the jobs not yet started)."""

    name: str

    def map(self, jobs: list[EvalJob]) -> Iterator[JobResult]: ...

    def close(self) -> None: ...


class ThreadExecutor:
    """Evaluations in threads of the campaign process, sharing its hub (cache, limits)."""

    name = "threads"

    def __init__(self, hub: Any, workers: int) -> None:
        self._hub = hub
        self._pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="evolve-eval")

    def map(self, jobs: list[EvalJob]) -> Iterator[JobResult]:
        if len(jobs) == 1:
            return iter([run_job(jobs[0], self._hub)])
        return self._pool.map(lambda job: run_job(job, self._hub), jobs)

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class JoblibExecutor:
    """Evaluations through a joblib backend: ``loky`` processes or ``dask`` workers."""

    def __init__(self, backend: str, workers: int, address: str = "") -> None:
        self.name = {"loky": "processes"}.get(backend, backend)
        self._backend = backend
        self._workers = max(1, workers)
        self._client: Any = None
        if backend == "dask":
            from .clusters import dask_client

            self._client = dask_client(address, self._workers)

    def map(self, jobs: list[EvalJob]) -> Iterator[JobResult]:
        import joblib

        with joblib.parallel_backend(self._backend, n_jobs=self._workers):
            yield from joblib.Parallel(return_as="generator")(
                joblib.delayed(run_job)(job) for job in jobs)

    def close(self) -> None:
        if self._client is not None:
            cluster = getattr(self._client, "cluster", None)
            self._client.close()
            if cluster is not None:
                cluster.close()


ExecutorFactory = Callable[[int, Any, str], Executor]  # (workers, hub, address) -> executor

# The one list of executor names: ``parallel.executor`` validation, ``make_executor`` and the
# docs test read it.
EXECUTOR_REGISTRY: Registry[ExecutorFactory] = Registry("executor")
EXECUTOR_REGISTRY.add("threads")(lambda workers, hub, _address: ThreadExecutor(hub, workers))
EXECUTOR_REGISTRY.add("processes")(lambda workers, _hub, _address: JoblibExecutor("loky",
                                                                                   workers))
EXECUTOR_REGISTRY.add("dask")(lambda workers, _hub, address: JoblibExecutor("dask", workers,
                                                                             address))


@EXECUTOR_REGISTRY.add("ray")
def _ray(workers: int, _hub: Any, address: str) -> Executor:
    from .clusters import RayExecutor

    return RayExecutor(workers, address)


def make_executor(kind: str | Executor, workers: int, hub: Any, address: str = "") -> Executor:
    """The executor ``parallel.executor`` names, or ``kind`` itself when it is an object with
    ``map`` and ``close`` (TypeError otherwise)."""
    if not isinstance(kind, str):
        from ..objects import require

        return require(kind, "executor")
    return EXECUTOR_REGISTRY.get(kind)(workers, hub, address)
