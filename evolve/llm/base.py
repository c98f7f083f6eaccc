"""Model contracts shared by the task agent, the toolkit callbacks, judges and the meta-agent.

Roles (docs/config.md, ``[models]``): ``task`` (extraction, query, answer, action), ``toolkit`` (calls made
by programs inside the sandbox), ``judge``, ``reflector`` (meta-agent) and ``embedder``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": str}

ROLES = ("task", "toolkit", "judge", "reflector", "embedder")


@dataclass(frozen=True)
class Completion:
    """One chat completion as the caller sees it."""

    text: str
    tokens_in: int = 0
    tokens_out: int = 0
    cached: bool = False
    latency_s: float = 0.0
    retried: tuple[str, ...] = ()  # transient failures retried before this answer came
    truncated: bool = False  # the reply was cut at max_tokens (finish_reason "length")


@dataclass(frozen=True)
class CallRecord:
    """One logged model call (kept per evaluation; persisted to DuckDB by campaigns)."""

    role: str
    model: str
    kind: str  # "chat" | "embed"
    tokens_in: int
    tokens_out: int
    cost_usd: float
    latency_s: float
    cached: bool
    error: str | None = None          # the call failed for good with this error
    retries: int = 0                  # transient failures retried before success/failure
    retry_errors: str | None = None   # what those failures were ("HTTP 429; timed out")
    truncated: bool = False           # the reply was cut at max_tokens


@runtime_checkable
class ChatModel(Protocol):
    """A chat model.

    Contract: ``complete`` returns the assistant text for ``messages``. With ``json_mode`` the
    caller expects a single JSON object (the model is asked for one; callers still parse
    defensively). ``max_tokens`` caps the reply (``Completion.truncated`` when it was cut
    there). Raises ``evolve.errors.EndpointError`` when the endpoint cannot be used at all and
    ``evolve.errors.CallFailed`` when one call failed for good; transient failures are retried
    inside the implementation. Remote models also accept ``extra_body`` (request fields).
    """

    name: str

    def complete(
        self,
        messages: list[Message],
        *,
        json_mode: bool = False,
        temperature: float = 0.0,
        max_tokens: int | None = None,
    ) -> Completion: ...


@runtime_checkable
class Embedder(Protocol):
    """A text embedder.

    Contract: ``embed(texts)`` returns a float32 array of shape ``(len(texts), dim)`` whose rows
    are L2-normalised (so a dot product is the cosine similarity). Deterministic for a given
    model. Empty input returns shape ``(0, dim)``.
    """

    name: str
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray: ...
