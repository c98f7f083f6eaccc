"""Failed model calls during an evaluation: kept local to one item or episode, and counted.

A call that fails for good (rejected with HTTP 400, timed out after its retries, ...) fails
the item it was made for (score 0, the reason in its trace) or skips the episode it was
extracting; the evaluation goes on. Only a failure of the endpoint as a whole (wrong key,
unknown model) ends it. Once more than ``max_failed_share`` of the items (or of the episodes)
have failed, the evaluation cannot end ``ok`` any more: ``GuardedHub`` then stops sending the
task agent's calls (they fail at once as "not sent"), so a dead or overloaded endpoint is not
asked hundreds more times, and the result is ``status=error`` with a message naming the count
and the first reason (``share_verdict``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import CallFailed, EndpointError

if TYPE_CHECKING:
    from .llm.hub import ModelHub

DEFAULT_MAX_FAILED_SHARE = 0.5
NOT_SENT = "not sent: "


def is_local_failure(exc: BaseException) -> bool:
    """True when ``exc`` concerns one request (rejected, timed out, retries used up).

    A wrong key or a model the endpoint does not serve concerns every call alike: those end
    the evaluation instead of failing each item in turn; so does a call cancelled by Ctrl-C
    (the user is stopping the evaluation, no item failed).
    """
    if not isinstance(exc, EndpointError):
        return False
    from .llm.cancel import INTERRUPTED, CallCancelled
    from .llm.openai_chat import EndpointAuthError, ModelNotFoundError

    if isinstance(exc, (EndpointAuthError, ModelNotFoundError, CallCancelled)):
        return False
    return not INTERRUPTED.is_set()  # a call broken off by the interrupt (socket shut)


class CallNotSent(CallFailed):
    """The call was not sent: too many items or episodes of this evaluation had failed."""


@dataclass
class EpisodeNote:
    """What went wrong (or was guessed) while one episode was turned into memory."""

    group_id: str
    episode_id: str
    skipped: bool = False              # the episode was not written to memory
    reason: str | None = None          # why it was skipped
    extraction_failed: bool = False    # the extraction step produced no item
    call_failed: bool = False          # ... because a model call failed for good
    coercions: list[str] = field(default_factory=list)  # lossy or guessed reply fixes

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class FailureLedger:
    """Counts the task agent's failed calls while an evaluation runs (thread-safe).

    Each item and each episode stops at its first failed call, so failed calls are failed
    units (items plus episodes). Once they exceed ``max_failed_share`` of all units, failed
    items exceed that share of the items or failed episodes that share of the episodes: the
    verdict will be an error whatever the remaining calls do.
    """

    def __init__(self, max_failed_share: float, total_items: int, total_episodes: int) -> None:
        self.max_failed_share = max_failed_share
        self.total_items = total_items
        self.total_episodes = total_episodes
        self._failed_calls = 0
        self._lock = threading.Lock()

    def call_failed(self) -> None:
        with self._lock:
            self._failed_calls += 1

    @property
    def stopping(self) -> bool:
        """More than the allowed share has already failed: the result will be an error."""
        with self._lock:
            return _over(self._failed_calls, self.total_items + self.total_episodes,
                         self.max_failed_share)

    def stop_reason(self) -> str:
        return (f"{NOT_SENT}more than {self.max_failed_share:g} of the evaluation's items or "
                "episodes had already failed")


def _over(failed: int, total: int, share: float) -> bool:
    return total > 0 and failed > share * total


class GuardedHub:
    """The task agent's and judge's view of the hub: refuses calls once the ledger is stopping."""

    def __init__(self, hub: ModelHub, ledger: FailureLedger) -> None:
        self._hub = hub
        self._ledger = ledger

    def chat(self, role: str, messages: list[dict[str, Any]], **kwargs: Any) -> Any:
        if self._ledger.stopping:
            raise CallNotSent(self._ledger.stop_reason())
        try:
            return self._hub.chat(role, messages, **kwargs)
        except EndpointError as exc:
            if is_local_failure(exc):
                self._ledger.call_failed()
            raise


@dataclass(frozen=True)
class FailureCounts:
    """The counts ``evolve eval --json`` reports and the lineage store keeps."""

    failed_items: int = 0
    skipped_episodes: int = 0
    extraction_failures: int = 0
    query_fallbacks: int = 0
    coercions: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def count_failures(traces: Sequence[Any], notes: Sequence[EpisodeNote]) -> FailureCounts:
    """Counts over the item traces (``ItemTrace``) and episode notes of one evaluation."""
    return FailureCounts(
        failed_items=sum(1 for t in traces if t.failure),
        skipped_episodes=sum(1 for n in notes if n.skipped),
        extraction_failures=sum(1 for n in notes if n.extraction_failed),
        query_fallbacks=sum(1 for t in traces if t.query_fallback),
        coercions=sum(len(t.coercions) for t in traces) + sum(len(n.coercions) for n in notes),
    )


def _first_reason(reasons: list[str]) -> str:
    """The first reason that is a real failure (not a call held back by the guard)."""
    return next((r for r in reasons if NOT_SENT not in r), reasons[0])


def share_verdict(traces: Sequence[Any], notes: Sequence[EpisodeNote], total_episodes: int,
                  max_failed_share: float) -> str | None:
    """The error message when failures exceed ``max_failed_share``, else None.

    Items count when they failed; episodes when a failed call kept them out of memory (an
    episode whose reply was merely unusable is a weakness of the model, counted but not a
    failure of the evaluation).
    """
    failed = [t.failure for t in traces if t.failure]
    if _over(len(failed), len(traces), max_failed_share):
        return (f"{len(failed)} of {len(traces)} items failed (more than max_failed_share "
                f"{max_failed_share:g}); first: {_first_reason(failed)}")
    skipped = [n.reason or "" for n in notes if n.skipped and n.call_failed]
    if _over(len(skipped), total_episodes, max_failed_share):
        return (f"{len(skipped)} of {total_episodes} episodes skipped after failed calls (more "
                f"than max_failed_share {max_failed_share:g}); first: {_first_reason(skipped)}")
    return None
