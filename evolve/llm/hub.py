"""ModelHub: one chat model per role plus an embedder, behind a cache, a bound and a call log.

Every caller (task agent, toolkit callbacks, judges, meta-agent) talks to models through a hub,
so that each call is cached (when the model is worth caching), bounded (``concurrency`` calls
in flight at most, across all roles), priced, and logged as a ``CallRecord``. Errors are logged
and then re-raised unchanged.

Cache policy: a model or embedder is cached unless it says otherwise with a ``cacheable``
attribute; the in-process ``offline`` model defaults to uncached (it is deterministic and
cheaper than a lookup). Concurrent identical requests are computed once ("single flight"), so
even a burst of duplicates is paid once.

Spend semantics: ``spend_by_role`` counts *paid* tokens and dollars; cache hits add to
``calls`` and ``cached`` but cost nothing. Records themselves always carry the request's token
sizes (a property of the program being evaluated, whether or not it was paid for).

Limits (``RoleLimits``): every chat call sends its role's ``max_tokens`` cap (a caller's own
value may lower it, never raise it) and the role's ``extra_body``; a reply cut at the cap is
recorded as ``truncated``. ``prompt_budget(role)`` tells a caller that builds a long prompt
(the meta-agent) how many tokens it may use; ``abort`` shuts every connection (Ctrl-C).
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np

from evolve.llm.base import CallRecord, ChatModel, Completion, Embedder, Message
from evolve.llm.cache import ResponseCache, chat_key
from evolve.llm.limits import RoleLimits, prompt_budget
from evolve.llm.pricing import PriceTable
from evolve.llm.retry import one_line

CHAT_ROLES = ("task", "toolkit", "judge", "reflector")


def _cacheable(model: object) -> bool:
    return bool(getattr(model, "cacheable", getattr(model, "name", "") != "offline"))


def _remote(model: object) -> bool:
    """A model behind an HTTP endpoint (takes ``extra_body``, has a context window)."""
    return hasattr(model, "base_url")


class RoleModel:
    """A ``ChatModel`` view of one hub role: code that wants a ChatModel gets hub routing."""

    def __init__(self, hub: ModelHub, role: str) -> None:
        self._hub, self.role = hub, role
        self.name = hub.model_for(role).name

    def complete(
        self,
        messages: list[Message],
        *,
        json_mode: bool = False,
        temperature: float = 0.0,
        max_tokens: int | None = None,
    ) -> Completion:
        return self._hub.chat(
            self.role, messages, json_mode=json_mode, temperature=temperature, max_tokens=max_tokens
        )


class ModelHub:
    """Routes chat and embedding calls per role; thread-safe.

    ``models`` maps roles (``task``, ``toolkit``, ``judge``, ``reflector``) to chat models; a
    role without an entry uses the ``task`` model. ``on_record`` (optional) is called with each
    new ``CallRecord``, outside the hub's lock, e.g. to stream records to storage.
    """

    # the hub a ``scoped()`` view passes its records on to; None on a hub of its own
    _parent: ModelHub | None = None

    def __init__(
        self,
        models: Mapping[str, ChatModel],
        embedder: Embedder | None = None,
        *,
        cache: ResponseCache | None = None,
        prices: PriceTable | None = None,
        concurrency: int = 8,
        on_record: Callable[[CallRecord], None] | None = None,
        limits: RoleLimits | None = None,
    ) -> None:
        unknown = set(models) - set(CHAT_ROLES)
        if unknown:
            raise ValueError(f"unknown roles {sorted(unknown)}; roles are {CHAT_ROLES}")
        self._models = dict(models)
        self.embedder = embedder
        self.cache = cache
        self.prices = prices or PriceTable()
        self.concurrency = max(1, int(concurrency))
        self.on_record = on_record
        self.limits = limits or RoleLimits()
        self._limiter = threading.BoundedSemaphore(self.concurrency)
        self._lock = threading.Lock()
        self._records: list[CallRecord] = []
        self._flights: dict[str, list[Any]] = {}

    # -- routing -------------------------------------------------------------------------------
    def model_for(self, role: str) -> ChatModel:
        """The chat model serving ``role`` (falls back to the task model)."""
        if role not in CHAT_ROLES:
            raise ValueError(f"unknown role {role!r}; roles are {CHAT_ROLES}")
        model = self._models.get(role) or self._models.get("task")
        if model is None:
            raise ValueError(f"no chat model configured for role {role!r}")
        return model

    def role_model(self, role: str) -> RoleModel:
        """A ChatModel that sends every call through this hub as ``role``."""
        return RoleModel(self, role)

    def describe(self) -> dict[str, str]:
        """``{role: model name}`` for every chat role plus the embedder (for campaign records)."""
        out = {}
        for role in CHAT_ROLES:
            try:
                out[role] = self.model_for(role).name
            except ValueError:
                continue
        if self.embedder is not None:
            out["embedder"] = self.embedder.name
        return out

    # -- chat ----------------------------------------------------------------------------------
    def chat(
        self,
        role: str,
        messages: list[Message],
        *,
        json_mode: bool = False,
        temperature: float = 0.0,
        max_tokens: int | None = None,
        use_cache: bool = True,
        salt: str | None = None,
    ) -> Completion:
        """Complete ``messages`` with the model of ``role``.

        ``salt`` enters the cache key only: pass distinct salts to get distinct samples of an
        identical prompt. ``use_cache=False`` forces a fresh (paid) call that is not stored.
        """
        model = self.model_for(role)
        max_tokens = self.limits.max_tokens_for(role, max_tokens)
        opts: dict[str, Any] = {"json_mode": json_mode, "temperature": temperature,
                                "max_tokens": max_tokens}
        extra = self.limits.extra_body_for(role) if _remote(model) else {}
        if extra:
            opts["extra_body"] = extra
        if not (use_cache and self.cache is not None and _cacheable(model)):
            return self._complete(role, model, messages, opts)
        key = chat_key(model.name, messages, salt=salt, json_mode=json_mode,
                       temperature=temperature, max_tokens=max_tokens,
                       endpoint=getattr(model, "base_url", None),
                       revision=getattr(model, "revision", "") or "", extra_body=extra)
        start = time.perf_counter()
        with self._single_flight(key):
            hit = self.cache.get_chat(key)
            if hit is not None:
                latency = time.perf_counter() - start
                self._log(
                    CallRecord(role, model.name, "chat", hit.tokens_in, hit.tokens_out, 0.0,
                               latency, True, truncated=hit.truncated)
                )
                return Completion(hit.text, hit.tokens_in, hit.tokens_out, True, latency,
                                  truncated=hit.truncated)
            completion = self._complete(role, model, messages, opts)
            self.cache.put_chat(key, model.name, completion.text, completion.tokens_in,
                                completion.tokens_out, truncated=completion.truncated)
            return completion

    def reply_cap(self, role: str, requested: int | None = None) -> int:
        """The ``max_tokens`` a call of ``role`` asking for ``requested`` sends."""
        return self.limits.max_tokens_for(role, requested)

    def prompt_budget(self, role: str, requested: int | None = None) -> int | None:
        """Prompt tokens a call of ``role`` may use once its reply cap is reserved (None when
        the model's context window is unknown)."""
        model = self.model_for(role)
        window = int(getattr(model, "context_window", 0) or 0) or self.limits.context_window
        return prompt_budget(window, self.reply_cap(role, requested))

    def abort(self) -> None:
        """Shut the connections of every remote model and embedder (requests in flight end
        at once with an error); used when the process is interrupted."""
        targets = [self._models[r] for r in self._models] + [self.embedder]
        for target in {id(t): t for t in targets if t is not None}.values():
            abort = getattr(target, "abort", None)
            if abort is not None:
                abort()

    def _complete(
        self, role: str, model: ChatModel, messages: list[Message], opts: dict[str, Any]
    ) -> Completion:
        start = time.perf_counter()
        try:
            with self._limiter:
                completion = model.complete(messages, **opts)
        except Exception as exc:
            self._log_error(role, model.name, "chat", start, exc)
            raise
        latency = completion.latency_s or (time.perf_counter() - start)
        usd, _ = self.prices.cost(model.name, completion.tokens_in, completion.tokens_out)
        retried = completion.retried
        self._log(
            CallRecord(role, model.name, "chat", completion.tokens_in, completion.tokens_out, usd,
                       latency, False, retries=len(retried),
                       retry_errors="; ".join(retried) or None, truncated=completion.truncated)
        )
        return completion

    # -- embeddings ----------------------------------------------------------------------------
    def embed(self, texts: list[str], *, role: str = "embedder") -> np.ndarray:
        """Unit-row float32 embeddings of ``texts`` (shape ``(len(texts), dim)``).

        ``role`` only labels the record (e.g. ``toolkit`` when a program asked for it).
        """
        embedder = self.embedder
        if embedder is None:
            raise ValueError("this hub has no embedder")
        texts = [str(t) for t in texts]
        if not texts:
            return np.zeros((0, embedder.dim), dtype=np.float32)
        start = time.perf_counter()
        cache = self.cache if getattr(embedder, "cacheable", False) else None
        rows: list[np.ndarray | None] = [None] * len(texts)
        if cache is not None:
            rows = cache.get_embeddings(embedder.name, texts)
        missing = [i for i, row in enumerate(rows) if row is None]
        tokens_paid = 0
        if missing:
            try:
                with self._limiter:
                    matrix, tokens_paid = _embed_with_usage(embedder, [texts[i] for i in missing])
            except Exception as exc:
                self._log_error(role, embedder.name, "embed", start, exc)
                raise
            for i, vec in zip(missing, matrix, strict=True):
                rows[i] = vec
            if cache is not None:
                cache.put_embeddings(embedder.name, [texts[i] for i in missing], matrix)
        usd, _ = self.prices.cost(embedder.name, tokens_paid, 0)
        latency = time.perf_counter() - start
        self._log(CallRecord(role, embedder.name, "embed", tokens_paid, 0, usd, latency, not missing))
        filled = [row for row in rows if row is not None]  # every row: missing ones were embedded
        return np.stack(filled).astype(np.float32, copy=False)

    # -- records -------------------------------------------------------------------------------
    def scoped(self) -> ModelHub:
        """A view of this hub with its own record list (e.g. one evaluation among several
        running at once). It shares models, cache, prices and the concurrency limit; every
        record it logs is also logged by this hub."""
        view = copy.copy(self)
        view.keep_records = True
        view._records = []
        view._parent = self
        return view

    # A long campaign persists every record to its database and sets this to False on its
    # hub, so the hub itself does not grow; scoped views always keep their own records.
    keep_records = True

    def _log(self, record: CallRecord) -> None:
        if self.keep_records:
            with self._lock:
                self._records.append(record)
        if self._parent is not None:
            self._parent._log(record)
        elif self.on_record is not None:
            self.on_record(record)

    def _log_error(self, role: str, model: str, kind: str, start: float, exc: BaseException) -> None:
        message = one_line(f"{type(exc).__name__}: {exc}")
        latency = time.perf_counter() - start
        retried = tuple(getattr(exc, "retried", ()) or ())  # set by the model on final failure
        self._log(CallRecord(role, model, kind, 0, 0, 0.0, latency, False, error=message,
                             retries=len(retried), retry_errors="; ".join(retried) or None))

    @property
    def calls(self) -> list[CallRecord]:
        """A copy of every record logged so far."""
        with self._lock:
            return list(self._records)

    def drain(self) -> list[CallRecord]:
        """Remove and return the records logged so far (each record is drained exactly once;
        a caller that persists them keeps this hub from growing)."""
        with self._lock:
            fresh, self._records = self._records, []
        return fresh

    def spend_by_role(self) -> dict[str, dict[str, float | int]]:
        """``{role: {calls, tokens_in, tokens_out, usd, cached, errors}}`` (paid tokens only)."""
        out: dict[str, dict[str, float | int]] = {}
        for rec in self.calls:
            row = out.setdefault(
                rec.role,
                {"calls": 0, "tokens_in": 0, "tokens_out": 0, "usd": 0.0, "cached": 0, "errors": 0},
            )
            row["calls"] += 1
            row["cached"] += int(rec.cached)
            row["errors"] += int(rec.error is not None)
            if not rec.cached:
                row["tokens_in"] += rec.tokens_in
                row["tokens_out"] += rec.tokens_out
                row["usd"] += rec.cost_usd
        return out

    @property
    def unpriced_models(self) -> set[str]:
        """Models called without a known price: their spend is counted as 0."""
        return self.prices.unpriced

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()

    # -- internals -----------------------------------------------------------------------------
    @contextmanager
    def _single_flight(self, key: str) -> Iterator[None]:
        """Serialise work on one cache key; other keys proceed in parallel."""
        with self._lock:
            entry = self._flights.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        entry[0].acquire()
        try:
            yield
        finally:
            entry[0].release()
            with self._lock:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._flights[key]


def _embed_with_usage(embedder: Embedder, texts: list[str]) -> tuple[np.ndarray, int]:
    """Vectors and the tokens paid; local embedders report none (they cost nothing)."""
    with_usage = getattr(embedder, "embed_with_usage", None)
    if with_usage is not None:
        matrix, tokens = with_usage(texts)
    else:
        matrix, tokens = embedder.embed(texts), 0
    return np.asarray(matrix, dtype=np.float32), int(tokens)
