"""Injected failures of the fake OpenAI server (``FakeOpenAIServer.inject``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    """One injected failure.

    kinds: ``status`` (HTTP ``status`` with an error body, ``Retry-After`` header when
    ``retry_after`` is set), ``slow`` (sleep ``delay_s`` then answer normally; meant to exceed
    the client timeout), ``malformed`` (200 with a body that is not JSON), ``wrong_shape`` (200
    with JSON that is not a completion object), ``truncated_body``
    (announces more bytes than it sends, then closes), ``drop`` (closes the connection without
    answering), ``length`` (200 whose content is cut to ``keep_chars`` with
    ``finish_reason="length"``).
    """

    kind: str
    status: int = 500
    retry_after: float | None = None
    delay_s: float = 0.0
    keep_chars: int = 10
    code: str | None = None  # error ``code`` in the body of a ``status`` fault

    @classmethod
    def rate_limited(cls, retry_after: float | None = 0.0) -> Fault:
        return cls("status", status=429, retry_after=retry_after)

    @classmethod
    def server_error(cls, status: int = 500) -> Fault:
        return cls("status", status=status)

    @classmethod
    def slow(cls, delay_s: float) -> Fault:
        return cls("slow", delay_s=delay_s)

    @classmethod
    def malformed(cls) -> Fault:
        return cls("malformed")

    @classmethod
    def wrong_shape(cls) -> Fault:
        return cls("wrong_shape")

    @classmethod
    def truncated_body(cls) -> Fault:
        return cls("truncated_body")

    @classmethod
    def drop(cls) -> Fault:
        return cls("drop")

    @classmethod
    def length(cls, keep_chars: int = 10) -> Fault:
        return cls("length", keep_chars=keep_chars)
