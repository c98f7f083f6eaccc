"""What an OpenAI-compatible server says about itself: its context window, exact token counts.

Context window, asked once per model when ``[models] context_window`` is 0:
- vLLM lists ``max_model_len`` for each model in ``GET /v1/models``;
- llama.cpp's own server (``llama-server``) reports ``n_ctx`` in ``GET /props`` (at the server
  root, beside ``/v1``), under ``default_generation_settings`` (older builds: top level);
- llama-cpp-python's server (``python -m llama_cpp.server``) has no ``/props`` (404) and lists
  no window, and neither do Ollama or OpenAI: the window stays unknown (0) and nothing is
  trimmed or refused for size -- set ``context_window`` in the config for those (Ollama, in
  particular, silently cuts over-long prompts from the front unless told).
Any failure of these probes (404, refused, a body of another shape) means "unknown"; they are
one short attempt each and never retried.

Exact counts: llama-cpp-python serves ``POST /extras/tokenize/count`` (``{"input": text}`` ->
``{"count": n}``). ``TokenCounter`` uses it only for prompts the conservative estimate would
refuse, so a prompt near the limit is not refused for a wrong estimate; after one 404 it is
not asked again.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from evolve.llm.base import Message
from evolve.llm.limits import MESSAGE_OVERHEAD, REPLY_OVERHEAD

PROBE_TIMEOUT_S = 10.0


def server_root(base_url: str) -> str:
    """``http://host:8080/v1`` -> ``http://host:8080`` (llama.cpp's extra routes live there)."""
    url = base_url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


def _get_json(client: Any, url: str) -> Any:
    raw = client.get(url, cast_to=bytes, options={"timeout": PROBE_TIMEOUT_S})
    return json.loads(raw)


def _positive_int(value: Any) -> int:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) and value > 0 \
        else 0


def window_from_models(payload: Any, model: str) -> int:
    """``max_model_len`` of ``model`` in a ``/v1/models`` body (vLLM), else 0."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list):
        return 0
    entries = [e for e in data if isinstance(e, dict)]
    mine = [e for e in entries if e.get("id") == model] or (entries if len(entries) == 1 else [])
    for entry in mine:
        window = _positive_int(entry.get("max_model_len"))
        if window:
            return window
    return 0


def window_from_props(payload: Any) -> int:
    """``n_ctx`` in a llama.cpp ``/props`` body, else 0."""
    if not isinstance(payload, dict):
        return 0
    settings = payload.get("default_generation_settings")
    if isinstance(settings, dict) and _positive_int(settings.get("n_ctx")):
        return _positive_int(settings["n_ctx"])
    return _positive_int(payload.get("n_ctx"))


def discover_context_window(client: Any, base_url: str, model: str) -> int:
    """The window the server reports for ``model`` (0 when it reports none)."""
    probes = ((f"{base_url.rstrip('/')}/models", lambda body: window_from_models(body, model)),
              (f"{server_root(base_url)}/props", window_from_props))
    for url, read in probes:
        try:
            window = read(_get_json(client, url))
        except Exception:  # noqa: BLE001 - any failure of a probe means "not reported"
            continue
        if window:
            return window
    return 0


class TokenCounter:
    """Exact prompt token counts from llama-cpp-python's ``/extras/tokenize/count``."""

    def __init__(self, base_url: str) -> None:
        self.url = f"{server_root(base_url)}/extras/tokenize/count"
        self.available: bool | None = None  # None: not asked yet
        self._lock = threading.Lock()

    def count(self, client: Any, messages: list[Message]) -> int | None:
        """Tokens of ``messages`` with the chat template's overhead, or None when the server
        cannot count."""
        if self.available is False:
            return None
        text = "\n".join(str(m.get("content", "")) for m in messages)
        try:
            raw = client.post(self.url, body={"input": text}, cast_to=bytes,
                              options={"timeout": PROBE_TIMEOUT_S})
            count = _positive_int(json.loads(raw).get("count"))
        except Exception:  # noqa: BLE001 - a server without the route, or an odd body
            with self._lock:
                self.available = False
            return None
        with self._lock:
            self.available = True
        return count + MESSAGE_OVERHEAD * len(messages) + REPLY_OVERHEAD if count else None
