"""Evaluate one memory program on one task: gates, sandboxed ingest and query, scoring.

The orchestration (docs/architecture.md, "One evaluation"; "offline" protocol): for every
group a fresh KnowledgeBase; episodes are turned into KnowledgeItems by the task agent in
parallel and written in order; questions are answered in parallel; every item keeps a full
trace. The LLM calls that do not depend on memory are queued across groups at once
(``evolve.evaluation.eval_run.EvalRun.play_qa``).
Interactive tasks (``task.mode == "interactive"``) play their items as episodes instead
(``evolve.agent.interactive``: one read per episode, then the action loop; the transcript is
the trace; ``EvalSettings.protocol == "online"`` writes and observes each finished episode).

Status semantics (``EvalResult.status``):
- ``ok``                 everything ran;
- ``gate_failed``        static gate, load or smoke test failed (``gate_stage`` says which);
- ``runtime_violation``  a limit was broken (time, read size, LLM budget, output, crash):
                         the whole evaluation scores 0, as in M*;
- ``error``              the program raised during write/read (items affected are skipped or
                         answered from empty memory; the score is still computed), more than
                         ``max_failed_share`` of the items (or episodes) failed because a model
                         call failed for good, or the endpoint as a whole failed (wrong key,
                         unknown model). A single failed call fails only its item (score 0,
                         reason in ``ItemTrace.failure``) or skips its episode
                         (``EvalResult.episode_notes``); see ``evolve.eval_failures``.
"""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from ..agent.interactive import InteractiveAgent, InteractiveRunner
from ..agent.qa_agent import ItemTrace, QAAgent
from ..errors import EndpointError
from ..eval_failures import count_failures, share_verdict
from ..jail import ProgramRaised, RuntimeViolation, SandboxSession
from ..llm.base import CallRecord
from ..program.static_gate import static_gate
from ..tasks.base import Group, Split, Task
from .eval_run import MAX_LANES, EvalRun
from .settings import EvalSettings
from .smoke import run_smoke

if TYPE_CHECKING:
    from ..llm.hub import ModelHub

MAX_LOG_LINES = 500


@dataclass
class EvalResult:
    """Outcome of one evaluation; ``summary()`` is the ``evolve eval --json`` object."""

    status: str
    score: float = 0.0
    per_category: dict[str, float] = field(default_factory=dict)
    n_items: int = 0
    error: str | None = None
    gate_stage: str | None = None
    sandbox_mode: str = ""
    isolation: str = ""
    llm_calls: int = 0
    embed_calls: int = 0
    cached_calls: int = 0     # answered from the response cache (nothing paid)
    truncated_calls: int = 0  # replies cut at their role's max_tokens
    failed_calls: int = 0     # calls that failed for good (after retries)
    retries: int = 0          # transient failures retried, over all calls
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    seconds: float = 0.0
    oracle: bool = False
    items: list[ItemTrace] = field(default_factory=list)
    logs: list[tuple[str, str]] = field(default_factory=list)
    program_errors: int = 0
    calls: list[CallRecord] = field(default_factory=list)
    write_example: dict[str, Any] | None = None  # {"raw_text", "item"} of one ingested episode
    failed_items: int = 0         # items failed by a model call that failed for good (score 0)
    skipped_episodes: int = 0     # episodes not written to memory (extraction or call failed)
    extraction_failures: int = 0  # extraction steps that produced no item
    query_fallbacks: int = 0      # query replies unusable: fallback values used
    coercions: int = 0            # reply fixes that lost or guessed a field (see agent/coerce.py)
    episode_notes: list[dict[str, Any]] = field(default_factory=list)  # EpisodeNote dicts

    def summary(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "score": round(self.score, 6),
            "per_category": {k: round(v, 6) for k, v in self.per_category.items()},
            "n_items": self.n_items,
            "error": self.error,
            "gate_stage": self.gate_stage,
            "sandbox_mode": self.sandbox_mode,
            "isolation": self.isolation,
            "llm_calls": self.llm_calls,
            "embed_calls": self.embed_calls,
            "cached_calls": self.cached_calls,
            "truncated_calls": self.truncated_calls,
            "failed_calls": self.failed_calls,
            "retries": self.retries,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cost_usd": round(self.cost_usd, 6),
            "tokens_per_query": round((self.tokens_in + self.tokens_out) / self.n_items, 1)
            if self.n_items else 0.0,
            "seconds": round(self.seconds, 3),
            "oracle": self.oracle,
            "failed_items": self.failed_items,
            "skipped_episodes": self.skipped_episodes,
            "extraction_failures": self.extraction_failures,
            "query_fallbacks": self.query_fallbacks,
            "coercions": self.coercions,
            "episode_notes": self.episode_notes,
        }


class HubCallbacks:
    """Serves the sandbox worker's toolkit callbacks from the model hub (trusted side)."""

    def __init__(self, hub: ModelHub) -> None:
        self._hub = hub
        self.logs: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self.llm_calls = 0  # toolkit LLM calls asked for (the memory waits on a model)

    def embed(self, texts: list[str]) -> list[list[float]]:
        return self._hub.embed(texts).tolist()

    def llm(self, messages: list[dict], options: dict) -> str:
        with self._lock:
            self.llm_calls += 1
        kwargs = {k: options[k] for k in ("temperature", "max_tokens") if k in options}
        return self._hub.chat("toolkit", messages, json_mode=bool(options.get("json_mode")),
                              **kwargs).text

    def log(self, level: str, message: str) -> None:
        with self._lock:
            if len(self.logs) < MAX_LOG_LINES:
                self.logs.append((level, message))


def _limit_items(groups: list[Group], max_items: int | None) -> list[Group]:
    if max_items is None:
        return groups
    kept, budget = [], max_items
    for group in groups:
        if budget <= 0:
            break
        items = group.items[:budget]
        budget -= len(items)
        kept.append(Group(group.id, group.episodes, items))
    return kept


def _aggregate(traces: list[ItemTrace]) -> tuple[float, dict[str, float]]:
    if not traces:
        return 0.0, {}
    by_category: dict[str, list[float]] = defaultdict(list)
    for trace in traces:
        by_category[trace.category].append(trace.score)
    per_category = {k: sum(v) / len(v) for k, v in sorted(by_category.items())}
    return sum(t.score for t in traces) / len(traces), per_category


def _env_workers(settings: EvalSettings) -> int:
    """Environment workers: as asked, else one per core up to the concurrency (at most 4)."""
    if settings.env_workers > 0:
        return settings.env_workers
    return max(1, min(settings.concurrency, os.cpu_count() or 1, 4))


def evaluate_program(source: str, task: Task, hub: ModelHub,
                     settings: EvalSettings | None = None) -> EvalResult:
    """Gate and evaluate ``source`` on ``task`` with the models of ``hub``."""
    settings = settings or EvalSettings()
    started = time.monotonic()
    # A scoped view keeps this evaluation's calls apart from concurrent evaluations' calls.
    scoped = hub.scoped() if hasattr(hub, "scoped") else hub
    calls_before = len(scoped.calls)
    result = _evaluate(source, task, scoped, settings)
    result.seconds = time.monotonic() - started
    result.calls = scoped.calls[calls_before:]
    chats = [c for c in result.calls if c.kind == "chat"]
    result.llm_calls = len(chats)
    result.embed_calls = len(result.calls) - len(chats)
    result.cached_calls = sum(1 for c in result.calls if c.cached)
    result.truncated_calls = sum(1 for c in chats if c.truncated)
    result.failed_calls = sum(1 for c in result.calls if c.error is not None)
    result.retries = sum(c.retries for c in result.calls)
    result.tokens_in = sum(c.tokens_in for c in result.calls)
    result.tokens_out = sum(c.tokens_out for c in result.calls)
    result.cost_usd = sum(c.cost_usd for c in result.calls)
    result.oracle = settings.oracle
    return result


class _LaneStarts:
    """Extra sessions for ``EvalRun.play_qa``'s lanes, only for a memory that calls the toolkit
    LLM (others are not slower with one KnowledgeBase at a time). Once the smoke test shows
    such calls, the lanes the groups can use start in the background, while the evaluation's
    first model calls are out, so a group that needs one does not wait for a worker start."""

    def __init__(self, source: str, callbacks: HubCallbacks, settings: EvalSettings,
                 groups: int) -> None:
        self._source, self._callbacks, self._settings = source, callbacks, settings
        self._wanted = max(0, min(groups, MAX_LANES) - 1)
        self._starting: list[Future[SandboxSession | None]] = []
        self._given: list[SandboxSession] = []
        self._failed = False
        self._lock = threading.Lock()

    def _start(self) -> SandboxSession | None:
        lane = SandboxSession(self._source, self._callbacks, self._settings.limits,
                              self._settings.sandbox_mode)
        try:
            lane.start()
        except (ProgramRaised, RuntimeViolation, TypeError):
            lane.close()
            return None
        return lane

    def prefetch(self) -> None:
        if not self._callbacks.llm_calls or not self._wanted:
            return
        with self._lock:
            for _ in range(self._wanted - len(self._starting)):
                future: Future[SandboxSession | None] = Future()
                self._starting.append(future)
                threading.Thread(target=self._run, args=(future,), daemon=True,
                                 name="evolve-lane").start()

    def _run(self, future: Future[SandboxSession | None]) -> None:
        try:
            future.set_result(self._start())
        except BaseException as exc:  # noqa: BLE001 - seen by take() as no lane
            future.set_exception(exc)

    def take(self) -> SandboxSession | None:
        """A started session for the next group, or None (no toolkit LLM calls seen, all
        lanes given, or a start failed: the groups keep to the sessions they have)."""
        if self._failed or not self._callbacks.llm_calls:
            return None
        self.prefetch()  # a memory that first called the model after the smoke test
        with self._lock:
            if len(self._given) >= len(self._starting):
                return None
            future = self._starting[len(self._given)]
        try:
            lane = future.result()
        except Exception:  # noqa: BLE001 - a start that broke is a lane less
            lane = None
        if lane is None:
            self._failed = True
            return None
        with self._lock:
            self._given.append(lane)
        return lane

    def close(self) -> None:
        """Close every lane, given or still starting (at the end of the evaluation)."""
        with self._lock:
            starting = list(self._starting)
        for future in starting:
            try:
                lane = future.result()
            except Exception:  # noqa: BLE001
                continue
            if lane is not None:
                lane.close()


class _SmokeFailed(Exception):
    """The program failed the smoke test (``cause``: what it raised or broke)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _gate_failed(session: SandboxSession, stage: str, exc: BaseException) -> EvalResult:
    return EvalResult("gate_failed", error=str(exc), gate_stage=stage,
                      sandbox_mode=session.mode, isolation=session.isolation)


def _count(result: EvalResult, run: EvalRun, traces: list[ItemTrace]) -> None:
    """Failure and coercion counts of ``traces`` and the run's episode notes."""
    counts = count_failures(traces, run.episode_notes)
    result.failed_items, result.skipped_episodes = counts.failed_items, counts.skipped_episodes
    result.extraction_failures = counts.extraction_failures
    result.query_fallbacks, result.coercions = counts.query_fallbacks, counts.coercions
    result.episode_notes = [n.to_dict() for n in run.episode_notes]


def _evaluate(source: str, task: Task, hub: ModelHub, settings: EvalSettings) -> EvalResult:
    failure = static_gate(source)
    if failure is not None:
        return EvalResult("gate_failed", error=failure.message, gate_stage=failure.stage)
    # a split name; a SubsetTask (campaign jobs) also takes its subset names here
    groups = _limit_items(task.groups(cast(Split, settings.split)), settings.max_items)
    callbacks = HubCallbacks(hub)
    run = EvalRun(task, hub, settings, groups)
    result = EvalResult("ok")
    traces: list[ItemTrace] = []
    # Interactive tasks play episodes in environment worker processes (docs/embodied.md).
    runner = InteractiveRunner(run, _env_workers(settings)) \
        if getattr(task, "mode", "qa") == "interactive" else None
    try:
        with SandboxSession(source, callbacks, settings.limits, settings.sandbox_mode) as session, \
                ExitStack() as lanes, ThreadPoolExecutor(max(1, settings.concurrency)) as pool:
            try:
                info = session.start()
                result.sandbox_mode, result.isolation = session.mode, session.isolation
            except (ProgramRaised, RuntimeViolation, TypeError) as exc:
                return _gate_failed(session, "load", exc)

            lane_starts = _LaneStarts(source, callbacks, settings, len(groups))
            lanes.callback(lane_starts.close)

            def smoke() -> None:
                try:
                    run_smoke(session, info)
                except (ProgramRaised, RuntimeViolation, TypeError) as exc:
                    raise _SmokeFailed(exc) from exc
                if runner is None:  # while the first calls are out (only if the memory calls)
                    lane_starts.prefetch()

            try:
                if runner is None:
                    # the smoke test runs once the memory-independent calls are on their way
                    traces.extend(run.play_qa(session, QAAgent(run.agent_hub, info), groups, pool,
                                              before_memory=smoke,
                                              open_lane=lane_starts.take))
                else:
                    smoke()
            except _SmokeFailed as failed:
                return _gate_failed(session, "smoke", failed.cause)
            if runner is not None:
                for group in groups:
                    try:
                        info = session.reset()
                    except ProgramRaised as exc:
                        run.program_error(f"KnowledgeBase() for group {group.id}", exc)
                        continue
                    traces.extend(runner.play_group(session, InteractiveAgent(run.agent_hub, info),
                                                    group, pool))
    except RuntimeViolation as exc:
        result.status, result.error = "runtime_violation", str(exc)
        _count(result, run, traces)
        result.items, result.n_items = traces, len(traces)
        result.logs = callbacks.logs + run.errors_log
        return result
    except EndpointError as exc:
        result.status, result.error = "error", f"task model failed: {exc}"
    finally:
        if runner is not None:
            runner.close()
    result.items = traces
    result.n_items = len(traces)
    result.score, result.per_category = _aggregate(traces)
    result.logs = callbacks.logs + run.errors_log
    result.write_example = run.write_example
    result.program_errors = len(run.errors)
    _count(result, run, traces)
    verdict = share_verdict(traces, run.episode_notes, run.ledger.total_episodes,
                            settings.max_failed_share)
    if verdict and result.status == "ok":
        result.status, result.error = "error", verdict
    if run.errors and result.status == "ok":
        result.status = "error"
        result.error = f"{len(run.errors)} program call(s) raised; first: {run.errors[0]}"
    return result
