"""Per-role generation limits and the context-window arithmetic every chat call goes through.

Why per role: an answer needs tens of tokens, an extraction a few hundred, a program a few
thousand. A request without ``max_tokens`` lets a local model (llama.cpp, Ollama) generate to
the end of its context window -- minutes per call on a small CPU -- and at temperature 0 every
retry repeats the same runaway. So every call the hub makes carries its role's cap
(``RoleLimits.max_tokens_for``), and a caller's own ``max_tokens`` (a program calling
``toolkit.llm_completion(max_tokens=...)``) can lower the cap but never raise it.

Prompt size: ``estimate_tokens`` is a deliberately *conservative* estimate (it errs high), used
to refuse before sending a prompt that cannot fit (``PromptTooLong``) and to trim the
reflector's prompt (``evolve.meta.prompt_fit``). English BPE text averages about 4 characters
per token; code, JSON, numbers and names run closer to 3, so the estimate assumes
``CHARS_PER_TOKEN = 3`` plus ``MESSAGE_OVERHEAD`` tokens per message for the chat template's
role tags and ``REPLY_OVERHEAD`` for the assistant header. Where the server can count exactly
(llama.cpp's ``/extras/tokenize/count``), a prompt the estimate refuses is counted again
before it is refused (``evolve.llm.server_info``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from evolve.errors import PromptTooLong
from evolve.llm.base import Message

LIMITED_ROLES = ("task", "toolkit", "judge", "reflector")
DEFAULT_MAX_TOKENS: dict[str, int] = {"task": 512, "toolkit": 512, "judge": 256,
                                      "reflector": 4096}
CHARS_PER_TOKEN = 3.0
MESSAGE_OVERHEAD = 8
REPLY_OVERHEAD = 16
# Keys of the request body the client sets itself; ``extra_body`` may not replace them.
RESERVED_BODY_KEYS = frozenset({"model", "messages", "max_tokens", "response_format",
                                "temperature", "stream"})


def estimate_text_tokens(text: str) -> int:
    """Conservative token count of one text (rounds up; 0 for the empty string)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def estimate_tokens(messages: list[Message]) -> int:
    """Conservative token count of a chat prompt, template overhead included."""
    body = sum(estimate_text_tokens(str(m.get("content", ""))) for m in messages)
    return body + MESSAGE_OVERHEAD * len(messages) + REPLY_OVERHEAD


def prompt_budget(context_window: int, max_tokens: int) -> int | None:
    """Tokens left for the prompt once ``max_tokens`` are reserved for the reply (None when
    the window is unknown, i.e. 0)."""
    if context_window <= 0:
        return None
    return context_window - max_tokens


def too_long_message(model: str, prompt_tokens: int, max_tokens: int, window: int,
                     how: str = "estimated") -> str:
    return (f"prompt for model '{model}' too long: {how} {prompt_tokens} prompt tokens + "
            f"max_tokens {max_tokens} > context window {window}; not sent")


def check_fits(model: str, messages: list[Message], max_tokens: int, window: int) -> int:
    """The estimated prompt tokens; raises ``PromptTooLong`` when the prompt plus
    ``max_tokens`` would exceed ``window`` (a window of 0 is unknown: everything fits)."""
    tokens = estimate_tokens(messages)
    if window > 0 and tokens + max_tokens > window:
        raise PromptTooLong(too_long_message(model, tokens, max_tokens, window))
    return tokens


@dataclass(frozen=True)
class RoleLimits:
    """Generation caps and request extras per chat role (``[models]`` of a campaign config).

    ``max_tokens`` maps roles to caps (roles not listed use ``DEFAULT_MAX_TOKENS``);
    ``extra_body`` maps roles to dicts merged into that role's request body (e.g. llama.cpp's
    ``{"top_k": 40}`` or vLLM's ``{"guided_json": ...}``); ``context_window`` (tokens, 0 =
    unknown: ask the server) applies to every chat model of the hub.
    """

    max_tokens: Mapping[str, int] = field(default_factory=dict)
    extra_body: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    context_window: int = 0

    def cap(self, role: str) -> int:
        """The cap of ``role`` (the task role's for a role without one of its own)."""
        if role in self.max_tokens:
            return int(self.max_tokens[role])
        return int(DEFAULT_MAX_TOKENS.get(role, DEFAULT_MAX_TOKENS["task"]))

    def max_tokens_for(self, role: str, requested: int | None) -> int:
        """What a call of ``role`` sends: the caller's ``requested`` value, at most the cap."""
        cap = self.cap(role)
        if requested is None or requested <= 0:
            return cap
        return min(int(requested), cap)

    def extra_body_for(self, role: str) -> dict[str, Any]:
        return dict(self.extra_body.get(role) or {})


def check_max_tokens_table(value: Mapping[str, Any]) -> str | None:
    """Validation of a ``[models.max_tokens]`` table (None when fine)."""
    for role, cap in value.items():
        if role not in LIMITED_ROLES:
            return f"unknown role {role!r} (roles: {', '.join(LIMITED_ROLES)})"
        if isinstance(cap, bool) or not isinstance(cap, int) or cap <= 0:
            return f"{role}: expected an integer greater than 0, got {cap!r}"
    return None


def check_extra_body_table(value: Mapping[str, Any]) -> str | None:
    """Validation of a ``[models.extra_body]`` table: one sub-table per role."""
    for role, body in value.items():
        if role not in LIMITED_ROLES:
            return f"unknown role {role!r} (roles: {', '.join(LIMITED_ROLES)})"
        if not isinstance(body, Mapping):
            return f"{role}: expected a table of request fields, got {body!r}"
        reserved = sorted(RESERVED_BODY_KEYS & set(body))
        if reserved:
            return (f"{role}: {', '.join(reserved)} cannot be set here: evolve sets them "
                    f"itself (the reply cap is models.max_tokens)")
    return None
