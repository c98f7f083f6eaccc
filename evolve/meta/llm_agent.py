"""The LLM meta-agent: M*-style reflection on a parent's failures that writes one child.

``propose`` shows the reflector model the interface, the rules, the parent's source, scores and
lineage log, a few failed cases, a success case and a write example (``meta_reflect.j2``), and
asks for a diagnosis, a commit message and either SEARCH/REPLACE blocks or a full program (the
exact format is in ``meta_rules.j2``; parsing is in ``evolve.meta.patch``).

Modes (a campaign setting, because small local models are poor at exact diffs):

- ``patch``: ask for a patch; if it does not apply, ask once more for a corrected patch;
- ``full``: ask for a full program; if none comes back, ask once more;
- ``auto``: ask for a patch; if it does not apply, ask once for the full program instead.

Whatever was asked, a usable answer of the other kind is accepted. Freeze switches of the
context are enforced on the child; a child identical to its parent (ignoring comments and
formatting) is refused with ``error="no change"``. A bad reply never raises: it gives a
``Proposal`` with ``source=None`` and ``error`` set. Endpoint errors from the hub propagate.

Context window: when the reflector's window is known, every prompt is trimmed to fit it in a
fixed order, or the call fails before sending with ``PromptTooLong`` (``evolve.meta.prompt_fit``).

Determinism: prompts are pure functions of the context (and the window); every call carries a salt built from
the context's seed and iteration, so a cached reply is reused only for the same step of the same
campaign, and repeated steps with identical prompts still get fresh replies.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from dataclasses import dataclass, replace
from typing import Any, Protocol

from evolve_sandbox.importguard import ALLOWED_IMPORTS

from ..llm.base import Completion, Message
from ..llm.limits import CHARS_PER_TOKEN, estimate_tokens
from ..program.contract import READ_CHAR_CAP
from ..program.parsing import parse_source
from ..program.static_gate import FORBIDDEN_CALLS
from ..templating import render
from .base import Proposal, ReflectionContext
from .context_render import render_program, render_sections, truncate_middle
from .freeze import apply_freeze
from .patch import PatchError, apply_patch
from .prompt_fit import (
    FIX_LADDER,
    REFLECT_LADDER,
    FittedPrompt,
    TrimStep,
    fit_prompt,
    min_reply_tokens,
)
from .reply import ParsedReply, parse_reply

MODES = ("auto", "patch", "full")
SYSTEM_PROMPT = (
    "You are the meta-agent of an evolutionary search over memory programs for LLM agents: you "
    "read how a program behaved, diagnose its failures and write improved Python programs. "
    "Always answer in the exact format the user asks for."
)
REPLY_SEPARATOR = "\n\n----- next reply -----\n\n"


class ReflectorHub(Protocol):
    """The part of ``evolve.llm.hub.ModelHub`` the meta-agent uses (``prompt_budget`` and
    ``reply_cap`` are optional: without them prompts are not fitted to a window)."""

    def chat(self, role: str, messages: list[Message], *, json_mode: bool = False,
             temperature: float = 0.0, max_tokens: int | None = None,
             salt: str | None = None) -> Completion: ...

    def reply_cap(self, role: str, requested: int | None = None) -> int: ...


@dataclass(frozen=True)
class _Child:
    """What one reply yielded: a program (or why not) and how it was produced."""

    source: str | None
    mutator: str
    parsed: ParsedReply
    error: str | None = None


@functools.lru_cache(maxsize=256)  # the parent's form is asked for by every proposal from it
def _canonical(source: str) -> str:
    """Code identity ignoring comments and formatting (plain text when it does not parse)."""
    try:
        return ast.dump(parse_source(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return "\n".join(line.rstrip() for line in source.strip().split("\n"))


def _first_sentence(text: str, limit: int = 120) -> str:
    line = " ".join(text.split())
    for stop in (". ", "; "):
        if stop in line:
            line = line.split(stop, 1)[0]
    return line[:limit].rstrip(" .")


class LLMMetaAgent:
    """``MetaAgent`` backed by the hub's ``reflector`` model (name ``"llm"``)."""

    name = "llm"

    def __init__(
        self,
        hub: ReflectorHub,
        *,
        role: str = "reflector",
        mode: str = "auto",
        max_case_chars: int = 1500,
        max_program_chars: int = 40_000,
        max_tokens: int | None = None,
        temperature: float | None = None,
        read_char_cap: int = READ_CHAR_CAP,
        llm_budget: int = 1,
        call_timeout_s: float = 60.0,
        fix_rounds: int = 3,
    ) -> None:
        """``temperature=None`` uses the hub's default; ``read_char_cap``, ``llm_budget``,
        ``call_timeout_s`` and ``fix_rounds`` are only quoted in the prompts (the sandbox and
        the loop enforce them)."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self._hub = hub
        self.role = role
        self.mode = mode
        self.max_case_chars = max_case_chars
        self.max_program_chars = max_program_chars
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.fix_rounds = fix_rounds
        self._rules = {
            "read_char_cap": read_char_cap,
            "llm_budget": llm_budget,
            "call_timeout_s": float(call_timeout_s),
            "allowed_imports": ", ".join(sorted(ALLOWED_IMPORTS - {"__future__"})),
            "forbidden_calls": ", ".join(sorted(FORBIDDEN_CALLS)),
        }

    # -- prompts -------------------------------------------------------------------------------
    def reflect_messages(self, context: ReflectionContext,
                         step: TrimStep = REFLECT_LADDER[0]) -> list[Message]:
        """The reflection prompt for ``context`` (system + one user message), trimmed as
        ``step`` says (``evolve.meta.prompt_fit``)."""
        kept = replace(
            context,
            failed_cases=context.failed_cases[:_or(step.failed_cases, len(context.failed_cases))],
            success_cases=context.success_cases[:_or(step.success_cases,
                                                     len(context.success_cases))])
        sections = render_sections(kept, max_case_chars=min(self.max_case_chars,
                                                            _or(step.case_chars, 10**9)),
                                   max_program_chars=self.max_program_chars,
                                   show_query_prompt=step.query_prompt,
                                   lineage_keep=step.lineage_keep, write_chars=step.write_chars)
        user = render(
            "meta_reflect.j2", s=sections, want="full" if self.mode == "full" else "patch",
            parent_id=context.parent.program_id,
            other_id=context.other.program_id if context.other else "",
            iteration=context.iteration, freeze_instructions=context.freeze_instructions,
            freeze_code=context.freeze_code, interface_template=_interface(step), **self._rules)
        return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]

    def fix_messages(self, source: str, stage: str, message: str, attempt: int,
                     step: TrimStep = FIX_LADDER[0]) -> list[Message]:
        user = render("meta_fix.j2", program=render_program(source, self.max_program_chars),
                      stage=stage, message=truncate_middle(message, 4000), attempt=attempt,
                      max_attempts=self.fix_rounds, interface_template=_interface(step),
                      **self._rules)
        return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]

    def repair_messages(self, source: str, violation: str,
                        step: TrimStep = FIX_LADDER[0]) -> list[Message]:
        user = render("meta_repair.j2", program=render_program(source, self.max_program_chars),
                      violation=truncate_middle(violation, 4000),
                      interface_template=_interface(step), **self._rules)
        return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]

    def _fit(self, render_step: Any, ladder: tuple[TrimStep, ...], want: str, program: str,
             what: str) -> FittedPrompt:
        """``render_step`` at the first step of ``ladder`` that fits the reflector's window."""
        budget_of = getattr(self._hub, "prompt_budget", None)
        cap_of = getattr(self._hub, "reply_cap", None)
        budget = budget_of(self.role, self.max_tokens) if budget_of else None
        cap = cap_of(self.role, self.max_tokens) if cap_of else (self.max_tokens or 0)
        return fit_prompt(render_step, ladder, budget=budget, cap=cap,
                          min_reply=min_reply_tokens(want, program), what=what)

    def _follow_up(self, fitted: FittedPrompt, reply: str, follow: str, want: str,
                   program: str) -> tuple[list[Message], int | None] | None:
        """The conversation asking again and its reply cap. When the window is known, the
        first reply is cut head-and-tail to make room, and the cap lowered if still needed;
        None when not even the smallest useful answer would fit."""
        messages = [*fitted.messages, {"role": "assistant", "content": reply},
                    {"role": "user", "content": follow}]
        budget_of = getattr(self._hub, "prompt_budget", None)
        budget = budget_of(self.role, self.max_tokens) if budget_of else None
        if budget is None:
            return messages, fitted.max_tokens
        full_cap = self._hub.reply_cap(self.role, self.max_tokens)
        window, cap = budget + full_cap, fitted.max_tokens or full_cap
        over = estimate_tokens(messages) - (window - cap)
        if over > 0:
            keep_chars = max(1, len(reply) - int(over * CHARS_PER_TOKEN) - 64)
            messages[-2] = {"role": "assistant", "content": truncate_middle(reply, keep_chars)}
        tokens = estimate_tokens(messages)
        if tokens + cap > window:
            cap = window - tokens
            if cap < min_reply_tokens(want, program):
                return None
        return messages, cap

    # -- MetaAgent -----------------------------------------------------------------------------
    def propose(self, context: ReflectionContext) -> Proposal:
        """One child of ``context.parent`` (at most two reflector calls)."""
        parent = context.parent.source
        origin = "crossover" if context.other is not None else "mutation"
        want = "full" if self.mode == "full" else "patch"
        fitted = self._fit(lambda step: self.reflect_messages(context, step), REFLECT_LADDER,
                           want, parent, "the reflection prompt")
        reply = self._chat(fitted.messages, context, "propose", fitted.max_tokens)
        child = self._child_from(reply, parent, prefer=want)
        replies = [reply]
        if child.source is None:
            follow_want = "patch" if self.mode == "patch" else "full"
            follow = render("meta_patch_fix.j2", error=child.error, want=follow_want,
                            **self._rules)
            again = self._follow_up(fitted, reply, follow, follow_want, parent)
            if again is None:
                return self._failed(child, f"{child.error}; not asked again: no room left in "
                                    "the reflector's context window", replies, origin)
            retry = self._chat(again[0], context, "propose-retry", again[1])
            replies.append(retry)
            second = self._child_from(retry, parent, prefer=follow_want)
            if second.source is None:
                return self._failed(child, f"{child.error}; after asking again: {second.error}",
                                    replies, origin, second.parsed)
            child = _Child(second.source, second.mutator, _merge(second.parsed, child.parsed))
        return self._finish(context, child, parent, replies, origin,
                            default_commit="LLM mutation")

    def fix(self, context: ReflectionContext, source: str, stage: str, message: str,
            attempt: int) -> Proposal:
        """A corrected full program for a child rejected by gate ``stage``."""
        origin = "crossover" if context.other is not None else "mutation"
        fitted = self._fit(lambda step: self.fix_messages(source, stage, message, attempt, step),
                           FIX_LADDER, "full", source, "the gate-fix prompt")
        reply = self._chat(fitted.messages, context, f"fix:{attempt}:{stage}", fitted.max_tokens)
        child = self._child_from(reply, source, prefer="full", mutator_prefix="llm-fix")
        if child.source is None:
            return self._failed(child, child.error or "unusable reply", [reply], origin)
        return self._finish(context, child, source, [reply], origin,
                            default_commit=f"fix {stage} gate failure")

    def repair(self, context: ReflectionContext, source: str, violation: str) -> Proposal:
        """A repaired full program for a child that broke a runtime limit."""
        digest = hashlib.sha256(f"{source}\0{violation}".encode()).hexdigest()[:12]
        fitted = self._fit(lambda step: self.repair_messages(source, violation, step),
                           FIX_LADDER, "full", source, "the repair prompt")
        reply = self._chat(fitted.messages, context, f"repair:{digest}", fitted.max_tokens)
        child = self._child_from(reply, source, prefer="full", mutator_prefix="llm-repair")
        if child.source is None:
            return self._failed(child, child.error or "unusable reply", [reply], "repair")
        return self._finish(context, child, source, [reply], "repair",
                            default_commit="repair runtime-limit violation")

    # -- internals -----------------------------------------------------------------------------
    def _chat(self, messages: list[Message], context: ReflectionContext, step: str,
              max_tokens: int | None = None) -> str:
        kwargs: dict[str, Any] = {"max_tokens": max_tokens or self.max_tokens,
                                  "salt": f"meta:{context.seed}:{context.iteration}:{step}"}
        if self.temperature is not None:
            kwargs["temperature"] = self.temperature
        return self._hub.chat(self.role, messages, **kwargs).text or ""

    @staticmethod
    def _child_from(reply: str, base: str, *, prefer: str = "patch",
                    mutator_prefix: str = "llm") -> _Child:
        """Turn one reply into a program: apply its patch to ``base`` or take its program,
        trying first the kind that was asked for (``prefer``), then the other."""
        parsed = parse_reply(reply)
        patch_name, full_name = (f"{mutator_prefix}-patch", f"{mutator_prefix}-full") \
            if mutator_prefix == "llm" else (mutator_prefix, mutator_prefix)
        order = ("patch", "full") if prefer == "patch" else ("full", "patch")
        error: str | None = None
        for kind in order:
            if kind == "full" and parsed.full_source is not None:
                return _Child(parsed.full_source, full_name, parsed)
            if kind == "patch" and parsed.blocks:
                try:
                    return _Child(apply_patch(base, parsed.blocks), patch_name, parsed)
                except PatchError as exc:
                    error = f"the patch did not apply: {exc}"
        if error is not None:
            return _Child(None, patch_name, parsed, error)
        if not reply.strip():
            return _Child(None, full_name, parsed, "the reply was empty")
        return _Child(None, full_name, parsed, "the reply has neither SEARCH/REPLACE blocks nor "
                      "a ```python block with the complete program")

    def _failed(self, child: _Child, error: str, replies: list[str], origin: str,
                parsed: ParsedReply | None = None) -> Proposal:
        commit = (parsed.commit_message if parsed else "") or child.parsed.commit_message
        return Proposal(source=None, commit_message=commit, mutator=child.mutator, origin=origin,
                        error=error, raw_reply=REPLY_SEPARATOR.join(replies))

    def _finish(self, context: ReflectionContext, child: _Child, base: str, replies: list[str],
                origin: str, *, default_commit: str) -> Proposal:
        """Freeze, refuse a no-op, and package the child."""
        assert child.source is not None
        source = apply_freeze(context.parent.source, child.source,
                              instructions=context.freeze_instructions, code=context.freeze_code)
        if not source.endswith("\n"):
            source += "\n"
        commit = child.parsed.commit_message or _first_sentence(child.parsed.diagnosis) \
            or default_commit
        raw = REPLY_SEPARATOR.join(replies)
        if _canonical(source) in {_canonical(base), _canonical(context.parent.source)}:
            return Proposal(source=None, commit_message=commit, mutator=child.mutator,
                            origin=origin, error="no change", raw_reply=raw)
        return Proposal(source=source, commit_message=commit, mutator=child.mutator,
                        origin=origin, raw_reply=raw)


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


def _interface(step: TrimStep) -> str:
    return "meta_interface_short.j2" if step.short_interface else "meta_interface.j2"


def _merge(second: ParsedReply, first: ParsedReply) -> ParsedReply:
    """The follow-up reply, keeping the first reply's commit message / diagnosis if it has none."""
    return ParsedReply(second.commit_message or first.commit_message, second.blocks,
                       second.full_source, second.diagnosis or first.diagnosis)
