"""Which failed requests are retried, how long to wait, and what a final failure is called.

Shared by the chat model and the embedder (``RetryPolicy.run``). The policy is written for
servers as they behave, including a one-slot local server (llama.cpp, Ollama) that keeps
generating for a client that has gone away:

- retried with exponential backoff + jitter: HTTP 408/409/429/5xx, connection errors,
  malformed bodies. A server's ``Retry-After`` (or ``retry-after-ms``) on any of these replaces
  the backoff (capped at ``max_retry_after``): a 429 from a rate limiter or a 503 from Ollama's
  full queue says when to come back.
- timeouts: retried only when ``retry_timeouts`` is true. Chat calls at temperature 0 pass
  false: a greedy request that timed out generates the same tokens again and times out again,
  while the server is still busy with the abandoned copy, so a retry only piles duplicate work
  onto it. Such a call fails at once with ``RequestTimedOut``. (Sampling at temperature > 0 may
  end sooner, so those timeouts are retried after the backoff.)
- never retried: 401/403 and 429 ``insufficient_quota`` -> ``EndpointAuthError``; 404 ->
  ``ModelNotFoundError``; every other 4xx -> ``RequestRejected`` with the server's message
  (e.g. 400 ``context_length_exceeded``): the same request would be refused again.
- retries exhausted -> ``RequestTimedOut`` when the last attempt timed out, else
  ``EndpointUnreachable``. Once Ctrl-C set ``evolve.llm.cancel.INTERRUPTED``, no attempt
  starts, no backoff is waited out, and the call ends with ``CallCancelled``.
Every error is an ``EndpointError`` whose message is one line naming the model and the URL;
the final failures of a call are ``CallFailed`` (the caller may fail one item for them).
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import openai

from evolve.errors import CallFailed, EndpointError, RequestRejected, RequestTimedOut
from evolve.llm.cancel import INTERRUPTED, CallCancelled

T = TypeVar("T")

__all__ = ["CallCancelled", "EndpointAuthError", "EndpointUnreachable", "MalformedReply",
           "ModelNotFoundError", "RequestRejected", "RequestTimedOut", "RetryPolicy",
           "one_line"]


class EndpointAuthError(EndpointError):
    """401/403: the key is missing, wrong or lacks access."""


class ModelNotFoundError(EndpointError):
    """404: the endpoint does not serve this model."""


class EndpointUnreachable(CallFailed):
    """Transient failures persisted past the retry budget (down, overloaded, rate limited)."""


class MalformedReply(ValueError):
    """A 200 reply whose JSON is not a chat completion (retried like a malformed body)."""


def one_line(text: object, limit: int = 300) -> str:
    """Collapse whitespace so an error message stays on one line (CLI contract)."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def retry_after_seconds(exc: openai.APIStatusError) -> float | None:
    """The server's ``retry-after-ms`` / ``Retry-After`` (seconds) in a reply, if any."""
    headers = getattr(exc.response, "headers", None) or {}
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) * scale)
        except ValueError:
            return None  # an HTTP date: fall back to our own backoff
    return None


def error_code(exc: openai.APIStatusError) -> str | None:
    body = exc.body
    inner = body.get("error", body) if isinstance(body, dict) else None
    return str(inner.get("code")) if isinstance(inner, dict) and inner.get("code") else None


def error_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str) and inner:
            return inner
    return str(exc.message)


@dataclass
class RetryPolicy:
    """Exponential backoff with jitter; ``seed`` makes the jitter sequence reproducible.

    Delay before retry ``n`` (0-based) is ``min(max_delay, base_delay * 2**n)`` scaled by a
    jitter factor in [0.5, 1.0]; a server's ``Retry-After`` replaces it (capped at
    ``max_retry_after``). ``sleep`` is injectable for tests; the default waits on the
    interrupt flag, so Ctrl-C ends a backoff at once.
    """

    max_retries: int = 4
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_retry_after: float = 60.0
    seed: int | None = None
    sleep: Callable[[float], None] | None = None
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def backoff(self, attempt: int) -> float:
        with self._lock:  # random.Random is not safe to share across threads unlocked
            jitter = 0.5 + 0.5 * self._rng.random()
        return min(self.max_delay, self.base_delay * (2**attempt)) * jitter

    def _wait(self, seconds: float) -> None:
        if self.sleep is not None:
            self.sleep(seconds)
        else:
            INTERRUPTED.wait(seconds)

    def run(self, call: Callable[[], T], *, model: str, url: str,
            failures: list[str] | None = None, retry_timeouts: bool = True,
            timeout: float | None = None) -> T:
        """Run ``call`` with this policy, translating failures into one-line EndpointErrors.

        Each transient failure that is retried is appended to ``failures`` (when given), so
        callers can log them although the call eventually succeeded. ``retry_timeouts=False``
        fails a timed-out attempt at once (see the module docstring); ``timeout`` is only
        quoted in that message.
        """
        last, timed_out = "no attempt made", False
        for attempt in range(self.max_retries + 1):
            if INTERRUPTED.is_set():
                raise CallCancelled(f"call to model '{model}' at {url} cancelled (interrupted)")
            try:
                return call()
            except openai.APIStatusError as exc:
                delay = self._status_delay(exc, attempt, model, url)
                last, timed_out = f"HTTP {exc.status_code}" + (
                    " (rate limited)" if exc.status_code == 429 else ""), False
            except openai.APITimeoutError:
                last, timed_out, delay = "timed out", True, self.backoff(attempt)
                if not retry_timeouts:
                    after = f" after {timeout:g} s" if timeout else ""
                    raise RequestTimedOut(
                        f"request to model '{model}' at {url} timed out{after}; not retried at "
                        "temperature 0 (the same request would time out again)") from None
            except openai.APIConnectionError as exc:
                if INTERRUPTED.is_set():  # our own Ctrl-C shut the socket
                    raise CallCancelled(
                        f"call to model '{model}' at {url} cancelled (interrupted)") from None
                cause = exc.__cause__ or exc
                last, timed_out = f"connection error: {one_line(cause, 120)}", False
                delay = self.backoff(attempt)
            except (json.JSONDecodeError, MalformedReply,
                    openai.APIResponseValidationError) as exc:
                last, timed_out = f"malformed response: {one_line(exc, 120)}", False
                delay = self.backoff(attempt)
            if attempt < self.max_retries:
                if failures is not None:
                    failures.append(last)
                self._wait(delay)
        attempts = f"{self.max_retries + 1} attempt{'s' if self.max_retries else ''}"
        if timed_out:
            raise RequestTimedOut(f"request to model '{model}' at {url} timed out on each of "
                                  f"{attempts}")
        raise EndpointUnreachable(
            f"endpoint {url} unreachable for model '{model}' after {attempts}: {last}")

    def _status_delay(self, exc: openai.APIStatusError, attempt: int, model: str,
                      url: str) -> float:
        """The wait before retrying an HTTP error, or the final error it is."""
        status = exc.status_code
        if status in (401, 403):
            raise EndpointAuthError(
                f"authentication failed for model '{model}' at {url} (HTTP {status}):"
                f" {one_line(error_message(exc))}") from None
        if status == 404:
            raise ModelNotFoundError(f"model '{model}' not found at {url}") from None
        if status == 429 and error_code(exc) == "insufficient_quota":
            # OpenAI's billing refusal shares the rate-limit status; waiting won't help.
            raise EndpointAuthError(
                f"quota exhausted for model '{model}' at {url} (HTTP 429):"
                f" {one_line(error_message(exc))}") from None
        if status not in (408, 409, 429) and status < 500:
            code = error_code(exc)
            raise RequestRejected(
                f"request to model '{model}' at {url} rejected (HTTP {status}"
                + (f" {code}" if code else "") + f"): {one_line(error_message(exc))}") from None
        after = retry_after_seconds(exc)
        return self.backoff(attempt) if after is None else min(after, self.max_retry_after)
