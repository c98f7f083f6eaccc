"""Embedder over an OpenAI-compatible ``/embeddings`` endpoint.

Batches inputs (``batch_size`` texts per request), retries with the same ``RetryPolicy`` as
chat (timeouts included: an embedding request's work is bounded by its input, it cannot run
away like a generation), returns float32 unit rows. With a ``ResponseCache`` it embeds only texts it has not seen
for this model. Empty strings are sent as a single space: several servers reject "" outright.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from evolve.errors import EndpointError
from evolve.llm.cache import ResponseCache
from evolve.llm.cancel import SocketTracker
from evolve.llm.embedders import normalise_rows
from evolve.llm.openai_chat import (
    ModelNotFoundError,
    RequestRejected,
    RetryPolicy,
    make_client,
    resolve_endpoint,
)


class OpenAIEmbedder:
    """``Embedder`` over ``/embeddings``; thread-safe.

    ``dim`` is known after the first call (or when given); ``embed([])`` before any call returns
    shape ``(0, dim or 0)``. ``embed_with_usage`` also returns the prompt tokens paid for, so the
    hub can price embedding calls; ``tokens_used`` is the running total.
    """

    cacheable = True  # remote and paid: worth a cache lookup per text

    def __init__(
        self,
        model: str = "text-embedding-3-small",
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        batch_size: int = 128,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        concurrency: int = 8,
        limiter: threading.Semaphore | None = None,
        cache: ResponseCache | None = None,
        dim: int | None = None,
    ) -> None:
        self.name = model
        self.base_url, key = resolve_endpoint(base_url, api_key)
        self.batch_size = max(1, batch_size)
        self.retry = retry or RetryPolicy()
        self.limiter = limiter or threading.BoundedSemaphore(max(1, concurrency))
        self.cache = cache
        self.dim = dim or 0
        self.timeout = timeout
        self._sockets = SocketTracker()
        self._client = make_client(self.base_url, key, timeout, self._sockets)
        self._lock = threading.Lock()
        self.tokens_used = 0

    def __repr__(self) -> str:
        return f"OpenAIEmbedder({self.name!r}, base_url={self.base_url!r})"

    def abort(self) -> int:
        """Shut every connection of this embedder (requests in flight fail at once)."""
        return self._sockets.abort()

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.embed_with_usage(texts)[0]

    def embed_with_usage(self, texts: list[str]) -> tuple[np.ndarray, int]:
        """Unit rows for ``texts`` and the prompt tokens this call paid for (0 if all cached)."""
        texts = [str(t) for t in texts]
        rows: list[np.ndarray | None] = [None] * len(texts)
        if self.cache is not None and texts:
            rows = list(self.cache.get_embeddings(self.name, texts))
        missing = [i for i, row in enumerate(rows) if row is None]
        tokens = 0
        for lo in range(0, len(missing), self.batch_size):
            idx = missing[lo : lo + self.batch_size]
            vectors, used = self._request([texts[i] for i in idx])
            tokens += used
            for i, vec in zip(idx, vectors, strict=True):
                rows[i] = vec
            if self.cache is not None:
                self.cache.put_embeddings(self.name, [texts[i] for i in idx], vectors)
        with self._lock:
            self.tokens_used += tokens
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32), 0
        return normalise_rows(np.stack([r for r in rows if r is not None])), tokens

    def _request(self, batch: list[str]) -> tuple[np.ndarray, int]:
        payload = [t if t.strip() else " " for t in batch]

        def call() -> Any:
            return self._client.embeddings.create(
                model=self.name, input=payload, encoding_format="float"
            )

        with self.limiter:
            response = self.retry.run(call, model=self.name, url=self.base_url,
                                      timeout=self.timeout)
        data = sorted(response.data, key=lambda d: d.index)
        if len(data) != len(batch):
            raise EndpointError(
                f"embedding endpoint {self.base_url} returned {len(data)} vectors for {len(batch)} inputs"
            )
        matrix = normalise_rows(np.asarray([d.embedding for d in data], dtype=np.float32))
        if not self.dim:
            self.dim = int(matrix.shape[1])
        usage = getattr(response, "usage", None)
        used = int(getattr(usage, "prompt_tokens", 0) or 0) if usage else 0
        return matrix, used or sum(max(1, len(t) // 4) for t in batch)

    def ping(self, retry: RetryPolicy | None = None) -> None:
        """One cheap request proving the endpoint serves this model (raises EndpointError)."""
        policy = retry or self.retry
        try:
            policy.run(lambda: self._client.models.retrieve(self.name), model=self.name, url=self.base_url)
            return
        except (ModelNotFoundError, RequestRejected):
            pass  # no per-model route on some local servers: embed one word instead
        with self.limiter:
            policy.run(
                lambda: self._client.embeddings.create(model=self.name, input=["ping"], encoding_format="float"),
                model=self.name,
                url=self.base_url,
            )
