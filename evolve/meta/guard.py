"""Keep a meta-agent's endpoint failures inside the campaign.

A reflector call can fail for good -- its server unreachable after retries, a request rejected
(HTTP 400), a prompt that cannot fit the model's context window even trimmed
(``PromptTooLong``). The ``MetaAgent`` contract lets such ``EndpointError``s propagate; in a
campaign one of them would end the whole run with a traceback. ``EndpointGuard`` turns each
into a ``Proposal`` with ``source=None`` and the reason as its ``error``, so the loop records a
``proposal_failed`` (or ``fix_failed`` / ``repair_failed``) event and goes on; the
``max_failed_proposals`` stopper ends the campaign when they keep coming.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import EndpointError
from .base import MetaAgent, Proposal, ReflectionContext


class EndpointGuard:
    """A ``MetaAgent`` that answers for ``inner``, with endpoint errors as failed proposals."""

    def __init__(self, inner: MetaAgent) -> None:
        self.inner = inner
        self.name = inner.name

    def propose(self, context: ReflectionContext) -> Proposal:
        return self._guarded(lambda: self.inner.propose(context), context, "propose")

    def fix(self, context: ReflectionContext, source: str, stage: str, message: str,
            attempt: int) -> Proposal:
        return self._guarded(lambda: self.inner.fix(context, source, stage, message, attempt),
                             context, "fix")

    def repair(self, context: ReflectionContext, source: str, violation: str) -> Proposal:
        return self._guarded(lambda: self.inner.repair(context, source, violation), context,
                             "repair", origin="repair")

    def _guarded(self, call: Callable[[], Proposal], context: ReflectionContext, step: str,
                 origin: str | None = None) -> Proposal:
        try:
            return call()
        except EndpointError as exc:
            kind = type(exc).__name__
            return Proposal(source=None, commit_message="", mutator=self.name,
                            origin=origin or ("crossover" if context.other else "mutation"),
                            error=f"meta-agent {step} call failed ({kind}): {exc}")

    def __getattr__(self, name: str):  # settings of the wrapped agent (mode, max_tokens ...)
        return getattr(self.inner, name)
