"""llama.cpp's behaviours for the fake OpenAI server (``FakeOpenAIServer(llamacpp=LlamaCpp())``).

What a local llama.cpp server (``python -m llama_cpp.server`` 0.3.x, or ``llama-server``) does
that a hosted API does not, each one an option here:

- answers to ANY model name (``/v1/models`` lists one alias); ``GET /v1/models/{id}`` and
  ``GET /props`` are 404 (llama-cpp-python) unless ``model_route`` / ``props`` are set
  (``props=True`` serves ``llama-server``'s ``{"default_generation_settings": {"n_ctx"}}``);
  ``report_max_model_len`` makes ``/v1/models`` list ``max_model_len`` as vLLM does;
- a prompt of ``n_ctx`` tokens or more gets HTTP 400 ``context_length_exceeded``; a prompt
  plus ``max_tokens`` over ``n_ctx`` silently gets fewer tokens; without ``max_tokens`` it
  generates to the end of the window;
- ``runaway`` (default): the model never stops before its limit -- the responder's text is
  followed by filler up to ``max_tokens`` (``finish_reason "length"``); ``runaway=False``
  stops after the responder's text ("unless told");
- ``serialised`` (default): one request at a time (the others wait for the slot), and a
  generation runs to its end even when its client has gone (``stats["abandoned"]``);
- ``seconds_per_token``: generation speed (the sleep happens while holding the slot);
- ``tokenize_count``: serves ``POST /extras/tokenize/count``.

Token counting rule: ``ceil(len(text) / chars_per_token)`` per message plus
``TEMPLATE_TOKENS`` per message (the chat template's tags). With the default 4 characters per
token, the client's estimate (3 characters per token, more overhead) is conservative against
it, as it is against real BPE tokenizers on English text.

Responder helpers for replies as small models write them: ``fields_responder`` (a JSON object
of given fields, optionally wrapped one level deeper, optionally with the schema's
``"<string>"`` placeholder echoed into it) for other tests to reuse.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

TEMPLATE_TOKENS = 4
FILLER = " and so on"


@dataclass
class LlamaCpp:
    """Options of the llama.cpp behaviour (see the module docstring)."""

    n_ctx: int = 8192
    alias: str = "local"
    chars_per_token: float = 4.0
    runaway: bool = True
    serialised: bool = True
    seconds_per_token: float = 0.0
    props: bool = False
    model_route: bool = False
    report_max_model_len: bool = False
    tokenize_count: bool = False
    stats: Counter[str] = field(default_factory=Counter)
    _slot: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- token arithmetic ----------------------------------------------------------------------
    def count(self, text: str) -> int:
        return math.ceil(len(text) / self.chars_per_token)

    def prompt_tokens(self, messages: list[Mapping[str, Any]]) -> int:
        return sum(self.count(str(m.get("content", ""))) + TEMPLATE_TOKENS for m in messages)

    def _bump(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.stats[key] += n

    # -- routes --------------------------------------------------------------------------------
    def handle_get(self, handler: Any, route: str) -> bool:
        """Answer a GET the way llama.cpp does; False for routes it leaves to the fake."""
        if route == "/models":
            entry: dict[str, Any] = {"id": self.alias, "object": "model", "owned_by": "me",
                                     "permissions": []}
            if self.report_max_model_len:
                entry["max_model_len"] = self.n_ctx
            handler._send_json(200, {"object": "list", "data": [entry]})
            return True
        if route.startswith("/models/") and self.model_route:
            handler._send_json(200, {"id": route[len("/models/"):], "object": "model"})
            return True
        if route == "/props" and self.props:
            handler._send_json(200, {"default_generation_settings": {"n_ctx": self.n_ctx},
                                     "total_slots": 1})
            return True
        handler._send_json(404, {"detail": "Not Found"})  # FastAPI's 404, as llama-cpp-python
        return True

    def handle_post(self, handler: Any, server: Any, route: str, body: dict[str, Any]) -> bool:
        if route == "/extras/tokenize/count" and self.tokenize_count:
            handler._send_json(200, {"count": self.count(str(body.get("input", "")))})
            return True
        if route != "/chat/completions":
            return False
        self._chat(handler, server, body)
        return True

    def _chat(self, handler: Any, server: Any, body: dict[str, Any]) -> None:
        messages = body.get("messages") or []
        prompt = self.prompt_tokens(messages)
        if prompt >= self.n_ctx:
            self._bump("rejected")
            handler._send_json(400, {"error": {
                "message": f"Requested tokens ({prompt}) exceed context window of {self.n_ctx}",
                "type": "invalid_request_error", "param": "messages",
                "code": "context_length_exceeded"}})
            return
        room = self.n_ctx - prompt
        asked = body.get("max_tokens")
        limit = min(int(asked), room) if isinstance(asked, int) and asked > 0 else room
        fault = server._next_fault()
        if fault is not None and handler._apply_fault(fault):
            return
        reply = server.responder(body)
        if not isinstance(reply, str):  # a Fault from the responder
            if handler._apply_fault(reply):
                return
            reply = ""
        text, out, finish = self._generate(str(reply), limit)
        slot = self._slot if self.serialised else _NoLock()
        with slot:
            with self._lock:
                self.stats["generations"] += 1
                self.stats["generating"] += 1
                self.stats["max_generating"] = max(self.stats["max_generating"],
                                                   self.stats["generating"])
            try:
                server._sleep(out * self.seconds_per_token)  # runs on for a dropped client
            finally:
                self._bump("generating", -1)
            self._bump("tokens_generated", out)
            completion = {
                "id": f"chatcmpl-llama-{self.stats['generations']}",
                "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": finish}],
                "usage": {"prompt_tokens": prompt, "completion_tokens": out,
                          "total_tokens": prompt + out},
            }
            if not handler._send_json_ok(200, completion):
                self._bump("abandoned")

    def _generate(self, text: str, limit: int) -> tuple[str, int, str]:
        """(text, tokens, finish_reason) of a generation capped at ``limit`` tokens."""
        tokens = self.count(text)
        if tokens >= limit:
            return text[: int(limit * self.chars_per_token)], limit, "length"
        if not self.runaway:
            return text, tokens, "stop"
        while self.count(text + FILLER) <= limit:
            text += FILLER
        return text, limit, "length"


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def fields_responder(fields: Mapping[str, Any], *, answer: str = "an answer",
                     nest: str | None = None, placeholder: bool = False
                     ) -> Callable[[dict[str, Any]], str]:
    """A responder that fills JSON-mode requests with ``fields`` and answers others ``answer``.

    ``nest="data"`` wraps the object one level deeper (``{"data": {...}}``); ``placeholder``
    echoes the schema placeholder ``"<string>"`` the way small models copy it: as the first
    element of every list of strings and as the value of every empty string field.
    """

    def respond(request: dict[str, Any]) -> str:
        fmt = request.get("response_format") or {}
        if fmt.get("type") != "json_object":
            return answer
        obj: dict[str, Any] = {}
        for key, value in fields.items():
            if placeholder and isinstance(value, list):
                value = ["<string>", *value]
            elif placeholder and value == "":
                value = "<string>"
            obj[key] = value
        return json.dumps({nest: obj} if nest else obj)

    return respond
