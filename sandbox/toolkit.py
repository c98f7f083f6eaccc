"""The toolkit object a memory program receives: ``KnowledgeBase(toolkit)``.

Attributes (README.md, "Memory programs"; M*-compatible names):
- ``db``: in-memory sqlite3 connection (FTS5 available), serialised for threads;
- ``chroma``: Chroma-compatible client over numpy (``sandbox.chroma``);
- ``embed(texts) -> list[list[float]]``: embeddings from the harness's embedder;
- ``llm_completion(messages, **kw) -> str``: one call to the toolkit model, counted against the
  per-``write``/``read`` budget by the trusted harness (the harness is the authority: a
  program that catches the budget error is still reported as a runtime violation);
- ``logger``: ``debug/info/warning/error(msg)``, captured per evaluation.

The embed and LLM functions are injected: inside the jail they are JSON-line callbacks to the
harness (``sandbox.worker``); in-process (benchmarks, exported harnesses) they can be any
callables with the same signatures.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .dbproxy import LockedConnection

if TYPE_CHECKING:
    from .chroma import ChromaClient

EmbedFn = Callable[[list[str]], list[list[float]]]
LLMFn = Callable[[list[dict[str, str]], dict[str, Any]], str]
LogFn = Callable[[str, str], None]


class ToolkitLogger:
    """``logging.Logger``-like object whose records go to the harness."""

    def __init__(self, log_fn: LogFn) -> None:
        self._log_fn = log_fn

    def _emit(self, level: str, msg: Any, *args: Any) -> None:
        text = str(msg)
        if args:
            try:
                text = text % args
            except (TypeError, ValueError):
                text = " ".join([text, *map(str, args)])
        self._log_fn(level, text[:2000])

    def debug(self, msg: Any, *args: Any, **_: Any) -> None:
        self._emit("debug", msg, *args)

    def info(self, msg: Any, *args: Any, **_: Any) -> None:
        self._emit("info", msg, *args)

    def warning(self, msg: Any, *args: Any, **_: Any) -> None:
        self._emit("warning", msg, *args)

    warn = warning

    def error(self, msg: Any, *args: Any, **_: Any) -> None:
        self._emit("error", msg, *args)

    def exception(self, msg: Any, *args: Any, **_: Any) -> None:
        self._emit("error", msg, *args)


def _check_messages(messages: Any) -> list[dict[str, str]]:
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    if not isinstance(messages, (list, tuple)) or not messages:
        raise TypeError("llm_completion expects a non-empty list of {'role', 'content'} dicts")
    checked = []
    for message in messages:
        if not isinstance(message, dict) or "content" not in message:
            raise TypeError("each message must be a dict with 'role' and 'content'")
        checked.append({"role": str(message.get("role", "user")),
                        "content": str(message["content"])})
    return checked


class Toolkit:
    """Everything a memory program may use besides the allow-listed standard library."""

    def __init__(self, embed_fn: EmbedFn, llm_fn: LLMFn, log_fn: LogFn) -> None:
        self._embed_fn = embed_fn
        self._llm_fn = llm_fn
        self.db = LockedConnection(":memory:")
        self.logger = ToolkitLogger(log_fn)
        self._chroma: ChromaClient | None = None
        self._chroma_lock = threading.Lock()

    @property
    def chroma(self) -> ChromaClient:
        """The Chroma-compatible client, created on first use.

        Lazy because it imports numpy (~60 ms): a worker whose program never touches vectors
        starts without paying for it.
        """
        with self._chroma_lock:
            if self._chroma is None:
                from .chroma import ChromaClient

                self._chroma = ChromaClient(self._embed_fn)
            return self._chroma

    def embed(self, texts: list[str] | str) -> list[list[float]]:
        """Unit-normalised embeddings, one row per text."""
        if isinstance(texts, str):
            texts = [texts]
        return self._embed_fn([str(t) for t in texts])

    def llm_completion(self, messages: Any, **kwargs: Any) -> str:
        """Chat completion from the toolkit model; counts against the per-call budget."""
        allowed: dict[str, Any] = {k: kwargs[k] for k in ("temperature", "max_tokens", "json_mode")
                                   if k in kwargs}
        if kwargs.get("response_format", {}) == {"type": "json_object"}:
            allowed["json_mode"] = True
        return self._llm_fn(_check_messages(messages), allowed)
