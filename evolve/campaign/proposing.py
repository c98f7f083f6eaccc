"""The meta-agent's proposals of one round, several at once when the batch has several."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

from ..meta.base import MetaAgent, Proposal, ReflectionContext
from ..program.static_gate import static_gate


def propose_stream(meta: MetaAgent, contexts: Iterable[ReflectionContext],
                   batch_size: int) -> Iterator[Proposal]:
    """One proposal per context, yielded in context order, each as soon as it and the ones
    before it are in: the caller gates and starts evaluating a child while later proposals
    are still out. Each proposal starts as soon as its context is there (the meta-agents are
    stateless and each context carries its own seed, so proposals running at once give what
    they give one at a time). Contexts are built, and proposals consumed, on the caller's
    thread, which stays the database's only writer."""
    if batch_size <= 1:
        for context in contexts:
            yield meta.propose(context)
        return
    with ThreadPoolExecutor(batch_size, thread_name_prefix="propose") as pool:
        futures = [pool.submit(propose_and_gate, meta, context) for context in contexts]
        for future in futures:
            yield future.result()


def propose_and_gate(meta: MetaAgent, context: ReflectionContext) -> Proposal:
    """One proposal, then its static gate verdict while later proposals are still out:
    the verdict is kept per source, so gating the round's children on the campaign thread
    afterwards finds it ready instead of parsing each program there in turn."""
    proposal = meta.propose(context)
    if proposal.source is not None:
        static_gate(proposal.source)
    return proposal
