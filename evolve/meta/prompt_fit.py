"""Fit the meta-agent's prompts into the reflector's context window.

A reflection prompt (interface, rules, the parent's source, scores, lineage, cases, a write
example) for a mid-sized seed is several thousand tokens, and the reflector reserves its
``max_tokens`` cap (4096 by default: a whole program) for the reply -- an 8k window leaves
about 4k for the prompt. When the window is known (``ModelHub.prompt_budget``), the prompt is
rendered at the first step of ``REFLECT_LADDER`` whose estimated size fits, in this order:

1. as configured;
2. fewer cases: no success case, then one failed case only;
3. shorter traces: each trace text cut head-and-tail to 600, then 250 characters, and the
   first case without the task agent's query-step prompt;
4. head-and-tail of the other long texts: the lineage log to 6, then 3 entries around the
   parent, the write example to 300, then 120 characters;
5. last, the interface spec: the short interface template (``meta_interface_short.j2``).

The parent's source is never cut (a patch must quote it). If even the last step does not fit
with the full cap, the reply cap itself is lowered to what the window leaves, as long as that
is enough for the answer asked for (``min_reply_tokens``: a patch, or the whole program again);
otherwise the call fails before sending with ``PromptTooLong`` naming the sizes, and the
campaign records a ``proposal_failed`` event with that reason. Gate-fix and repair prompts
have two steps: full, then the short interface.

All sizes are ``evolve.llm.limits.estimate_tokens`` estimates (conservative).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..errors import PromptTooLong
from ..llm.base import Message
from ..llm.limits import estimate_text_tokens, estimate_tokens

PATCH_REPLY_TOKENS = 1024  # a diagnosis, a commit message and a few SEARCH/REPLACE blocks
REPLY_MARGIN_TOKENS = 256  # the headings and the commit message around a whole program


@dataclass(frozen=True)
class TrimStep:
    """How much of the reflection context one rendering keeps (None: as configured)."""

    label: str
    failed_cases: int | None = None
    success_cases: int | None = None
    case_chars: int | None = None
    query_prompt: bool = True
    lineage_keep: int | None = None
    write_chars: int | None = None
    short_interface: bool = False


def _ladder() -> tuple[TrimStep, ...]:
    steps = [TrimStep("as configured")]

    def add(label: str, **changes: object) -> None:
        previous = steps[-1].__dict__ | changes
        previous["label"] = label
        steps.append(TrimStep(**previous))  # type: ignore[arg-type]

    add("no success case", success_cases=0)
    add("one failed case", failed_cases=1)
    add("traces cut to 600 characters", case_chars=600)
    add("traces cut to 250 characters, no query prompt", case_chars=250, query_prompt=False)
    add("lineage cut to 6 entries, write example to 300 characters", lineage_keep=6,
        write_chars=300)
    add("lineage cut to 3 entries, write example to 120 characters", lineage_keep=3,
        write_chars=120)
    add("short interface spec", short_interface=True)
    return tuple(steps)


REFLECT_LADDER = _ladder()
FIX_LADDER = (TrimStep("as configured"), TrimStep("short interface spec", short_interface=True))


@dataclass(frozen=True)
class FittedPrompt:
    """A prompt that fits, the step that made it fit, and the reply cap to send with it
    (None: the role's own cap)."""

    messages: list[Message]
    step: TrimStep
    tokens: int
    max_tokens: int | None = None


def min_reply_tokens(want: str, program: str) -> int:
    """The smallest reply cap worth asking with: a patch, or the whole program again."""
    if want == "patch":
        return PATCH_REPLY_TOKENS
    return estimate_text_tokens(program) + REPLY_MARGIN_TOKENS


def fit_prompt(render: Callable[[TrimStep], list[Message]], ladder: tuple[TrimStep, ...], *,
               budget: int | None, cap: int, min_reply: int, what: str) -> FittedPrompt:
    """The first rendering of ``ladder`` that fits ``budget`` prompt tokens (the window minus
    ``cap``); else the last one with a lower reply cap, if ``min_reply`` still fits; else
    ``PromptTooLong``. ``budget`` None (window unknown) takes the first step as it is."""
    if budget is None:
        messages = render(ladder[0])
        return FittedPrompt(messages, ladder[0], estimate_tokens(messages))
    window = budget + cap
    for step in ladder:
        messages = render(step)
        tokens = estimate_tokens(messages)
        if tokens <= budget:
            return FittedPrompt(messages, step, tokens)
    room = window - tokens
    if room >= min_reply:
        return FittedPrompt(messages, ladder[-1], tokens, max_tokens=room)
    raise PromptTooLong(
        f"{what} does not fit the reflector's context window even trimmed: ~{tokens} prompt "
        f"tokens leave {max(room, 0)} of the {window}-token window for the reply, which needs "
        f"at least {min_reply} (trimmed down to: {ladder[-1].label})")
