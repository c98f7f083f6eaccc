"""Chat model over any OpenAI-compatible endpoint (OpenAI, Azure, vLLM, Ollama, llama.cpp).

Uses the official ``openai`` client with its own retries switched off: retrying here keeps the
policy (which errors, how long to wait, jitter seed, Retry-After) in one place and testable
(``evolve.llm.retry``: which failures are retried and what the final errors are).

Every request carries ``max_tokens`` (the caller's, else ``default_max_tokens``): without it a
local server generates to the end of its context window. A reply cut there
(``finish_reason == "length"``) comes back with ``Completion.truncated``. When the model's
context window is known (given, or reported by the server: ``evolve.llm.server_info``) a prompt
whose estimated size plus ``max_tokens`` exceeds it is refused before sending
(``PromptTooLong``). ``timeout`` bounds each request attempt (waiting for the server's reply);
time spent queued for this model's own concurrency slots is not part of it.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any

import openai
from openai.types.chat import ChatCompletionMessageParam

from evolve.errors import EndpointError, PromptTooLong, RequestRejected, RequestTimedOut
from evolve.llm.base import Completion, Message
from evolve.llm.cancel import SocketTracker, track_transport
from evolve.llm.client_ring import MAX_CLIENTS, ClientRing
from evolve.llm.limits import DEFAULT_MAX_TOKENS, check_fits, too_long_message
from evolve.llm.retry import (
    CallCancelled,
    EndpointAuthError,
    EndpointUnreachable,
    MalformedReply,
    ModelNotFoundError,
    RetryPolicy,
    one_line,
)
from evolve.llm.server_info import TokenCounter, discover_context_window

__all__ = ["CallCancelled", "EndpointAuthError", "EndpointUnreachable", "MalformedReply",
           "ModelNotFoundError", "OpenAIChatModel", "RequestRejected", "RequestTimedOut",
           "RetryPolicy", "make_client", "one_line", "parse_chat_reply", "resolve_endpoint"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"


def resolve_endpoint(base_url: str | None, api_key: str | None) -> tuple[str, str | None]:
    """Base URL and key from the arguments, else ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``."""
    url = base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
    key = api_key or os.environ.get("OPENAI_API_KEY")
    return url.rstrip("/"), key


def make_client(url: str, key: str | None, timeout: float,
                tracker: SocketTracker | None = None) -> openai.OpenAI:
    """An OpenAI client with built-in retries off (``RetryPolicy`` retries instead).

    With a ``tracker``, every socket the client opens is recorded there, so that Ctrl-C can
    shut it and end a request blocked on a slow server (``evolve.llm.cancel``).
    """
    http_client = None
    if tracker is not None:
        httpx = _httpx_module()
        # the openai client's own connection limits (its default pool, which we replace)
        limits = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
        transport = httpx.HTTPTransport(limits=limits)
        if track_transport(transport, tracker):
            http_client = openai.DefaultHttpxClient(transport=transport)
    # Local servers (vLLM, Ollama, llama.cpp) accept any key; the client insists on one.
    return openai.OpenAI(api_key=key or "not-needed", base_url=url, timeout=timeout,
                         max_retries=0, http_client=http_client)


def _httpx_module() -> Any:
    """The HTTP library this ``openai`` version is built on (``httpx``, or ``httpx2`` in 3.x)."""
    base = next(cls for cls in openai.DefaultHttpxClient.__mro__[1:]
                if cls.__name__ == "Client")
    return sys.modules[base.__module__.split(".")[0]]


class OpenAIChatModel:
    """``ChatModel`` over ``/chat/completions``; thread-safe.

    ``limiter`` bounds concurrent requests to the endpoint; pass the same semaphore to every
    model that shares an endpoint (the factory does), else each model gets its own bound of
    ``concurrency``. Requests in flight together are spread over up to ``max_clients`` clients
    (``client_ring``). ``Completion.latency_s`` covers retries and backoff but not the wait for
    the limiter (that wait is our own throttling, not the endpoint's latency).

    ``context_window`` (tokens; 0 = ask the server once, see ``server_info``) and
    ``default_max_tokens`` (sent when a caller gives none) bound every request; ``revision``
    is a label only (the response cache keys on it); ``extra_body`` is merged into every
    request body (a call's own ``extra_body`` on top).
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
        context_window: int = 0,
        revision: str = "",
        default_max_tokens: int = DEFAULT_MAX_TOKENS["task"],
    ) -> None:
        self.name = model
        self.base_url, self._api_key = resolve_endpoint(base_url, api_key)
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.limiter = limiter or threading.BoundedSemaphore(max(1, concurrency))
        self.extra_body = extra_body
        self.revision = revision
        self.default_max_tokens = max(1, int(default_max_tokens))
        self._window = max(0, int(context_window))
        self._window_known = self._window > 0
        self._window_lock = threading.Lock()
        self._counter = TokenCounter(self.base_url)
        self._sockets = SocketTracker()
        # Several clients once many requests are in flight, so they do not all queue behind
        # one connection pool's lock (see `client_ring`).
        self._clients = ClientRing(
            lambda: make_client(self.base_url, self._api_key, timeout, self._sockets),
            max_clients=max_clients)

    @property
    def _client(self) -> openai.OpenAI:
        return self._clients.first

    def __repr__(self) -> str:
        return f"OpenAIChatModel({self.name!r}, base_url={self.base_url!r})"

    @property
    def context_window(self) -> int:
        """The model's context window in tokens: as configured, else what the server reports
        (asked once), else 0 (unknown)."""
        if not self._window_known:
            with self._window_lock:
                if not self._window_known:
                    self._window = discover_context_window(self._client, self.base_url,
                                                           self.name)
                    self._window_known = True
        return self._window

    def abort(self) -> int:
        """Shut every connection of this model (requests in flight fail at once)."""
        return self._sockets.abort()

    def complete(
        self,
        messages: list[Message],
        *,
        json_mode: bool = False,
        temperature: float = 0.0,
        max_tokens: int | None = None,
        extra_body: dict[str, Any] | None = None,
    ) -> Completion:
        cap = int(max_tokens) if max_tokens and max_tokens > 0 else self.default_max_tokens
        self._check_window(messages, cap)
        body: dict[str, Any] = {"model": self.name, "messages": messages,
                                "temperature": temperature, "max_tokens": cap}
        if json_mode:
            body["response_format"] = {"type": "json_object"}
        for extra in (self.extra_body, extra_body):
            if extra:
                body.update(extra)
        failures: list[str] = []
        with self.limiter:
            start = time.perf_counter()
            try:
                text, tokens_in, tokens_out, finish = self.retry.run(
                    lambda: self._post_chat(body),
                    model=self.name,
                    url=self.base_url,
                    failures=failures,
                    retry_timeouts=float(body["temperature"]) > 0,
                    timeout=self.timeout,
                )
            except EndpointError as exc:
                exc.retried = tuple(failures)  # type: ignore[attr-defined] # for the call log
                raise
            latency = time.perf_counter() - start
        return Completion(
            text=text,
            tokens_in=tokens_in if tokens_in is not None else _estimate_tokens(messages),
            tokens_out=tokens_out if tokens_out is not None else max(1, len(text) // 4),
            cached=False,
            latency_s=latency,
            retried=tuple(failures),
            truncated=finish == "length",
        )

    def _check_window(self, messages: list[Message], max_tokens: int) -> None:
        """Refuse (``PromptTooLong``) a prompt that cannot fit, before it is sent."""
        window = self.context_window
        try:
            check_fits(self.name, messages, max_tokens, window)
        except PromptTooLong:
            # the estimate errs high: where the server can count exactly, let it decide
            exact = self._counter.count(self._client, messages)
            if exact is None or exact + max_tokens > window:
                if exact is None:
                    raise
                raise PromptTooLong(too_long_message(self.name, exact, max_tokens, window,
                                                     how="counted")) from None

    def _post_chat(self, body: dict[str, Any]) -> tuple[str, int | None, int | None, str | None]:
        """One ``POST /chat/completions``: (text, prompt tokens, completion tokens, finish).

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
        payload = json.loads(raw)
        return (*parse_chat_reply(payload), finish_reason(payload))

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
        messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": "ping"}]
        with self.limiter:
            policy.run(
                lambda: self._client.chat.completions.create(model=self.name, messages=messages, max_tokens=1),
                model=self.name,
                url=self.base_url,
            )


def finish_reason(payload: Any) -> str | None:
    """``finish_reason`` of the first choice ("stop", "length", ...), None when absent."""
    choices = payload.get("choices") if isinstance(payload, dict) else None
    first = choices[0] if isinstance(choices, list) and choices else None
    reason = first.get("finish_reason") if isinstance(first, dict) else None
    return reason if isinstance(reason, str) else None


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
