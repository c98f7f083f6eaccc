"""EvaluationFeed: evaluations requested one at a time keep iter_many's contract."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor

from evolve.evaluation.evaluate import EvalSettings
from evolve.evaluation.feed import EvaluationFeed
from evolve.evaluation.jobs import EvalJob


class FakeEvaluator:
    """The parts of CampaignEvaluator a feed uses; ``stored`` plays the database."""

    def __init__(self, executor, stored=None):
        self.executor = executor
        self.stored = dict(stored or {})
        self.store_order: list[tuple[str, str]] = []
        self.writer = threading.get_ident()

    def lookup(self, program_id, subset):
        return self.stored.get((program_id, subset))

    def job(self, program_id, source, subset):
        return EvalJob(program_id, source, subset, (), "fake", (), EvalSettings())

    def store_result(self, program_id, subset, result):
        assert threading.get_ident() == self.writer  # the database has one writer
        self.store_order.append((program_id, subset))
        self.stored[(program_id, subset)] = f"record:{result}"
        return self.stored[(program_id, subset)]


class Submitting:
    """Runs each job as soon as it is submitted; ``release`` lets the slow ones finish."""

    def __init__(self, slow: set[str]):
        self.pool = ThreadPoolExecutor(4)
        self.slow, self.release = slow, threading.Event()
        self.started: list[str] = []

    def _run(self, job):
        self.started.append(job.program_id)
        if job.program_id in self.slow:
            assert self.release.wait(10)
        return f"{job.program_id}@{job.subset}"

    def submit(self, job) -> Future:
        return self.pool.submit(self._run, job)

    def map(self, jobs):
        raise AssertionError("a submitting executor is not asked to map")


class MapOnly:
    def __init__(self):
        self.calls: list[list[str]] = []

    def map(self, jobs):
        self.calls.append([j.program_id for j in jobs])
        return iter([f"{j.program_id}@{j.subset}" for j in jobs])


def test_each_request_starts_at_once_and_results_keep_request_order():
    executor = Submitting(slow={"a"})
    evaluator = FakeEvaluator(executor, stored={("old", "static"): "record:stored"})
    feed = EvaluationFeed(evaluator)
    feed.add("a", "src", "static")
    feed.add("b", "src", "static")
    for _ in range(200):  # b runs although a, requested first, is still running
        if "b" in executor.started:
            break
        threading.Event().wait(0.01)
    assert set(executor.started) == {"a", "b"}
    feed.add("old", "src", "static")  # already stored: not run again
    feed.add("b", "src", "static")    # the same program twice runs once
    executor.release.set()
    assert feed.results() == ["record:a@static", "record:b@static", "record:stored",
                              "record:b@static"]
    assert evaluator.store_order == [("a", "static"), ("b", "static")]
    assert sorted(executor.started) == ["a", "b"]


def test_an_executor_without_submit_runs_the_requests_together_at_the_end():
    executor = MapOnly()
    feed = EvaluationFeed(FakeEvaluator(executor))
    for pid in ("x", "y", "x"):
        feed.add(pid, "src", "static")
    assert executor.calls == []  # nothing runs before results()
    assert feed.results() == ["record:x@static", "record:y@static", "record:x@static"]
    assert executor.calls == [["x", "y"]]


def test_stored_yields_each_result_while_later_ones_still_run():
    executor = Submitting(slow={"b"})
    feed = EvaluationFeed(FakeEvaluator(executor))
    feed.add("a", "src", "static")
    feed.add("b", "src", "static")
    stream = feed.stored()
    assert next(stream) == "record:a@static"  # b is still held back
    executor.release.set()
    assert list(stream) == ["record:b@static"]


def test_in_flight_limit_starts_a_job_only_when_a_slot_is_free():
    from evolve.evaluation.inflight import InFlightLimit

    limit = InFlightLimit(2)
    first, second = Future(), Future()
    limit.start(lambda: first)
    limit.start(lambda: second)
    launched = threading.Event()
    waiter = threading.Thread(target=lambda: limit.start(lambda: (launched.set(), Future())[1]))
    waiter.start()
    assert not launched.wait(0.3)  # two in flight: the third waits
    first.set_result("done")
    assert launched.wait(5)
    waiter.join(5)
