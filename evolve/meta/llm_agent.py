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

Determinism: prompts are pure functions of the context; every call carries a salt built from
the context's seed and iteration, so a cached reply is reused only for the same step of the same
campaign, and repeated steps with identical prompts still get fresh replies.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from dataclasses import dataclass
from typing import Any, Protocol

from evolve_sandbox.importguard import ALLOWED_IMPORTS

from ..agent.prompts import render
from ..llm.base import Completion, Message
from ..program.parsing import parse_source
from ..program.static_gate import FORBIDDEN_CALLS
from .base import Proposal, ReflectionContext
from .context_render import render_program, render_sections, truncate_middle
from .freeze import apply_freeze
from .patch import ParsedReply, PatchError, apply_patch, parse_reply

MODES = ("auto", "patch", "full")
SYSTEM_PROMPT = (
    "You are the meta-agent of an evolutionary search over memory programs for LLM agents: you "
    "read how a program behaved, diagnose its failures and write improved Python programs. "
    "Always answer in the exact format the user asks for."
)
REPLY_SEPARATOR = "\n\n----- next reply -----\n\n"


class ReflectorHub(Protocol):
    """The part of ``evolve.llm.hub.ModelHub`` the meta-agent uses."""

    def chat(self, role: str, messages: list[Message], *, json_mode: bool = False,
             **kwargs: Any) -> Completion: ...


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
        read_char_cap: int = 3000,
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
    def reflect_messages(self, context: ReflectionContext) -> list[Message]:
        """The reflection prompt for ``context`` (system + one user message)."""
        sections = render_sections(context, max_case_chars=self.max_case_chars,
                                   max_program_chars=self.max_program_chars)
        user = render(
            "meta_reflect.j2", s=sections, want="full" if self.mode == "full" else "patch",
            parent_id=context.parent.program_id,
            other_id=context.other.program_id if context.other else "",
            iteration=context.iteration, freeze_instructions=context.freeze_instructions,
            freeze_code=context.freeze_code, **self._rules)
        return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]

    def fix_messages(self, source: str, stage: str, message: str, attempt: int) -> list[Message]:
        user = render("meta_fix.j2", program=render_program(source, self.max_program_chars),
                      stage=stage, message=truncate_middle(message, 4000), attempt=attempt,
                      max_attempts=self.fix_rounds, **self._rules)
        return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]

    def repair_messages(self, source: str, violation: str) -> list[Message]:
        user = render("meta_repair.j2", program=render_program(source, self.max_program_chars),
                      violation=truncate_middle(violation, 4000), **self._rules)
        return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]

    # -- MetaAgent -----------------------------------------------------------------------------
    def propose(self, context: ReflectionContext) -> Proposal:
        """One child of ``context.parent`` (at most two reflector calls)."""
        parent = context.parent.source
        origin = "crossover" if context.other is not None else "mutation"
        messages = self.reflect_messages(context)
        want = "full" if self.mode == "full" else "patch"
        reply = self._chat(messages, context, "propose")
        child = self._child_from(reply, parent, prefer=want)
        replies = [reply]
        if child.source is None:
            follow_want = "patch" if self.mode == "patch" else "full"
            follow = render("meta_patch_fix.j2", error=child.error, want=follow_want,
                            **self._rules)
            retry = self._chat([*messages, {"role": "assistant", "content": reply},
                                {"role": "user", "content": follow}], context, "propose-retry")
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
        reply = self._chat(self.fix_messages(source, stage, message, attempt), context,
                           f"fix:{attempt}:{stage}")
        child = self._child_from(reply, source, prefer="full", mutator_prefix="llm-fix")
        if child.source is None:
            return self._failed(child, child.error or "unusable reply", [reply], origin)
        return self._finish(context, child, source, [reply], origin,
                            default_commit=f"fix {stage} gate failure")

    def repair(self, context: ReflectionContext, source: str, violation: str) -> Proposal:
        """A repaired full program for a child that broke a runtime limit."""
        digest = hashlib.sha256(f"{source}\0{violation}".encode()).hexdigest()[:12]
        reply = self._chat(self.repair_messages(source, violation), context, f"repair:{digest}")
        child = self._child_from(reply, source, prefer="full", mutator_prefix="llm-repair")
        if child.source is None:
            return self._failed(child, child.error or "unusable reply", [reply], "repair")
        return self._finish(context, child, source, [reply], "repair",
                            default_commit="repair runtime-limit violation")

    # -- internals -----------------------------------------------------------------------------
    def _chat(self, messages: list[Message], context: ReflectionContext, step: str) -> str:
        kwargs: dict[str, Any] = {"max_tokens": self.max_tokens,
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


def _merge(second: ParsedReply, first: ParsedReply) -> ParsedReply:
    """The follow-up reply, keeping the first reply's commit message / diagnosis if it has none."""
    return ParsedReply(second.commit_message or first.commit_message, second.blocks,
                       second.full_source, second.diagnosis or first.diagnosis)
