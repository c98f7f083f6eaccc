"""Chat model over any OpenAI-compatible endpoint (OpenAI, Azure, vLLM, Ollama, llama.cpp).

Uses the official ``openai`` client with its own retries switched off: retrying here keeps the
policy (which errors, how long to wait, jitter seed, Retry-After) in one place and testable.

Error policy (``complete`` and the embedder share it through ``RetryPolicy.run``):
- retried with exponential backoff + jitter: HTTP 429 (``Retry-After`` honoured, capped),
  408/409/5xx, timeouts, connection errors, malformed JSON bodies;
- not retried: 401/403 and 429 ``insufficient_quota`` -> ``EndpointAuthError``; 404 ->
  ``ModelNotFoundError``; other 4xx -> ``RequestRejected``;
- retries exhausted -> ``EndpointUnreachable``.
All are ``EndpointError`` subclasses whose message is one line naming the model and the URL.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import openai

from evolve.errors import EndpointError
from evolve.llm.base import Completion, Message
from evolve.llm.client_ring import MAX_CLIENTS, ClientRing

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.openai.com/v1"


class EndpointAuthError(EndpointError):
    """401/403: the key is missing, wrong or lacks access."""


class ModelNotFoundError(EndpointError):
    """404: the endpoint does not serve this model."""


class EndpointUnreachable(EndpointError):
    """Transient failures persisted past the retry budget (down, overloaded, rate limited)."""


class RequestRejected(EndpointError):
    """Another 4xx: the endpoint refused this request (e.g. context too long)."""


class MalformedReply(ValueError):
    """A 200 reply whose JSON is not a chat completion (retried like a malformed body)."""


def resolve_endpoint(base_url: str | None, api_key: str | None) -> tuple[str, str | None]:
    """Base URL and key from the arguments, else ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``."""
    url = base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
    key = api_key or os.environ.get("OPENAI_API_KEY")
    return url.rstrip("/"), key


def one_line(text: object, limit: int = 300) -> str:
    """Collapse whitespace so an error message stays on one line (CLI contract)."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _retry_after_seconds(exc: openai.APIStatusError) -> float | None:
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


@dataclass
class RetryPolicy:
    """Exponential backoff with jitter; ``seed`` makes the jitter sequence reproducible.

    Delay before retry ``n`` (0-based) is ``min(max_delay, base_delay * 2**n)`` scaled by a
    jitter factor in [0.5, 1.0]; a server's ``Retry-After`` replaces it (capped at
    ``max_retry_after``). ``sleep`` is injectable for tests.
    """

    max_retries: int = 4
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_retry_after: float = 60.0
    seed: int | None = None
    sleep: Callable[[float], None] = time.sleep
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def backoff(self, attempt: int) -> float:
        with self._lock:  # random.Random is not safe to share across threads unlocked
            jitter = 0.5 + 0.5 * self._rng.random()
        return min(self.max_delay, self.base_delay * (2**attempt)) * jitter

    def run(self, call: Callable[[], T], *, model: str, url: str,
            failures: list[str] | None = None) -> T:
        """Run ``call`` with this policy, translating failures into one-line EndpointErrors.

        Each transient failure that is retried is appended to ``failures`` (when given), so
        callers can log them although the call eventually succeeded.
        """
        last = "no attempt made"
        for attempt in range(self.max_retries + 1):
            try:
                return call()
            except openai.APIStatusError as exc:
                status = exc.status_code
                if status in (401, 403):
                    raise EndpointAuthError(
                        f"authentication failed for model '{model}' at {url} (HTTP {status}):"
                        f" {one_line(_error_message(exc))}"
                    ) from None
                if status == 404:
                    raise ModelNotFoundError(f"model '{model}' not found at {url}") from None
                if status == 429 and _error_code(exc) == "insufficient_quota":
                    # OpenAI's billing refusal shares the rate-limit status; waiting won't help.
                    raise EndpointAuthError(
                        f"quota exhausted for model '{model}' at {url} (HTTP 429):"
                        f" {one_line(_error_message(exc))}"
                    ) from None
                if status not in (408, 409, 429) and status < 500:
                    raise RequestRejected(
                        f"request to model '{model}' at {url} rejected (HTTP {status}):"
                        f" {one_line(_error_message(exc))}"
                    ) from None
                last = f"HTTP {status}" + (" (rate limited)" if status == 429 else "")
                delay = _retry_after_seconds(exc) if status == 429 else None
                delay = self.backoff(attempt) if delay is None else min(delay, self.max_retry_after)
            except openai.APITimeoutError:
                last, delay = "timed out", self.backoff(attempt)
            except openai.APIConnectionError as exc:
                cause = exc.__cause__ or exc
                last, delay = f"connection error: {one_line(cause, 120)}", self.backoff(attempt)
            except (json.JSONDecodeError, MalformedReply,
                    openai.APIResponseValidationError) as exc:
                last, delay = f"malformed response: {one_line(exc, 120)}", self.backoff(attempt)
            if attempt < self.max_retries:
                if failures is not None:
                    failures.append(last)
                self.sleep(delay)
        raise EndpointUnreachable(
            f"endpoint {url} unreachable for model '{model}' after"
            f" {self.max_retries + 1} attempts: {last}"
        )


def _error_code(exc: openai.APIStatusError) -> str | None:
    body = exc.body
    inner = body.get("error", body) if isinstance(body, dict) else None
    return str(inner.get("code")) if isinstance(inner, dict) and inner.get("code") else None


def _error_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return str(exc.message)


def make_client(url: str, key: str | None, timeout: float) -> openai.OpenAI:
    """An OpenAI client with built-in retries off (``RetryPolicy`` retries instead)."""
    # Local servers (vLLM, Ollama, llama.cpp) accept any key; the client insists on one.
    return openai.OpenAI(api_key=key or "not-needed", base_url=url, timeout=timeout, max_retries=0)


class OpenAIChatModel:
    """``ChatModel`` over ``/chat/completions``; thread-safe.

    ``limiter`` bounds concurrent requests to the endpoint; pass the same semaphore to every
    model that shares an endpoint (the factory does), else each model gets its own bound of
    ``concurrency``. Requests in flight together are spread over up to ``max_clients`` clients
    (``client_ring``). ``Completion.latency_s`` covers retries and backoff but not the wait for
    the limiter (that wait is our own throttling, not the endpoint's latency).
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        retry: RetryPolicy | None = None,
        concurrency: int = 8,
        limiter: threading.Semaphore | None = None,
        extra_body: dict[str, Any] | None = None,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        self.name = model
        self.base_url, self._api_key = resolve_endpoint(base_url, api_key)
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.limiter = limiter or threading.BoundedSemaphore(max(1, concurrency))
        self.extra_body = extra_body
        # Several clients once many requests are in flight, so they do not all queue behind
        # one connection pool's lock (see `client_ring`).
        self._clients = ClientRing(lambda: make_client(self.base_url, self._api_key, timeout),
                                   max_clients=max_clients)

    @property
    def _client(self) -> openai.OpenAI:
        return self._clients.first

    def __repr__(self) -> str:
        return f"OpenAIChatModel({self.name!r}, base_url={self.base_url!r})"

    def complete(
        self,
        messages: list[Message],
        *,
        json_mode: bool = False,
        temperature: float = 0.0,
        max_tokens: int | None = None,
    ) -> Completion:
        body: dict[str, Any] = {"model": self.name, "messages": messages,
                                "temperature": temperature}
        if json_mode:
            body["response_format"] = {"type": "json_object"}
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        if self.extra_body:
            body.update(self.extra_body)
        failures: list[str] = []
        with self.limiter:
            start = time.perf_counter()
            text, tokens_in, tokens_out = self.retry.run(
                lambda: self._post_chat(body),
                model=self.name,
                url=self.base_url,
                failures=failures,
            )
            latency = time.perf_counter() - start
        return Completion(
            text=text,
            tokens_in=tokens_in if tokens_in is not None else _estimate_tokens(messages),
            tokens_out=tokens_out if tokens_out is not None else max(1, len(text) // 4),
            cached=False,
            latency_s=latency,
            retried=tuple(failures),
        )

    def _post_chat(self, body: dict[str, Any]) -> tuple[str, int | None, int | None]:
        """One ``POST /chat/completions``: (text, prompt tokens, completion tokens).

        Sent with the client's documented raw-request method (``client.post``, the reply as
        bytes: JSON is UTF-8 and ``json.loads`` reads bytes, so the client's charset guessing
        for a bare ``application/json`` is skipped). Same transport, auth, headers and
        status-error mapping as ``chat.completions.create``, minus its request-params transform
        and response-model construction, which cost ~1 ms of CPU per call
        (``bench/client_overhead.py``); under a batch of concurrent evaluations that CPU,
        serialised by the GIL, became the bottleneck.
        """
        with self._clients.lease() as client:
            raw = client.post("/chat/completions", body=body, cast_to=bytes)
        return parse_chat_reply(json.loads(raw))

    def list_models(self) -> list[str]:
        """Model ids the endpoint advertises (``GET /models``), with the retry policy."""
        page = self.retry.run(self._client.models.list, model=self.name, url=self.base_url)
        return [m.id for m in page]

    def ping(self, retry: RetryPolicy | None = None) -> None:
        """One cheap request proving the endpoint answers for this model (raises EndpointError).

        Tries ``GET /models/{name}`` first (free); endpoints that do not implement it (some
        local servers) get a 1-token completion instead. ``retry`` overrides the policy (the
        preflight uses a short one so a dead endpoint fails fast).
        """
        policy = retry or self.retry
        try:
            policy.run(lambda: self._client.models.retrieve(self.name), model=self.name, url=self.base_url)
            return
        except (ModelNotFoundError, RequestRejected):
            pass  # no per-model route here (or a wrong 404): ask the model itself
        messages = [{"role": "user", "content": "ping"}]
        with self.limiter:
            policy.run(
                lambda: self._client.chat.completions.create(model=self.name, messages=messages, max_tokens=1),
                model=self.name,
                url=self.base_url,
            )


def parse_chat_reply(payload: Any) -> tuple[str, int | None, int | None]:
    """Text and token counts of a chat-completion JSON body (None where usage is absent).

    No choice (or a null content) is an empty answer, as the typed client gave; a body that is
    not a completion object at all raises ``MalformedReply`` so the retry policy retries it.
    """
    if not isinstance(payload, dict):
        raise MalformedReply(f"expected a JSON object, got {type(payload).__name__}")
    choices = payload.get("choices")
    if choices is not None and not isinstance(choices, list):
        raise MalformedReply("'choices' is not a list")
    text = ""
    if choices:
        first = choices[0]
        message = first.get("message") if isinstance(first, dict) else None
        if not isinstance(message, dict):
            raise MalformedReply("choice without a message object")
        content = message.get("content")
        if content is not None and not isinstance(content, str):
            raise MalformedReply("message content is not a string")
        text = content or ""
    usage = payload.get("usage")
    tokens_in = tokens_out = None
    if isinstance(usage, dict):
        tokens_in = _count(usage.get("prompt_tokens"))
        tokens_out = _count(usage.get("completion_tokens"))
    return text, tokens_in, tokens_out


def _count(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and value >= 0 else None


def _estimate_tokens(messages: list[Message]) -> int:
    """Rough token count (4 chars per token) for endpoints that report no usage."""
    return max(1, sum(len(str(m.get("content", ""))) for m in messages) // 4)
