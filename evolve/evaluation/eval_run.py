"""One evaluation in progress: the offline QA protocol and per-item bookkeeping.

``evolve.evaluation.evaluate`` gates the program and opens the sandbox; ``EvalRun`` then plays the items:
extractions and queries queued across groups, writes in dataset order, reads, answers and
scores. A model call that fails for good fails only its item or skips its episode
(``evolve.eval_failures``); interactive tasks reuse the writing and item bookkeeping through
``evolve.agent.interactive.InteractiveRunner``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from ..agent.qa_agent import Extraction, ItemTrace, QAAgent, QueryStep
from ..errors import EndpointError
from ..eval_failures import EpisodeNote, FailureLedger, GuardedHub, is_local_failure
from ..jail import ProgramRaised, SandboxSession
from ..tasks.base import EvalItem, Group, Task, needs_judge
from .settings import EvalSettings

if TYPE_CHECKING:
    from ..llm.hub import ModelHub


MAX_LANES = 4  # sessions (KnowledgeBases) one evaluation holds at once, see play_qa
LANE_POLL_S = 0.05  # how often a group waiting for a lane's reads asks for another lane


class EvalRun:
    """State of one evaluation in progress (used by ``evolve.evaluation.evaluate`` only)."""

    def __init__(self, task: Task, hub: ModelHub, settings: EvalSettings,
                 groups: list[Group]) -> None:
        self.task = task
        self.hub = hub
        self.settings = settings
        self.errors: list[str] = []
        self.errors_log: list[tuple[str, str]] = []
        self.write_example: dict[str, Any] | None = None
        self.episode_notes: list[EpisodeNote] = []
        items = sum(len(g.items) for g in groups)
        episodes = 0 if settings.oracle else sum(len(g.episodes) for g in groups)
        if getattr(task, "mode", "qa") == "interactive" and settings.protocol == "online":
            episodes += items  # each played episode is extracted and written too
        self.ledger = FailureLedger(settings.max_failed_share, items, episodes)
        # the task agent's and judge's calls stop once the evaluation can no longer pass
        self.agent_hub = GuardedHub(hub, self.ledger)
        self._lock = threading.Lock()

    def judge(self, messages: list[dict[str, str]], json_mode: bool = False) -> str:
        """One call to the judge model (logged, cached and budgeted like every call)."""
        return self.agent_hub.chat("judge", messages, json_mode=json_mode).text

    def fail_item(self, trace: ItemTrace, reason: str) -> None:
        """A model call for ``trace`` failed for good: the item fails, the evaluation goes on."""
        trace.fail(reason)
        self.hub_log("warning", f"item {trace.item_id} failed: {reason}")

    def write_episode(self, session: SandboxSession, group_id: str, episode_id: str,
                      extraction: Extraction, text: str) -> bool:
        """Write one extracted episode; a failed extraction or call skips it (noted, counted)."""
        note = EpisodeNote(group_id, episode_id, coercions=list(extraction.notes))
        written = False
        if extraction.item is None:
            note.skipped = note.extraction_failed = True
            note.call_failed, note.reason = extraction.call_failed, extraction.error
        else:
            try:
                session.write(extraction.item, text)
                written = True
            except ProgramRaised as exc:
                self.program_error(f"write({episode_id})", exc)
            except EndpointError as exc:  # a toolkit call the program made failed for good
                if not is_local_failure(exc):
                    raise
                note.skipped = note.call_failed = True
                note.reason = f"write: toolkit call failed: {exc}"
        if note.skipped:
            self.hub_log("warning", f"episode {episode_id} skipped: {note.reason}")
        if note.skipped or note.coercions:
            with self._lock:
                self.episode_notes.append(note)
        return written

    def program_error(self, where: str, exc: BaseException) -> None:
        with self._lock:
            self.errors.append(f"{where}: {exc}")

    def ingest(self, session: SandboxSession, agent: QAAgent, group: Group,
               pool: ThreadPoolExecutor) -> None:
        """Extract every episode of ``group`` in parallel, then write them in order."""
        self.write_extracted(session, group,
                             [pool.submit(agent.extract, e.text) for e in group.episodes])

    def write_extracted(self, session: SandboxSession, group: Group,
                        extractions: list[Future[Extraction]]) -> None:
        """Write each episode of ``group`` in dataset order as its extraction completes."""
        for episode, pending in zip(group.episodes, extractions, strict=True):
            extraction = pending.result()
            if not self.write_episode(session, group.id, episode.id, extraction, episode.text):
                continue
            if self.write_example is None:
                self.write_example = {"raw_text": episode.text, "item": extraction.item}

    def hub_log(self, level: str, message: str) -> None:
        with self._lock:
            self.errors_log.append((level, message))

    def play_qa(self, session: SandboxSession, agent: QAAgent, groups: list[Group],
                pool: ThreadPoolExecutor,
                before_memory: Callable[[], None] | None = None,
                open_lane: Callable[[], SandboxSession | None] | None = None) -> list[ItemTrace]:
        """The offline QA protocol, pipelined across groups.

        Only a KnowledgeBase is sequential: per group a reset, the writes in dataset order,
        then the reads. The calls that do not depend on memory -- the extraction of every
        episode and the query of every question -- are queued at once, group by group, and
        answers run while the next group is ingested, so the pool stays busy from the first
        call to the last. Writes, reads and the traces' order are the same as when the groups
        run one after another, so results do not depend on the concurrency.

        A session holds one KnowledgeBase, so a group's reads must end before the session is
        reset for the next group. When they are still running and the program has made
        toolkit LLM calls (a read or write then waits a model latency), ``open_lane`` may give
        another started session for the next groups (at most ``MAX_LANES`` in all): groups
        are independent (a fresh KnowledgeBase each), so a program that summarises at read
        time no longer waits one model latency per group in turn. ``open_lane`` returns None
        when no lane should or can be opened; the group then waits for a lane's reads.

        ``before_memory`` (the smoke test) runs once those calls are queued and before the
        first reset; if it raises, the calls not yet started are cancelled and the exception
        propagates (the ones in flight finish and are logged: at most ``concurrency`` calls
        paid for a program that then fails the gate, kept by the response cache).
        """
        queued: list[Future[Any]] = []

        def submit(fn: Any, *args: Any) -> Future[Any]:
            future = pool.submit(fn, *args)
            queued.append(future)
            return future

        plans = [([] if self.settings.oracle else
                  [submit(agent.extract, e.text) for e in group.episodes],
                  [submit(agent.form_query, item.question) for item in group.items])
                 for group in groups]
        answers: list[Future[ItemTrace]] = []
        # (session, reads of the last group it holds), least recently used first
        lanes: list[tuple[SandboxSession, list[Future[Any]]]] = [(session, [])]
        try:
            if before_memory is not None:
                before_memory()
            for group, (extractions, queries) in zip(groups, plans, strict=True):
                lane, busy = lanes.pop(0)
                extra = self._lane_or_wait(busy, open_lane if len(lanes) + 1 < MAX_LANES
                                           else None)
                if extra is not None:
                    lanes.append((lane, busy))
                    lane, busy = extra, []
                # the reset must not pull the KnowledgeBase from under a read of this lane
                for read in busy:
                    read.result()
                try:
                    lane.reset()
                except ProgramRaised as exc:
                    self.program_error(f"KnowledgeBase() for group {group.id}", exc)
                    for future in extractions + queries:
                        future.cancel()
                    lanes.append((lane, []))
                    continue
                if not self.settings.oracle:
                    self.write_extracted(lane, group, extractions)
                reads = [submit(self.read_item, lane, group, item, query)
                         for item, query in zip(group.items, queries, strict=True)]
                lanes.append((lane, reads))
                answers.extend(self._answer_when_read(submit, agent, item, read)
                               for item, read in zip(group.items, reads, strict=True))
            return [answer.result() for answer in answers]
        except BaseException:
            for future in queued:  # a failure ends the evaluation: drop the calls not started
                future.cancel()
            raise

    @staticmethod
    def _lane_or_wait(busy: list[Future[Any]],
                      open_lane: Callable[[], SandboxSession | None] | None
                      ) -> SandboxSession | None:
        """Wait for the reads ``busy`` unless ``open_lane`` gives a session meanwhile (asked
        again while they run: a read's toolkit LLM call may come after the first ask)."""
        while open_lane is not None:
            pending = [read for read in busy if not read.done()]
            if not pending:
                return None
            extra = open_lane()
            if extra is not None:
                return extra
            wait(pending, timeout=LANE_POLL_S, return_when=FIRST_COMPLETED)
        return None

    def _answer_when_read(self, submit: Callable[..., Future[Any]], agent: QAAgent,
                          item: EvalItem, read: Future[tuple[ItemTrace, QueryStep]]
                          ) -> Future[ItemTrace]:
        """The answer of ``item``, queued once its read is done: a pool thread never waits
        for a read (with the reads of several lanes in flight that could hold every thread)."""
        answer: Future[ItemTrace] = Future()

        def settle(done: Future[Any]) -> None:
            try:
                answer.set_result(done.result())
            except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on it
                answer.set_exception(exc)

        def queue_answer(done: Future[Any]) -> None:
            try:
                submit(self.answer_item, agent, item, done.result()).add_done_callback(settle)
            except BaseException as exc:  # noqa: BLE001 - the read failed or was cancelled
                answer.set_exception(exc)

        read.add_done_callback(queue_answer)
        return answer

    def read_item(self, session: SandboxSession, group: Group, item: EvalItem,
                  query: Future[QueryStep]) -> tuple[ItemTrace, QueryStep]:
        """Trace of ``item`` up to the retrieved memory (the gold evidence under ``oracle``)."""
        trace = ItemTrace(item.id, group.id, item.category, item.question, item.gold)
        step = query.result()
        self.take_query(trace, step)
        if trace.failure:
            pass
        elif self.settings.oracle:
            trace.retrieved = "\n".join(item.evidence)
        else:
            trace.retrieved = self.read(session, item, trace, step)
        return trace, step

    def take_query(self, trace: ItemTrace, step: QueryStep) -> None:
        """Record the query step in ``trace``; a failed query call fails the item."""
        trace.query, trace.query_reply = step.query, step.reply
        trace.prompts["query"] = step.messages
        trace.coercions, trace.query_fallback = list(step.notes), step.fallback
        if step.error:
            trace.error = step.error
        if step.failure:
            self.fail_item(trace, step.failure)

    def read(self, session: SandboxSession, item: EvalItem, trace: ItemTrace,
             step: QueryStep) -> str:
        """The program's ``read`` for one item ("" when it raised or its toolkit call failed)."""
        try:
            return session.read(step.query)
        except ProgramRaised as exc:
            self.program_error(f"read({item.id})", exc)
            trace.error = f"read raised: {exc}"
        except EndpointError as exc:  # a toolkit call the program made failed for good
            if not is_local_failure(exc):
                raise
            self.fail_item(trace, f"read: toolkit call failed: {exc}")
        return ""

    def answer_item(self, agent: QAAgent, item: EvalItem,
                    read: tuple[ItemTrace, QueryStep]) -> ItemTrace:
        """Answer from the retrieved memory and score the answer."""
        trace, step = read
        if trace.failure:
            return trace
        stage = "answer"
        try:
            trace.answer, trace.prompts["answer"] = agent.answer(step, trace.retrieved,
                                                                 item.question)
            stage = "judge"
            if needs_judge(self.task):
                # LLM-judged tasks (LongMemEval, rubrics) get the hub's judge role.
                result = self.task.score(item, trace.answer, judge=self.judge)
            else:
                result = self.task.score(item, trace.answer)
        except EndpointError as exc:
            if not is_local_failure(exc):
                raise
            self.fail_item(trace, f"{stage} call failed: {exc}")
            return trace
        trace.score, trace.rationale = float(result.score), result.rationale
        return trace
