"""The steady schedule (``parallel.schedule = "steady"``): a child starts as soon as another
finishes, instead of each round waiting for its slowest child.

With rounds, the ``batch_size`` children of round ``r`` draw their parents from the pool of
rounds before ``r`` and round ``r + 1`` starts when the last of them is stored: one child whose
parent writes slowly (a summary call per write) holds up the whole next round, and the slots
of the children that finished early sit idle. The steady schedule keeps ``batch_size``
children in flight at all times. What a child does still depends on nothing but the seed:

- a child of round ``r`` draws its parent from the pool of the rounds before ``r - 1`` (one
  round of lag; rounds: before ``r``), with the slot's own seeded generator, and its lineage
  lists the tries of those rounds with their scores; so round ``r`` may start while round
  ``r - 1`` runs, and starts only once round ``r - 2`` is finished;
- the lineage also lists, without a score, the children first proposed from the same parent
  in round ``r - 1`` (the meta-agent is told they are being evaluated, so it does not propose
  them again: without them, a parent drawn in rounds ``r - 1`` and ``r`` is shown the same
  history twice, and a deterministic model repeats its proposal as a duplicate); a child's
  context is built once every proposal of round ``r - 1`` is stored;
- the steps that read or count what other children did (storing each proposal as a program,
  its duplicate check and gate, the failed-proposal streak) happen in child order on the
  campaign thread, the database's only writer; evaluations are stored as they finish;
- the stoppers are asked before each round starts, with the standing as of the pool it reads.

So two runs with one seed give the same programs, parents and scores, whatever finished first.
One exception is left: a gate fix or a repair (a meta-agent call after the child's evaluation)
that returns exactly the program another in-flight child is proposing is a duplicate of
whichever was stored first. A resumed campaign starts again at the first unfinished round;
the children of later rounds it finds stored are replays, as with rounds.

Needs an executor with ``submit`` (threads, Dask, Ray): the children's evaluations start one
at a time as the children get there.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import Any

from ..evaluation.feed import StartedEvaluation
from ..meta.base import Proposal, ReflectionContext
from ..strategies.selectors import PoolEntry
from .child import _Child
from .pool import best_static_score, pool_entries, program_source
from .proposing import propose_and_gate

__all__ = ["SteadySchedule", "lagged_pool_round"]


def lagged_pool_round(iteration: int) -> int:
    """The round whose pool (the programs of the rounds before it) a steady child of round
    ``iteration`` draws from: one round earlier than with rounds, never before round 1."""
    return max(1, iteration - 1)


@dataclass
class _Flight:
    """One child from its parent draw to its last evaluation."""

    iteration: int
    slot: int
    plan: tuple[Any, PoolEntry, PoolEntry | None, str]
    reflection: StartedEvaluation | None = None
    context: ReflectionContext | None = None
    proposal: Future[Proposal] | None = None
    child: _Child | None = None
    evaluation: StartedEvaluation | None = None
    taken: bool = False                    # its proposal was taken (in child order)
    finished: bool = False                 # no proposal, or its child finished


class SteadySchedule:
    """Runs a campaign's rounds with ``batch_size`` children always in flight (see module).

    ``campaign`` is the ``evolve.campaign.loop.Campaign`` that owns the schedule (typed
    ``Any``: the loop imports this module); the schedule uses its parts (store, evaluator,
    developer, meta-agent, stoppers) and its per-child steps (``_plan``, ``_drop_subset``,
    ``_context``, ``_request``, ``_status``) so both schedules draw and decide alike."""

    def __init__(self, campaign: Any,
                 on_round: Callable[[int, float | None], object]) -> None:
        self.c = campaign
        self.batch = campaign.config.parallel.batch_size
        self._on_round = on_round  # (round done, best score of its children)
        self._submit = campaign.evaluator.executor.submit  # type: ignore[attr-defined]
        self._flights: list[_Flight] = []  # in child order; leave when their round is done
        self._pools: dict[int, list[PoolEntry]] = {}
        self._done = 0

    def _start(self, program_id: str, source: str, subset: str) -> StartedEvaluation:
        return StartedEvaluation.start(self.c.evaluator, self._submit, program_id, source, subset)

    # -- the schedule --------------------------------------------------------------------
    def run(self, done: int) -> tuple[int, str | None]:
        """Rounds after ``done`` until a stopper answers; returns the rounds finished and
        the stop reason (None: stopped on request, once the children in flight finished)."""
        self._done = done
        next_round, next_slot = done + 1, 0
        reason: str | None = None
        with ThreadPoolExecutor(self.batch, thread_name_prefix="propose") as proposing:
            self._proposing = proposing
            while True:
                while reason is None and self._in_flight() < self.batch:
                    if next_slot == 0:
                        if next_round - 2 > self._done:
                            break  # the pool this round reads is not complete yet
                        reason = "" if self.c._stop_requested else \
                            self._check_stoppers(next_round)
                        if reason is not None:
                            break
                    self._launch(next_round, next_slot)
                    next_round, next_slot = ((next_round + 1, 0) if next_slot + 1 == self.batch
                                             else (next_round, next_slot + 1))
                if not self._flights:
                    return self._done, reason or None
                if not self._advance_all():
                    pending = [f for flight in self._flights for f in self._futures(flight)
                               if not f.done()]
                    assert pending, "steady schedule: children in flight but nothing running"
                    wait(pending, return_when=FIRST_COMPLETED)

    def _in_flight(self) -> int:
        return sum(not flight.finished for flight in self._flights)

    def _check_stoppers(self, iteration: int) -> str | None:
        lagged = lagged_pool_round(iteration)
        pool = self._pool(lagged)
        if not pool:
            self.c._no_pool()
        # the standing as of the pool this round reads, counting the rounds already started
        status = replace(self.c._status(lagged - 1, pool), iterations_done=iteration - 1)
        return self.c.stoppers.check(status) or None

    def _pool(self, before: int) -> list[PoolEntry]:
        if before not in self._pools:
            self._pools = {before: pool_entries(self.c.store, self.c.campaign_id, before,
                                                self.c.config.search.cost_objective)}
        return self._pools[before]

    def _launch(self, iteration: int, slot: int) -> None:
        plan = self.c._plan(iteration, slot, self._pool(lagged_pool_round(iteration)))
        parent_id = plan[1].program_id
        flight = _Flight(iteration, slot, plan)
        flight.reflection = self._start(parent_id, program_source(self.c.store, parent_id),
                                        plan[3])
        self._flights.append(flight)

    @staticmethod
    def _futures(flight: _Flight) -> list[Future[Any]]:
        out: list[Future[Any]] = [e.future for e in (flight.reflection, flight.evaluation)
                                  if e is not None and e.future is not None]
        if flight.proposal is not None and not flight.taken:
            out.append(flight.proposal)
        return out

    def _advance_all(self) -> bool:
        """Move every child on as far as what finished allows; False if none moved."""
        moved = False
        for flight in self._flights:
            moved = self._advance(flight) or moved
        moved = self._accept_in_order() or moved
        self.c._persist_meta_calls()  # the proposals' LLM calls
        return self._finish_rounds() or moved

    def _advance(self, flight: _Flight) -> bool:
        """Reflection stored -> context -> proposal out; evaluation stored -> settled."""
        moved = False
        if flight.context is None and flight.reflection is not None \
                and flight.reflection.done() and self._earlier_proposals_in(flight):
            rng, parent, other, subset = flight.plan
            reflection = flight.reflection.record()
            flight.context = self.c._context(flight.iteration, rng, parent, other, reflection,
                                             lagged_pool_round(flight.iteration))
            self.c._drop_subset(subset)
            flight.proposal = self._proposing.submit(propose_and_gate, self.c.meta,
                                                     flight.context)
            moved = True
        if flight.evaluation is not None and flight.evaluation.done():
            assert flight.child is not None
            record = flight.evaluation.record()
            flight.evaluation = None
            self.c.developer.settle(flight.child, record)
            self._follow(flight)
            moved = True
        return moved

    def _earlier_proposals_in(self, flight: _Flight) -> bool:
        """True once every child of the earlier rounds has had its proposal taken: its
        context lists those of the round before it as still in flight, and must list the
        same ones in every run."""
        return all(other.taken for other in self._flights if other.iteration < flight.iteration)

    def _accept_in_order(self) -> bool:
        """Take the proposals that are in, in child order (the failed-proposal streak and
        the duplicate checks must not depend on which came back first)."""
        moved = False
        for flight in self._flights:
            if flight.taken:
                continue
            if flight.proposal is None or not flight.proposal.done():
                return moved
            flight.taken = moved = True
            _, parent, other, _ = flight.plan
            assert flight.context is not None
            proposal = flight.proposal.result()
            request = self.c._request(flight.iteration, parent, other, flight.context,
                                      proposal)
            self.c._count_failed_proposal(request is None, proposal.error)
            if request is None:
                flight.finished = True
                continue
            flight.child = self.c.developer.arrive(request, flight.slot)
            self._gate(flight)
        return moved

    def _gate(self, flight: _Flight) -> None:
        child = flight.child
        assert child is not None and child.source is not None
        if self.c.developer.gate(child):
            flight.evaluation = self._start(child.pid, child.source, "static")
            if flight.evaluation.stored:  # found stored (a resumed campaign)
                self._advance(flight)
        else:
            self._follow(flight)

    def _follow(self, flight: _Flight) -> None:
        """After a gate or an evaluation: fix or repair and gate again, until finished."""
        child = flight.child
        assert child is not None
        if not child.finished and (child.failure is not None or child.violation is not None):
            self.c._meta_call(lambda: self.c.developer.follow_up(child))
            if not child.finished:
                self._gate(flight)
                return
        flight.finished = child.finished

    def _finish_rounds(self) -> bool:
        """Rounds whose children have all finished, in order: counted done, reported."""
        moved = False
        while self._flights:
            first = self._flights[0].iteration
            members = [f for f in self._flights if f.iteration == first]
            if len(members) < self.batch or not all(f.finished for f in members):
                return moved
            self._flights = self._flights[len(members):]
            self._done, moved = first, True
            self._on_round(first, best_static_score(
                self.c.store, (f.child.result for f in members if f.child)))
        return moved
