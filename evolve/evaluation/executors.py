"""Where a campaign's evaluations run: threads here, worker processes, or a Dask/Ray cluster.

Every executor maps a list of ``EvalJob``s to ``NewEvaluation``s in the same order. Jobs are plain
picklable data (program source, the subset's groups, task name and arguments, model settings),
so a remote worker rebuilds the task and a model hub locally, runs the program in its own local
sandbox, and sends back only data. Results come back lazily in job order: the campaign process,
the only database writer, stores the first result while the others are still running, and the
database still does not depend on which worker finished first.

Worker processes and Dask come through joblib's backends (``loky``, ``dask`` from
``distributed``); Ray through Ray tasks (``evolve.evaluation.clusters``: Ray's joblib backend
cannot hand results back lazily). Threads, Dask and Ray also start one job at a time
(``submit``), which lets a round's children start as their proposals come in
(``evolve.evaluation.feed``); loky processes run a round's children together.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from ..lineage.writes import NewEvaluation
from ..registry import EXECUTORS
from .inflight import InFlightLimit
from .jobs import EvalJob, run_job
from .jobs import JobResult as JobResult  # public name (evolve.JobResult)

if TYPE_CHECKING:
    from ..llm.hub import ModelHub


class Executor(Protocol):
    """Runs evaluation jobs at once where it can; ``map`` yields their results in job order,
    each as soon as it and every earlier one are done (iterate it to the end: stopping early
    abandons the jobs not yet started).

    Optional: ``submit(job)`` starts one job at once, within the same bound on jobs in flight,
    and returns a future (anything with ``result()``); a campaign then starts each child's
    evaluation as soon as its proposal is in (``evolve.evaluation.feed``). Executors without
    it run the jobs of a round together."""

    name: str

    def map(self, jobs: list[EvalJob]) -> Iterator[NewEvaluation]: ...

    def close(self) -> None: ...


class ThreadExecutor:
    """Evaluations in threads of the campaign process, sharing its hub (cache, limits)."""

    name = "threads"

    def __init__(self, hub: ModelHub, workers: int) -> None:
        self._hub = hub
        self._pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="evolve-eval")

    def map(self, jobs: list[EvalJob]) -> Iterator[NewEvaluation]:
        if len(jobs) == 1:
            return iter([run_job(jobs[0], self._hub)])
        return self._pool.map(lambda job: run_job(job, self._hub), jobs)

    def submit(self, job: EvalJob) -> Future[NewEvaluation]:
        return self._pool.submit(run_job, job, self._hub)

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

    def map(self, jobs: list[EvalJob]) -> Iterator[NewEvaluation]:
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


class DaskExecutor(JoblibExecutor):
    """Evaluations on Dask workers: a list through joblib's ``dask`` backend, one job at a
    time through the client's own ``submit`` (so a round's children start as they come)."""

    def __init__(self, workers: int, address: str = "") -> None:
        super().__init__("dask", workers, address)
        self._in_flight = InFlightLimit(self._workers)

    def submit(self, job: EvalJob) -> Future[NewEvaluation]:
        # pure=False: every job runs (no key deduplication, which would hash the whole job)
        return self._in_flight.start(lambda: self._client.submit(run_job, job, pure=False))


# Factories of the built-in names (``evolve.registry.EXECUTORS`` lists them): each takes the
# number of workers, the campaign's hub (threads share it) and the cluster address.
def thread_executor(workers: int, hub: ModelHub, _address: str) -> Executor:
    return ThreadExecutor(hub, workers)


def process_executor(workers: int, _hub: ModelHub, _address: str) -> Executor:
    return JoblibExecutor("loky", workers)


def dask_executor(workers: int, _hub: ModelHub, address: str) -> Executor:
    return DaskExecutor(workers, address)


def ray_executor(workers: int, _hub: ModelHub, address: str) -> Executor:
    from .clusters import RayExecutor

    return RayExecutor(workers, address)


def make_executor(kind: str | Executor, workers: int, hub: ModelHub, address: str = "") -> Executor:
    """The executor ``parallel.executor`` names, or ``kind`` itself when it is an object with
    ``map`` and ``close`` (TypeError otherwise)."""
    if not isinstance(kind, str):
        from ..objects import require

        return require(kind, "executor")
    executor: Executor = EXECUTORS.get(kind)(workers, hub, address)
    return executor
