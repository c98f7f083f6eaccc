"""Build a ``ModelHub`` from CLI-style settings, and check remote endpoints before a run.

``build_hub(model="offline")`` needs nothing: every chat role gets the deterministic offline
stand-in and the embedder is the offline default. Any other model name is an OpenAI-compatible
model reached at ``base_url`` / ``OPENAI_BASE_URL`` with ``api_key`` / ``OPENAI_API_KEY``.
Models sharing an endpoint share one concurrency limiter of ``concurrency`` slots; the hub
itself bounds all calls by ``concurrency`` too.

Cache location: ``cache_path`` when given (``"off"`` disables caching); otherwise the user
cache (``~/.cache/evolve/responses.sqlite``) as soon as anything remote is involved -- so an
unchanged request is never paid twice, across runs -- and an in-memory cache for a purely
offline hub.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

from evolve.errors import EndpointError, UsageError
from evolve.llm.base import CallRecord, ChatModel
from evolve.llm.cache import ResponseCache, default_cache_path
from evolve.llm.embedder_factory import make_embedder
from evolve.llm.hub import CHAT_ROLES, ModelHub
from evolve.llm.limits import RoleLimits
from evolve.llm.openai_chat import OpenAIChatModel, RetryPolicy, resolve_endpoint
from evolve.llm.pricing import PriceTable

OFFLINE = "offline"
_CACHE_OFF = ("off", "none", "no", "")


def _offline_model() -> ChatModel:
    from evolve.llm.offline import OfflineModel  # another module; imported only when asked for

    return OfflineModel()


def _check_credentials(model: str, base_url: str | None, api_key: str | None) -> None:
    if not (base_url or os.environ.get("OPENAI_BASE_URL") or api_key or os.environ.get("OPENAI_API_KEY")):
        raise UsageError(f"model '{model}' needs OPENAI_API_KEY or --base-url")


def build_hub(
    model: str = OFFLINE,
    base_url: str | None = None,
    api_key: str | None = None,
    embedder: str = OFFLINE,
    concurrency: int = 8,
    cache_path: str | os.PathLike[str] | None = None,
    role_models: Mapping[str, str] | None = None,
    *,
    prices: PriceTable | None = None,
    timeout: float = 120.0,
    retry: RetryPolicy | None = None,
    on_record: Callable[[CallRecord], None] | None = None,
    limits: RoleLimits | None = None,
    revision: str = "",
) -> ModelHub:
    """A hub with ``model`` for every chat role, overridden per role by ``role_models``.

    ``limits`` holds the per-role reply caps, request extras and the context window (see
    ``evolve.llm.limits``); ``revision`` labels the remote models' weights for the response
    cache. ``timeout`` bounds each request attempt.

    ``role_models`` maps chat roles (and optionally ``"embedder"``) to model names. Raises
    ``UsageError`` (one line) for unknown roles, bad embedder names, or a remote model with
    neither a base URL nor an API key. Builds clients but sends no request (see ``preflight``).
    """
    if concurrency < 1:
        raise UsageError("--concurrency must be >= 1")
    overrides = dict(role_models or {})
    embedder_name = overrides.pop("embedder", embedder)
    unknown = set(overrides) - set(CHAT_ROLES)
    if unknown:
        raise UsageError(f"unknown model role(s) {', '.join(sorted(unknown))}; roles: {', '.join(CHAT_ROLES)}")
    limits = limits or RoleLimits()
    limiters: dict[str, threading.BoundedSemaphore] = {}

    def limiter_for(url: str) -> threading.BoundedSemaphore:
        return limiters.setdefault(url, threading.BoundedSemaphore(concurrency))

    built: dict[str, ChatModel] = {}
    models: dict[str, ChatModel] = {}
    for role in CHAT_ROLES:
        name = overrides.get(role, model).strip()
        if not name:
            raise UsageError(f"empty model name for role '{role}'")
        if name not in built:
            if name == OFFLINE:
                built[name] = _offline_model()
            else:
                _check_credentials(name, base_url, api_key)
                url, _ = resolve_endpoint(base_url, api_key)
                built[name] = OpenAIChatModel(
                    name,
                    base_url=base_url,
                    api_key=api_key,
                    timeout=timeout,
                    retry=retry,
                    limiter=limiter_for(url),
                    context_window=limits.context_window,
                    revision=revision,
                    default_max_tokens=limits.cap("task"),
                )
        models[role] = built[name]

    emb = make_embedder(embedder_name, base_url=base_url, api_key=api_key, concurrency=concurrency)
    remote_embedder = hasattr(emb, "base_url")
    if remote_embedder:
        _check_credentials(embedder_name, base_url, api_key)
        emb.limiter = limiter_for(emb.base_url)
        if retry is not None:
            emb.retry = retry
    remote = remote_embedder or any(not _is_offline(m) for m in models.values())
    return ModelHub(
        models,
        emb,
        cache=_make_cache(cache_path, remote),
        prices=prices,
        concurrency=concurrency,
        on_record=on_record,
        limits=limits,
    )


def _is_offline(model: ChatModel) -> bool:
    return getattr(model, "name", "") == OFFLINE and not hasattr(model, "base_url")


def _make_cache(cache_path: str | os.PathLike[str] | None, remote: bool) -> ResponseCache | None:
    if cache_path is not None and str(cache_path).strip().lower() in _CACHE_OFF:
        return None
    if cache_path is not None:
        return ResponseCache(cache_path)
    return ResponseCache(default_cache_path() if remote else None)


def preflight(hub: ModelHub, *, retry: RetryPolicy | None = None) -> None:
    """One cheap request per distinct remote (endpoint, model); failures become UsageError.

    Offline models are skipped. The default retry policy here is short (2 attempts), so an
    unreachable endpoint is reported in about a second rather than after the full backoff.
    """
    policy = retry or RetryPolicy(max_retries=1, base_delay=0.2, max_delay=1.0)
    seen: set[tuple[str, str]] = set()
    targets: list[Any] = []
    for role in CHAT_ROLES:
        try:
            targets.append(hub.model_for(role))
        except ValueError:
            continue
    if hub.embedder is not None:
        targets.append(hub.embedder)
    for target in targets:
        url = getattr(target, "base_url", None)
        if url is None or not hasattr(target, "ping"):
            continue  # in-process model or embedder: nothing to reach
        key = (url, target.name)
        if key in seen:
            continue
        seen.add(key)
        try:
            target.ping(retry=policy)
        except EndpointError as exc:
            raise UsageError(str(exc)) from None
