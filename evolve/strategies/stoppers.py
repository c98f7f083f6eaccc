"""When a campaign stops: iterations, money, tokens, wall time, stagnation, a stop file.

The loop calls ``stopper.check(status)`` before each step; the first non-None reason ends the
campaign after the current step and is recorded as ``stop_reason``. Every reason starts with
the name of the setting that triggered it ("iterations: ...", "max_usd: ..."), so scripts can
match on the prefix.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from ..config.sections import CampaignConfig


@dataclass(frozen=True)
class CampaignStatus:
    """What stoppers look at. ``elapsed_s`` is wall time summed over every session of the
    campaign (a resumed campaign carries on counting); ``iterations_since_best`` counts
    children evaluated since the best validation score last improved."""

    iterations_done: int
    iterations_target: int
    usd_spent: float = 0.0
    tokens_spent: int = 0
    elapsed_s: float = 0.0
    iterations_since_best: int = 0
    run_dir: str = "."
    failed_proposals_in_a_row: int = 0  # proposal_failed events since the last usable one
    last_proposal_error: str = ""       # the reason of the latest of them


@runtime_checkable
class Stopper(Protocol):
    """Contract: ``check`` is cheap, has no side effects, and returns a one-line reason to stop
    (prefixed with the setting's name) or None to carry on."""

    def check(self, status: CampaignStatus) -> str | None: ...


class IterationStopper:
    """Stops once ``iterations_target`` children were proposed (0: right after the seeds)."""

    def check(self, status: CampaignStatus) -> str | None:
        if status.iterations_done >= status.iterations_target:
            return f"iterations: {status.iterations_done} of {status.iterations_target} done"
        return None


class MoneyStopper:
    """Stops when the spend reaches ``max_usd``."""

    def __init__(self, max_usd: float) -> None:
        self.max_usd = float(max_usd)

    def check(self, status: CampaignStatus) -> str | None:
        if status.usd_spent >= self.max_usd:
            return f"max_usd: spent ${status.usd_spent:.4f} of ${self.max_usd:.2f}"
        return None


class TokenStopper:
    """Stops when the tokens used (all roles, in + out) reach ``max_tokens``."""

    def __init__(self, max_tokens: int) -> None:
        self.max_tokens = int(max_tokens)

    def check(self, status: CampaignStatus) -> str | None:
        if status.tokens_spent >= self.max_tokens:
            return f"max_tokens: used {status.tokens_spent} of {self.max_tokens} tokens"
        return None


class WallTimeStopper:
    """Stops after ``max_minutes`` of wall time."""

    def __init__(self, max_minutes: float) -> None:
        self.max_minutes = float(max_minutes)

    def check(self, status: CampaignStatus) -> str | None:
        if status.elapsed_s >= self.max_minutes * 60.0:
            return f"max_minutes: ran {status.elapsed_s / 60.0:.1f} of {self.max_minutes:g} minutes"
        return None


class StagnationStopper:
    """Stops after ``patience`` children in a row without a new best validation score."""

    def __init__(self, patience: int) -> None:
        self.patience = int(patience)

    def check(self, status: CampaignStatus) -> str | None:
        if status.iterations_since_best >= self.patience:
            return f"stagnation: no new best in the last {status.iterations_since_best} children"
        return None


class FailedProposalsStopper:
    """Stops after ``limit`` proposals in a row gave no program (``proposal_failed``): a
    meta-agent whose endpoint is down, or whose prompts never fit, would otherwise spin."""

    def __init__(self, limit: int) -> None:
        self.limit = int(limit)

    def check(self, status: CampaignStatus) -> str | None:
        if status.failed_proposals_in_a_row >= self.limit:
            last = " ".join(status.last_proposal_error.split())[:300]
            return (f"max_failed_proposals: {status.failed_proposals_in_a_row} proposals in a "
                    f"row failed" + (f"; last: {last}" if last else ""))
        return None


class StopFileStopper:
    """Stops when the file ``RUN_DIR/<name>`` exists (``touch RUN_DIR/STOP``)."""

    def __init__(self, name: str = "STOP") -> None:
        self.name = name

    def check(self, status: CampaignStatus) -> str | None:
        path = Path(status.run_dir) / self.name
        if path.exists():
            return f"stop_file: {path} exists"
        return None


class CompositeStopper:
    """Asks its stoppers in order; the first reason wins."""

    def __init__(self, stoppers: list[Stopper]) -> None:
        self.stoppers = list(stoppers)

    def check(self, status: CampaignStatus) -> str | None:
        for stopper in self.stoppers:
            reason = stopper.check(status)
            if reason is not None:
                return reason
        return None


def build_stoppers(config: CampaignConfig, extra: Iterable[Stopper] = ()) -> CompositeStopper:
    """The stoppers ``config`` asks for: iterations always (the caller fills
    ``iterations_target`` from ``search.iterations``), then the stop file, money, tokens, wall
    time, stagnation and failed proposals in a row, each left out when its setting is 0 (or
    the stop file name is ""); then the caller's own ``extra`` stopper objects, in order
    (TypeError for one without ``check``)."""
    from evolve.objects import require_all

    extra = require_all(extra, "stopper")
    budget = config.budget
    stoppers: list[Stopper] = [IterationStopper()]
    if budget.stop_file:
        stoppers.append(StopFileStopper(budget.stop_file))
    if budget.max_usd > 0:
        stoppers.append(MoneyStopper(budget.max_usd))
    if budget.max_tokens > 0:
        stoppers.append(TokenStopper(budget.max_tokens))
    if budget.max_minutes > 0:
        stoppers.append(WallTimeStopper(budget.max_minutes))
    if budget.stagnation > 0:
        stoppers.append(StagnationStopper(budget.stagnation))
    if config.search.max_failed_proposals > 0:
        stoppers.append(FailedProposalsStopper(config.search.max_failed_proposals))
    return CompositeStopper(stoppers + extra)
