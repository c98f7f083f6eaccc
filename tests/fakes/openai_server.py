"""A fake OpenAI-compatible HTTP server for tests and benchmarks.

The `openai` 3.x client talks through ``httpx2``, which respx / pytest-httpx do not intercept, so
tests run a real stdlib ``ThreadingHTTPServer`` on ``127.0.0.1`` (ephemeral port) in a background
thread. It serves:

- ``POST /v1/chat/completions``: the text comes from a pluggable ``responder(request_json)``
  (returning a ``str``, or a ``Fault`` to fail that one request). The default responder echoes
  the last user message, as a JSON object when ``response_format`` is ``json_object``.
- ``POST /v1/embeddings``: deterministic vectors derived from a hash of each input (deliberately
  *not* unit length, so clients must normalise), ``float`` or ``base64`` encoding.
- ``GET /v1/models`` and ``GET /v1/models/{id}``.

Unknown models get a 404 shaped like OpenAI's ``model_not_found``; a wrong key (when ``api_key``
is set) gets a 401. Faults are injected from a FIFO queue (``inject``) or at random with a seeded
rate; a fixed ``latency_s`` per POST emulates a remote endpoint for benchmarks. Every request is
logged (``requests``) and counted per path (``counts``); ``max_in_flight`` records the peak number
of POSTs being handled at once (to check client-side concurrency bounds).

``llamacpp=LlamaCpp(...)`` switches on llama.cpp's behaviours (any model name, 404 on
``/models/{id}`` and ``/props``, 400 ``context_length_exceeded``, runaway generations, one
request at a time, ...): see ``fakes.llamacpp``.

Traffic only ever goes to the loopback interface; nothing here loops unboundedly.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import select
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

from .faults import Fault
from .llamacpp import LlamaCpp

Responder = Callable[[dict[str, Any]], "str | Fault"]


def _last_user_text(request: dict[str, Any]) -> str:
    for message in reversed(request.get("messages") or []):
        if message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return ""


def default_responder(request: dict[str, Any]) -> str:
    """Echo the last user message; a JSON object when JSON mode was requested."""
    text = _last_user_text(request)
    fmt = request.get("response_format") or {}
    if fmt.get("type") == "json_object":
        return json.dumps({"echo": text[:200], "model": request.get("model")})
    return f"echo: {text[:200]}"


def fake_vector(text: str, dim: int) -> list[float]:
    """Deterministic, not-normalised vector for ``text`` (same text, same vector)."""
    seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")
    vec = np.random.default_rng(seed).standard_normal(dim) * 3.0
    return [float(x) for x in vec.astype(np.float32)]


def _count_tokens(text: str) -> int:
    return len(text.split())


class _BackloggedServer(ThreadingHTTPServer):
    """A real endpoint accepts bursts of connections; socketserver's default listen backlog
    of 5 makes the kernel drop SYNs beyond it, and the client's 1 s retransmit would show up
    as latency that no real API has."""

    request_queue_size = 1024


class FakeOpenAIServer:
    """A background OpenAI-compatible server on 127.0.0.1; use as a context manager."""

    def __init__(
        self,
        *,
        models: Iterable[str] = ("fake-chat", "fake-chat-2", "fake-embed"),
        responder: Responder | None = None,
        latency_s: float = 0.0,
        api_key: str | None = None,
        embed_dim: int = 16,
        fault_rate: float = 0.0,
        fault_kinds: Iterable[Fault] = (Fault.server_error(),),
        seed: int = 0,
        llamacpp: LlamaCpp | None = None,
    ) -> None:
        self.models = list(models)
        self.llamacpp = llamacpp
        self.responder: Responder = responder or default_responder
        self.latency_s = latency_s
        self.api_key = api_key
        self.embed_dim = embed_dim
        self.fault_rate = fault_rate
        self.fault_kinds = list(fault_kinds)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._faults: deque[Fault] = deque()
        self._requests: list[dict[str, Any]] = []
        self.counts: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self._stop = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeOpenAIServer:
        handler = _make_handler(self)
        self._httpd = _BackloggedServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False  # slow handlers must not hold up shutdown
        self._port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()  # wakes handlers sleeping on latency / slow faults
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (still known after ``stop``, e.g. to check error messages)."""
        assert self._port is not None, "server not started"
        return self._port

    @property
    def url(self) -> str:
        """Base URL to hand to an OpenAI client (ends with ``/v1``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    # -- control -----------------------------------------------------------------------------
    def inject(self, *faults: Fault) -> None:
        """Queue faults; each following POST consumes one, in order."""
        with self._lock:
            self._faults.extend(faults)

    @property
    def pending_faults(self) -> int:
        with self._lock:
            return len(self._faults)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Copy of the request log: ``{"method", "path", "json", "headers"}`` per request.

        ``path`` has the ``/v1`` prefix removed; header names are lower-case."""
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        """Clear the log, counters, queued faults and the in-flight peak."""
        with self._lock:
            self._requests.clear()
            self.counts.clear()
            self._faults.clear()
            self.max_in_flight = 0

    # -- used by the handler -----------------------------------------------------------------
    def _record(self, method: str, path: str, body: Any, headers: dict[str, str]) -> None:
        with self._lock:
            self._requests.append({"method": method, "path": path, "json": body, "headers": headers})
            self.counts[path] += 1

    def _next_fault(self) -> Fault | None:
        with self._lock:
            if self._faults:
                return self._faults.popleft()
            if self.fault_rate > 0 and self._rng.random() < self.fault_rate:
                return self._rng.choice(self.fault_kinds)
        return None

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._stop.wait(seconds)


def _error_body(message: str, err_type: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": err_type, "param": None, "code": code}}


def _make_handler(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like a real endpoint
        # Headers and body go out in separate writes; without TCP_NODELAY, Nagle + delayed
        # ACK add ~40 ms to every response, which would distort latency benchmarks.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            pass  # keep test output clean

        def parse_request(self) -> bool:
            # A request "arrives" when its request line has been read: the latency runs from
            # there, so this process's own header parsing and JSON decoding (and, in a burst,
            # its wait for its own GIL) stay inside latency_s instead of adding to it.
            self.arrived = time.monotonic()
            return super().parse_request()

        # -- plumbing ----------------------------------------------------------------------
        def _send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode("utf-8")
            self._send_raw(status, data, headers)

        def _send_json_ok(self, status: int, body: Any) -> bool:
            """Send; False when the client had gone (its connection was closed)."""
            if self._client_gone():
                self.close_connection = True
                return False
            return self._send_raw(status, json.dumps(body).encode("utf-8"))

        def _client_gone(self) -> bool:
            """The peer closed its end (a read would return end-of-file at once)."""
            try:
                readable, _, _ = select.select([self.connection], [], [], 0)
                if not readable:
                    return False
                return self.connection.recv(1, socket.MSG_PEEK) == b""
            except OSError:
                return True

        def _send_raw(self, status: int, data: bytes,
                      headers: dict[str, str] | None = None) -> bool:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()
                return True
            except OSError:
                self.close_connection = True  # the client gave up (timeout); nothing to do
                return False

        def _headers(self) -> dict[str, str]:
            return {k.lower(): v for k, v in self.headers.items()}

        def _route(self) -> str:
            path = self.path.split("?", 1)[0].rstrip("/")
            return path[3:] if path.startswith("/v1") else path

        def _authorised(self) -> bool:
            if server.api_key is None:
                return True
            if self.headers.get("Authorization") == f"Bearer {server.api_key}":
                return True
            self._send_json(
                401, _error_body("Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
            )
            return False

        # -- verbs -------------------------------------------------------------------------
        def do_GET(self) -> None:  # noqa: N802 - stdlib naming
            route = self._route()
            server._record("GET", route, None, self._headers())
            if not self._authorised():
                return
            if server.llamacpp is not None and server.llamacpp.handle_get(self, route):
                return
            if route == "/models":
                data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in server.models]
                self._send_json(200, {"object": "list", "data": data})
            elif route.startswith("/models/"):
                model = route[len("/models/") :]
                if self._model_or_404(model):
                    body = {"id": model, "object": "model", "created": 0, "owned_by": "fake"}
                    self._send_json(200, body)
            else:
                self._send_json(404, _error_body(f"no route {route}", "invalid_request_error", None))

        def do_POST(self) -> None:  # noqa: N802 - stdlib naming
            route = self._route()
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                server._record("POST", route, None, self._headers())
                self._send_json(400, _error_body("invalid JSON body", "invalid_request_error", None))
                return
            server._record("POST", route, body, self._headers())
            server._enter()
            try:
                self._post(route, body)
            finally:
                server._leave()

        def _post(self, route: str, body: dict[str, Any]) -> None:
            arrived = self.arrived
            if not self._authorised():
                return
            if server.llamacpp is not None and server.llamacpp.handle_post(self, server, route,
                                                                           body):
                return
            if route not in ("/chat/completions", "/embeddings"):
                self._send_json(404, _error_body(f"no route {route}", "invalid_request_error", None))
                return
            if not self._model_or_404(str(body.get("model"))):
                return
            fault = server._next_fault()
            if route == "/chat/completions" and (fault is None or fault.kind == "length"):
                # The reply is worked out while the latency runs, as a remote endpoint's
                # latency covers its own generation: computing it after the wait would add the
                # responder's CPU (and, under bursts, queueing for this process's GIL) to
                # every request, so "latency_s" would no longer be the endpoint's latency.
                reply = self._chat_reply(body, fault)
                server._sleep(server.latency_s - (time.monotonic() - arrived))
                self._send_chat(body, reply)
                return
            server._sleep(server.latency_s - (time.monotonic() - arrived))
            if fault is not None and fault.kind != "length" and self._apply_fault(fault):
                return
            if route == "/embeddings":
                self._embeddings(body)
            else:  # after a fault that still answers (``slow``)
                self._send_chat(body, self._chat_reply(body, fault))

        def _send_chat(self, body: dict[str, Any],
                       reply: tuple[int, dict[str, Any]] | Fault) -> None:
            if isinstance(reply, Fault):
                if self._apply_fault(reply):
                    return
                reply = 200, self._completion(body, default_responder(body), None)
            self._send_json(*reply)

        def _model_or_404(self, model: str) -> bool:
            if model in server.models:
                return True
            self._send_json(
                404,
                _error_body(
                    f"The model `{model}` does not exist or you do not have access to it.",
                    "invalid_request_error",
                    "model_not_found",
                ),
            )
            return False

        def _apply_fault(self, fault: Fault) -> bool:
            """Carry out ``fault``; True when the request has been answered (or abandoned)."""
            with server._lock:
                server.counts["faults"] += 1
            if fault.kind == "status":
                headers = {}
                if fault.retry_after is not None:
                    headers["Retry-After"] = f"{fault.retry_after:g}"
                kind = "rate_limit_exceeded" if fault.status == 429 else "server_error"
                code = fault.code or kind
                self._send_json(fault.status, _error_body(f"injected {fault.status}", kind, code), headers)
                return True
            if fault.kind == "slow":
                server._sleep(fault.delay_s)
                return False  # then answer normally (the client has usually gone)
            if fault.kind == "malformed":
                self._send_raw(200, b'{"id": "chatcmpl-broken", "choices": [')
                return True
            if fault.kind == "wrong_shape":
                self._send_raw(200, b'{"id": "chatcmpl-odd", "choices": "not a list"}')
                return True
            if fault.kind == "truncated_body":
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "4096")
                    self.end_headers()
                    self.wfile.write(b'{"id": "chatcmpl-cut", "choi')
                    self.wfile.flush()
                except OSError:
                    pass
                self.close_connection = True
                return True
            if fault.kind == "drop":
                self.close_connection = True
                return True
            raise ValueError(f"unknown fault kind {fault.kind!r}")

        def _chat_reply(self, body: dict[str, Any], fault: Fault | None
                        ) -> tuple[int, dict[str, Any]] | Fault:
            """(status, JSON body) answering ``body``, or the ``Fault`` its responder asked for."""
            try:
                result = server.responder(body)
            except Exception as exc:  # a broken responder is a test bug: surface it as a 500
                return 500, _error_body(f"responder failed: {exc}", "server_error", None)
            if isinstance(result, Fault):
                if result.kind != "length":
                    return result
                fault, result = result, default_responder(body)
            return 200, self._completion(body, str(result), fault)

        def _completion(self, body: dict[str, Any], text: str, fault: Fault | None
                        ) -> dict[str, Any]:
            finish = "stop"
            if fault is not None and fault.kind == "length":
                text, finish = text[: fault.keep_chars], "length"
            prompt = sum(_count_tokens(str(m.get("content", ""))) for m in body.get("messages") or [])
            completion = _count_tokens(text)
            return {
                "id": f"chatcmpl-fake-{server.counts['/chat/completions']}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": finish,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                },
            }

        def _embeddings(self, body: dict[str, Any]) -> None:
            inputs = body.get("input")
            texts = [inputs] if isinstance(inputs, str) else [str(x) for x in inputs or []]
            as_b64 = body.get("encoding_format") == "base64"
            data = []
            for i, text in enumerate(texts):
                vec = fake_vector(text, server.embed_dim)
                emb: Any = vec
                if as_b64:
                    emb = base64.b64encode(np.asarray(vec, dtype="<f4").tobytes()).decode("ascii")
                data.append({"object": "embedding", "index": i, "embedding": emb})
            tokens = sum(_count_tokens(t) for t in texts)
            self._send_json(
                200,
                {
                    "object": "list",
                    "data": data,
                    "model": body.get("model"),
                    "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                },
            )

    return Handler
