"""From proposals to pool members: gates, fix rounds, evaluation, repair rounds.

Children of one round move together: each is gated as its proposal comes in and its evaluation
starts at once where the executor can (``evolve.evaluation.feed``), the evaluations are stored
in child order, then the meta-agent fixes or repairs the failures one by one in child order,
and the next attempt of those children starts. Every attempt is stored as a program (also
rejected ones) with its gate outcome; gate failures, fixes and repairs are events. A child
whose evaluation ends in ``status=error`` gets gate status ``error`` and an
``evaluation_error`` event, and stays out of the pool. A child that answers exactly as its
parent did on every validation item is a pool member like any other but gets a ``no_op``
event (``evolve.lineage.noops``), so it is not counted as a try.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..evaluation.evaluator import CampaignEvaluator
from ..lineage import LineageStore
from ..lineage.duplicates import is_replay, record_duplicate
from ..lineage.noops import is_no_op, record_no_op
from ..lineage.records import EvaluationRecord, read_program
from ..lineage.writes import NewProgram
from ..meta.base import MetaAgent, Proposal, ReflectionContext
from ..program.identity import program_id
from ..program.static_gate import static_gate


@dataclass
class ChildSettings:
    fix_rounds: int = 3
    repair_rounds: int = 3


@dataclass
class ChildRequest:
    """A proposal with where it comes from."""

    proposal: Proposal
    context: ReflectionContext
    parent_ids: list[str]
    iteration: int
    generation: int


@dataclass
class _Child:
    request: ChildRequest
    source: str | None
    commit: str
    mutator: str
    origin: str
    design: dict[str, Any] | None
    fixes: int = 0
    repairs: int = 0
    result: str | None = None
    finished: bool = False
    failure: tuple[str, str] | None = None      # gate stage and message to fix
    violation: str | None = None               # runtime violation to repair
    pid: str = field(default="")
    index: int = 0                             # position in its round (names its duplicate)


class ChildDeveloper:
    """Turns proposals into evaluated pool members for one campaign."""

    def __init__(self, store: LineageStore, campaign_id: str, evaluator: CampaignEvaluator,
                 meta: MetaAgent, settings: ChildSettings,
                 meta_calls: Callable[[Callable[[], Proposal]], Proposal]) -> None:
        self.store = store
        self.campaign_id = campaign_id
        self.evaluator = evaluator
        self.meta = meta
        self.settings = settings
        self._meta_calls = meta_calls  # runs a meta-agent call and persists its LLM calls
        # program id -> the child (iteration, position in its round) that made it
        self._claimed: dict[str, tuple[int, int]] = {}

    def forget_claims(self) -> None:
        """Forget which child made which program (a new round; a steady schedule keeps
        them for the whole campaign, its rounds overlap)."""
        self._claimed = {}

    def _event(self, kind: str, message: str, child: _Child, data: Any = None) -> None:
        self.store.add_event(self.campaign_id, kind, message, iteration=child.request.iteration,
                             program_id=child.pid or None, data=data)

    def develop_batch(self, requests: Iterable[ChildRequest]) -> list[str | None]:
        """Pool member ids (None where a child was finally rejected), in request order.

        ``requests`` may be lazy (a round's proposals as they come in, in slot order): each
        child is gated and its evaluation started as soon as it is there, while later
        proposals are still out; the evaluations are stored in request order once all are
        requested, then fixes and repairs run one child at a time."""
        children: list[_Child] = []

        def arriving() -> Iterator[_Child]:
            for r in requests:
                children.append(self.arrive(r, len(children)))
                yield children[-1]

        self.forget_claims()
        active: Iterable[_Child] = arriving()
        while True:
            for child in self._gate_and_evaluate(active):
                self.follow_up(child)
            active = [c for c in children if not c.finished]
            if not active:
                break
        return [c.result for c in children]

    def _gate_and_evaluate(self, active: Iterable[_Child]) -> list[_Child]:
        """Gate each child and start its evaluation as it comes; returns the children seen."""
        seen, to_evaluate = [], []
        feed = self.evaluator.feed()
        for child in active:
            seen.append(child)
            if self.gate(child):
                to_evaluate.append(child)
                feed.add(child.pid, child.source or "", "static")
        evaluations = feed.results()
        for child, evaluation in zip(to_evaluate, evaluations, strict=True):
            self.settle(child, evaluation)
        return seen

    def arrive(self, request: ChildRequest, index: int) -> _Child:
        """The child a request makes (``index``: its position, naming its duplicate)."""
        p = request.proposal
        return _Child(request, p.source, p.commit_message, p.mutator, p.origin, p.design,
                      index=index)

    def gate(self, child: _Child) -> bool:
        """Store the child's program and gate it; True when it passed and is to be evaluated
        (on the static subset), False when it is a duplicate (finished) or failed a gate
        (``child.failure`` set: ``follow_up`` fixes it)."""
        child.failure = child.violation = None
        assert child.source is not None
        child.pid = program_id(child.source)
        r = child.request
        if self._is_duplicate(child):
            return False
        self._claimed.setdefault(child.pid, (r.iteration, child.index))
        self.store.add_program(NewProgram(
            child.pid, self.campaign_id, child.source, parent_ids=tuple(r.parent_ids),
            generation=r.generation, iteration=r.iteration, origin=child.origin,
            mutator=child.mutator, commit_message=child.commit, design=child.design))
        failure = static_gate(child.source)
        if failure is not None:
            child.failure = (failure.stage, failure.message)
            return False
        return True

    def settle(self, child: _Child, evaluation: EvaluationRecord) -> None:
        """Take a gated child's static evaluation: a pool member, an error, or a failure or
        violation for ``follow_up``."""
        if evaluation.status == "gate_failed":
            child.failure = (evaluation.gate_stage or "smoke", evaluation.error or "")
        elif evaluation.status == "runtime_violation" \
                and child.repairs < self.settings.repair_rounds:
            self.store.set_gate(child.pid, "passed")
            child.violation = evaluation.error or "runtime violation"
        elif evaluation.status == "error":
            # The evaluation did not complete (too many failed model calls, the endpoint
            # failed, or the program raised): its score cannot be trusted, so the child is
            # neither gate-passed nor a pool member.
            message = evaluation.error or "evaluation error"
            self.store.set_gate(child.pid, "error", "evaluation", message)
            self._event("evaluation_error", message, child)
            child.finished = True
        else:
            self.store.set_gate(child.pid, "passed")
            child.result, child.finished = child.pid, True
            parent = child.request.parent_ids[0] if child.request.parent_ids else None
            if parent and is_no_op(self.store, child.pid, parent):
                record_no_op(self.store, self.campaign_id, iteration=child.request.iteration,
                             child_id=child.pid, parent_id=parent, mutator=child.mutator)

    def follow_up(self, child: _Child) -> None:
        """After a gate or an evaluation: fix a gate failure or repair a runtime violation
        (a meta-agent call); the child then needs ``gate`` again unless it finished."""
        if child.failure is not None:
            self._fix(child)
        elif child.violation is not None:
            self._repair(child)

    def _is_duplicate(self, child: _Child) -> bool:
        """True (and recorded, the child finished) when the child's program already exists
        and is not this child's own (a fix returning its program, or a resumed round)."""
        existing = read_program(self.store, child.pid)
        if existing is None:
            return False
        r = child.request
        claimed = self._claimed.get(child.pid)
        if claimed == (r.iteration, child.index) or (claimed is None
                                      and is_replay(existing, r.iteration, r.parent_ids)):
            return False
        record_duplicate(self.store, self.campaign_id, iteration=r.iteration, child=child.index,
                         parent_ids=r.parent_ids, duplicate_of=child.pid,
                         commit_message=child.commit, mutator=child.mutator,
                         origin=child.origin)
        child.finished = True  # nothing new: no evaluation, no pool member
        return True

    def _fix(self, child: _Child) -> None:
        assert child.failure is not None
        stage, message = child.failure
        self.store.set_gate(child.pid, "failed", stage, message)
        self._event("gate_failed", f"{stage}: {message}", child,
                    {"stage": stage, "attempt": child.fixes})
        if child.fixes >= self.settings.fix_rounds:
            self._event("child_rejected", f"gates still failing after {child.fixes} fix rounds",
                        child)
            child.finished = True
            return
        child.fixes += 1
        source, context, attempt = child.source or "", child.request.context, child.fixes
        fixed = self._meta_calls(lambda: self.meta.fix(context, source, stage, message, attempt))
        if fixed.source is None:
            self._event("fix_failed", fixed.error or "no program", child)
            child.finished = True
            return
        child.source, child.origin, child.mutator = fixed.source, "repair", fixed.mutator
        child.commit = f"{child.commit}\n\nFix {child.fixes} ({stage}): {fixed.commit_message}"
        child.design = fixed.design

    def _repair(self, child: _Child) -> None:
        violation = child.violation or ""
        self._event("runtime_violation", violation, child)
        child.repairs += 1
        source, context = child.source or "", child.request.context
        repaired = self._meta_calls(lambda: self.meta.repair(context, source, violation))
        if repaired.source is None:
            self._event("repair_failed", repaired.error or "no program", child)
            child.result, child.finished = child.pid, True  # kept in the pool with score 0
            return
        child.source, child.origin, child.mutator = repaired.source, "repair", repaired.mutator
        child.commit = f"{child.commit}\n\nRepair {child.repairs}: {repaired.commit_message}"
        child.design = repaired.design
