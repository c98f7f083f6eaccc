"""The campaign loop (docs/architecture.md): seeds, then per iteration select a parent, reflect
on its failures, propose, gate, evaluate and add the child; finally score the best on test.

Exact resume: every random draw of iteration ``i`` comes from ``default_rng([seed, i])``, the
pool of iteration ``i`` is read back from the store restricted to programs created before
``i``, and evaluations are looked up before they are run. A replayed iteration therefore makes
the same choices, finds what it already stored, and pays for nothing twice.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import numpy as np

from ..config.load import config_to_dict, resolve_seeds
from ..config.resume import changed_settings
from ..config.sections import CampaignConfig
from ..errors import UsageError
from ..evaluation.evaluate import EvalSettings
from ..evaluation.evaluator import CampaignEvaluator
from ..evaluation.executors import make_executor
from ..jail import SandboxLimits
from ..jail.spares import SPARES
from ..lineage import LineageStore
from ..lineage.queries import first_seed_failure, spend
from ..llm.hub_setup import build_campaign_hub
from ..meta.base import Proposal, ReflectionContext
from ..meta.factory import make_meta_agent
from ..meta.freeze import apply_freeze
from ..meta.guard import EndpointGuard
from ..strategies.selectors import PoolEntry, make_selector
from ..strategies.stoppers import CampaignStatus, build_stoppers
from ..tasks.registry import make_task
from .child import ChildDeveloper, ChildRequest, ChildSettings
from .interpreter import campaign_interpreter, freeze_long_lived
from .memory import after_iteration, pin_mmap_threshold
from .pool import best_static_score, pool_entries, program_record, program_source
from .progress import Progress, ProgressCallback
from .proposing import propose_stream
from .reflection import reflection_context
from .run_dir import create_run, open_store
from .seeding import evaluate_seeds
from .setup import (
    SEED_SOURCES,
    CampaignData,
    build_subset_task,
    choose_data,
    record_campaign,
    reflection_groups,
)
from .standing import (
    best_in_pool,
    count_failed_proposal,
    iterations_since_best,
    record_pareto_front,
)
from .steady import SteadySchedule
from .subsets import ReflectionSampler
from .user_parts import STATE_KEY, check_resumed_parts, record_parts, user_parts

T = TypeVar("T")


@dataclass
class CampaignOutcome:
    run_dir: Path
    campaign_id: str
    stop_reason: str
    finished: bool
    best_program: str | None
    best_val: float | None
    best_test: float | None


class Campaign:
    """One campaign bound to a run directory (fresh or resumed).

    ``task``, ``selector``, ``meta_agent``, ``models``, ``stoppers`` and ``executor``: objects
    (or names) in place of the config's (``evolve.campaign.user_parts``). ``progress``: True
    to stderr, a callable gets ``ProgressEvent``s, False quiet. No signal handler is installed.
    """

    def __init__(self, config: CampaignConfig, run_dir: Path, *, config_dir: Path | None = None,
                 resume: bool = False, progress: bool | ProgressCallback = True,
                 task: Any = None, selector: Any = None, meta_agent: Any = None,
                 models: Mapping[str, Any] | None = None, stoppers: Iterable[Any] | None = None,
                 executor: Any = None) -> None:
        config, self.parts = user_parts(config, task=task, selector=selector,
                                        meta_agent=meta_agent, models=models,
                                        stoppers=stoppers, executor=executor)
        self.config = config
        self._stop_requested = False
        self.run_dir = Path(run_dir)
        self.resuming = resume
        if resume:
            self.store = open_store(self.run_dir)
            existing = self.store.campaign()
            if existing is None:
                self.store.close()
                raise UsageError(f"{self.run_dir} holds no campaign to resume")
            self.campaign_id, resumed_config = existing["id"], existing["config"]
            seeds = []
        else:
            # checked before the run dir appears; from then on it holds a resumable record
            seeds = resolve_seeds(config, config_dir or Path.cwd())
            self.campaign_id, resumed_config = uuid.uuid4().hex[:12], None

            def record(store: LineageStore) -> None:
                record_campaign(store, self.campaign_id, config, seeds,
                                None if self.parts.task is None else self.parts.task.name)
                record_parts(store, self.campaign_id, self.parts)

            self.store = create_run(self.run_dir, self.campaign_id, record)
        try:
            if resume:
                check_resumed_parts(self.store.get_state(self.campaign_id, STATE_KEY),
                                    self.parts, self.run_dir)
            # a resume may change where evaluations run, never what they give
            self.settings_changed = (changed_settings(json.loads(resumed_config), config)
                                     if resumed_config is not None else {})
            self.seeds = seeds or [tuple(seed) for seed in self.store.get_state(
                self.campaign_id, SEED_SOURCES, [])]
            self._build_parts(progress)
        except (KeyboardInterrupt, duckdb.InterruptException):
            # the record stays: `evolve resume` continues the setup
            self.store.add_event(self.campaign_id, "interrupted", "Ctrl-C during setup; "
                                 "`evolve resume` continues it")
            self.store.close()
            raise KeyboardInterrupt from None
        except BaseException:
            if not resume:  # refused settings (task, models, cluster): nothing was done yet
                self.store.forget_campaign(self.campaign_id)
            self.store.close()
            raise

    def _build_parts(self, progress: bool | ProgressCallback) -> None:
        """Task, models, meta-agent, search and executor (each checks its settings)."""
        config, parts = self.config, self.parts
        self.task = (make_task(config.task.name, dict(config.task.args)) if parts.task is None
                     else make_task(parts.task))
        self.hub = build_campaign_hub(config, self.run_dir, parts.models)
        from ..llm.factory import preflight

        preflight(self.hub)
        # Evaluations and meta-agent calls log into scoped views whose records the campaign
        # persists; the shared hub keeps none, so memory stays flat over long campaigns.
        self.hub.keep_records = False
        self.meta_hub = self.hub.scoped()
        self.meta = EndpointGuard(make_meta_agent(config, self.meta_hub, parts.meta_agent,
                                                  reflector_object="reflector" in parts.models))
        self.selector = make_selector(config.search.selector if parts.selector is None
                                      else parts.selector, config.search.temperature)
        self.stoppers = build_stoppers(config, parts.stoppers)
        self.progress = Progress(config.search.iterations, enabled=progress is True,
                                 callback=None if isinstance(progress, bool) else progress)
        self.started = time.monotonic()
        self._data: CampaignData | None = None
        parallel = config.parallel  # made here: a bad cluster address fails before any work
        self.executor = make_executor(
            parallel.executor if parts.executor is None else parts.executor,
            parallel.workers or parallel.batch_size, self.hub, parallel.address)
        self.steady = parallel.schedule == "steady" and parallel.batch_size > 1
        if self.steady and not callable(getattr(self.executor, "submit", None)):
            self.executor.close()
            raise UsageError("parallel.schedule = \"steady\" starts each evaluation on its own: "
                             "it needs an executor with submit (threads, dask, ray), not "
                             f"{parallel.executor!r}")

    # -- setup ---------------------------------------------------------------------------
    def _prepare(self) -> None:
        record = self.store.campaign()
        assert record is not None
        if record["subsets"] is None:  # a fresh campaign, or one stopped during its setup
            self._data = choose_data(self.task, self.config, self.hub)
            self.store.set_campaign_subsets(self.campaign_id, self._data.to_record())
        else:
            self._data = CampaignData.from_record(json.loads(record["subsets"]))
        if self.resuming:
            with self.store.transaction():
                self.store.add_event(self.campaign_id, "resumed", "campaign resumed")
                if self.settings_changed:
                    self.store.set_campaign_config(self.campaign_id, config_to_dict(self.config))
                    self.store.add_event(
                        self.campaign_id, "settings_changed", "resumed with " + ", ".join(
                            f"{key} {old!r} -> {new!r}"
                            for key, (old, new) in self.settings_changed.items()),
                        data=self.settings_changed)
        subset_task, subset_items = build_subset_task(self.task, self._data)
        self.subset_task = subset_task
        limits = SandboxLimits(call_timeout_s=self.config.sandbox.call_timeout_s,
                               read_char_cap=self.config.sandbox.read_char_cap,
                               llm_budget_per_call=self.config.sandbox.llm_budget_per_call)
        settings = EvalSettings(limits=limits, sandbox_mode=self.config.sandbox.mode,
                                concurrency=self.config.models.concurrency,
                                protocol=self.config.campaign.protocol,
                                max_failed_share=self.config.data.max_failed_share)
        self.evaluator = CampaignEvaluator(
            self.store, self.campaign_id, subset_task, settings, subset_items, self.executor,
            (self.config.task.name, dict(self.config.task.args)),
            self.config.models, task_object=self.parts.task,
            model_objects=dict(self.parts.models))
        self.sampler = ReflectionSampler(self._data.reflection_pool,
                                         self.config.data.reflection_size,
                                         self.config.campaign.seed)
        self.developer = ChildDeveloper(
            self.store, self.campaign_id, self.evaluator, self.meta,
            ChildSettings(self.config.search.fix_rounds, self.config.search.repair_rounds),
            self._meta_call)

    def _meta_call(self, call: Callable[[], T]) -> T:
        """Run meta-agent work and persist the LLM calls it made (in this thread: the
        database has one writer)."""
        try:
            return call()
        finally:
            self._persist_meta_calls()

    def _persist_meta_calls(self) -> None:
        made = self.meta_hub.drain()
        if made:
            self.store.add_calls(self.campaign_id, made)

    def _no_pool(self) -> None:
        first = first_seed_failure(self.store, self.campaign_id)
        raise UsageError("no seed passed the gates and evaluated without error; nothing to "
                         "evolve" + (f" (first: {first})" if first else ""))

    # -- the loop ------------------------------------------------------------------------
    def _status(self, done: int, pool: list[PoolEntry] | None = None) -> CampaignStatus:
        """The standing after ``done`` iterations (``pool``: the pool at ``done + 1``, if read)."""
        spent = spend(self.store, self.campaign_id)
        return CampaignStatus(
            iterations_done=done, iterations_target=self.config.search.iterations,
            usd_spent=float(spent[0]), tokens_spent=int(spent[1]),
            elapsed_s=self._elapsed(),
            iterations_since_best=iterations_since_best(self.store, self.campaign_id, done,
                                                        pool), run_dir=str(self.run_dir),
            **(self.store.get_state(self.campaign_id, "failed_proposals", None) or {}))

    def _elapsed(self) -> float:
        """Wall time over every session of this campaign (resumes keep counting)."""
        before = float(self.store.get_state(self.campaign_id, "elapsed_s", 0.0) or 0.0)
        return before + time.monotonic() - self.started

    def _step(self, iteration: int) -> float | None:
        """One round: ``batch_size`` children, each from its own seeded generator."""
        batch = self.config.parallel.batch_size
        pool = pool_entries(self.store, self.campaign_id, iteration,
                            self.config.search.cost_objective)
        if not pool:
            self._no_pool()
        plans = [self._plan(iteration, slot, pool) for slot in range(batch)]
        reflections = self.evaluator.iter_many(
            [(parent.program_id, program_source(self.store, parent.program_id), subset)
             for _, parent, _, subset in plans])
        contexts: list[ReflectionContext] = []

        def contexts_as_reflected() -> Iterator[ReflectionContext]:
            # each child's context as soon as its reflection is stored, so its proposal can
            # start while later reflections still run
            for (rng, parent, other, _), reflection in zip(plans, reflections, strict=True):
                contexts.append(self._context(iteration, rng, parent, other, reflection))
                yield contexts[-1]

        def requests_as_proposed() -> Iterator[ChildRequest]:
            # each child as soon as its proposal and the ones before it are in: its gate and
            # evaluation start while later proposals are still out
            proposals = propose_stream(self.meta, contexts_as_reflected(), batch)
            for i, ((_, parent, other, _), proposal) in enumerate(zip(plans, proposals,
                                                                      strict=True)):
                request = self._request(iteration, parent, other, contexts[i], proposal)
                self._count_failed_proposal(request is None, proposal.error)
                if request is not None:
                    yield request
            for *_, subset in plans:
                self._drop_subset(subset)

        children = self._meta_call(lambda: self.developer.develop_batch(requests_as_proposed()))
        return best_static_score(self.store, children)

    def _plan(self, iteration: int, slot: int, pool: list[PoolEntry]
              ) -> tuple[np.random.Generator, PoolEntry, PoolEntry | None, str]:
        """Slot ``slot`` of round ``iteration``: its seeded generator, parent (and crossover
        partner) drawn from ``pool``, and the reflection subset it is evaluated on."""
        batch = self.config.parallel.batch_size
        seed = [self.config.campaign.seed, iteration] + ([slot] if batch > 1 else [])
        rng = np.random.default_rng(seed)
        parent = self.selector.select(pool, rng)
        other = None
        if self.config.search.crossover_rate > 0 and len(pool) > 1 \
                and rng.random() < self.config.search.crossover_rate:
            others = [p for p in pool if p.program_id != parent.program_id]
            other = self.selector.select(others, rng)
        index = (iteration - 1) * batch + slot + 1  # batch 1: the iteration number
        reflection_ids = self.sampler.sample(index)
        subset = f"reflect:{index}"
        self.subset_task.add_subset(subset, reflection_groups(self.task, reflection_ids))
        self.evaluator.subset_items[subset] = list(reflection_ids)
        return rng, parent, other, subset

    def _drop_subset(self, subset: str) -> None:
        """Forget a reflection subset ``_plan`` added, once it is reflected on (kept, the
        subsets would grow with every round)."""
        self.subset_task.remove_subset(subset)
        self.evaluator.subset_items.pop(subset, None)

    def _context(self, iteration: int, rng: np.random.Generator, parent: Any, other: Any,
                 reflection: Any, history_before: int | None = None) -> ReflectionContext:
        return reflection_context(self.store, self.config, self.task, iteration, rng, parent,
                                  other, reflection, history_before)

    def _count_failed_proposal(self, failed: bool, error: str | None) -> None:
        count_failed_proposal(self.store, self.campaign_id, failed, error)

    def _request(self, iteration: int, parent: Any, other: Any, context: ReflectionContext,
                 proposal: Proposal) -> ChildRequest | None:
        """The child to develop from ``proposal`` (None, with an event, if there is none)."""
        parent_record = program_record(self.store, parent.program_id)
        if proposal.source is not None and (context.freeze_instructions or context.freeze_code):
            # Ablation switches hold for every meta-agent, whatever it proposed.
            frozen = apply_freeze(parent_record.source, proposal.source,
                                  instructions=context.freeze_instructions,
                                  code=context.freeze_code)
            proposal = replace(proposal, source=frozen if frozen != parent_record.source else None,
                               error=proposal.error or "no change once frozen parts are restored")
        if proposal.source is None:
            self.store.add_event(self.campaign_id, "proposal_failed",
                                 proposal.error or "no program", iteration=iteration,
                                 program_id=parent.program_id)
            return None
        parents = [parent.program_id] + ([other.program_id] if other else [])
        return ChildRequest(proposal, context, parents, iteration,
                            int(parent_record.generation or 0) + 1)

    def _best(self, pool: list[PoolEntry] | None = None) -> tuple[str | None, float | None]:
        return best_in_pool(self.store, self.campaign_id, pool)

    def request_stop(self) -> None:
        """Stop after the current step (the campaign stays unfinished; ``resume`` continues
        it); safe from any thread. The command line's first Ctrl-C calls this."""
        self._stop_requested = True

    def run(self) -> CampaignOutcome:
        """Run (or continue) the campaign to its end or a stop condition."""
        # Threads open up to batch_size sandbox sessions at once: have that many spares ready.
        threads = self.config.parallel.executor == "threads" and self.parts.executor is None
        at_once = self.config.parallel.batch_size if threads else 1
        pin_mmap_threshold()  # memory: see campaign/memory.py
        with campaign_interpreter(), SPARES.expecting(at_once):
            return self._run()

    def _run_rounds(self, done: int) -> tuple[int, str]:
        """Round after round until a stopper answers; returns the rounds done and its reason."""
        status: CampaignStatus | None = None  # as of the last step, if one ran
        while True:
            if self._stop_requested:
                raise KeyboardInterrupt
            # nothing but the clock moved since the status of the step just done
            status = (self._status(done) if status is None
                      else replace(status, elapsed_s=self._elapsed()))
            reason = self.stoppers.check(status)
            if reason:
                return done, reason
            iteration = done + 1
            last = self._step(iteration)
            done = iteration
            status = self._round_done(done, last)

    def _run_steady(self, done: int) -> tuple[int, str]:
        """The steady schedule (``evolve.campaign.steady``); returns the rounds done and the
        stop reason."""
        done, reason = SteadySchedule(self, self._round_done).run(done)
        if reason is None:  # stopped on request, the children in flight finished
            raise KeyboardInterrupt
        return done, reason

    def _round_done(self, done: int, last: float | None) -> CampaignStatus:
        """Round ``done`` is finished: record it, report progress; the standing after it."""
        elapsed = self._elapsed()
        self.started = time.monotonic()
        with self.store.transaction():
            self.store.set_state(self.campaign_id, "elapsed_s", elapsed)
            self.store.set_state(self.campaign_id, "iterations_done", done)
        after_iteration(self.store, done)  # memory: see campaign/memory.py
        # one pool read for the best and the stoppers (no program is later than ``done``)
        pool = pool_entries(self.store, self.campaign_id, done + 1)
        _, best = self._best(pool)
        status = self._status(done, pool)
        self.progress.update(done, best, last, status.usd_spent, status.tokens_spent)
        return status

    def _run(self) -> CampaignOutcome:
        stop_reason = "interrupted"
        try:
            self._prepare()
            if not self.resuming or not self.store.get_state(self.campaign_id, "seeds_done"):
                evaluate_seeds(self.store, self.campaign_id, self.seeds, self.evaluator,
                               self.progress)
                self.store.set_state(self.campaign_id, "seeds_done", True)
            freeze_long_lived()  # setup is done: keep full collections off its objects
            done = int(self.store.get_state(self.campaign_id, "iterations_done", 0))
            done, stop_reason = (self._run_steady(done) if self.steady
                                 else self._run_rounds(done))
            record_pareto_front(self.store, self.campaign_id, self.config.search.cost_objective)
            best_id, best_val = self._best()
            best_test = None
            if best_id is not None and self.evaluator.subset_items.get("test"):
                source = program_source(self.store, best_id)
                best_test = self.evaluator.evaluate(best_id, source, "test").score
            self.store.finish_campaign(self.campaign_id, stop_reason)
            self.store.add_event(self.campaign_id, "stopped", stop_reason, iteration=done)
            return CampaignOutcome(self.run_dir, self.campaign_id, stop_reason, True, best_id,
                                   best_val, best_test)
        except (KeyboardInterrupt, duckdb.InterruptException):
            # DuckDB turns a Ctrl-C that lands inside a query into its own exception
            self.store.add_event(self.campaign_id, "interrupted",
                                 "Ctrl-C: stopped (an unfinished step is abandoned); "
                                 "`evolve resume` continues from the last finished step")
            best_id, best_val = self._best()
            return CampaignOutcome(self.run_dir, self.campaign_id, "interrupted", False,
                                   best_id, best_val, None)
        finally:
            self.progress.close()
            executor = getattr(self, "executor", None)
            if executor is not None:
                executor.close()
            self.store.close()

