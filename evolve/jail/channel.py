"""The harness end of one worker process: launch, protocol, limits, callbacks.

A ``WorkerLink`` owns one worker generation. Every message from the worker is untrusted
(``evolve.jail.calls`` validates them); anything malformed or unexpected kills the worker with a
``protocol`` violation. Limits live here, on the trusted side:

- each request has a deadline; past it the whole process group is killed and every request in
  flight fails with ``"<op> timed out after N s"``. Sending is bounded by the same deadline (the
  request pipe is non-blocking), so a worker that stops reading cannot hang the harness;
- ``read`` results longer than the cap fail with ``read_cap`` (the worker keeps running);
- toolkit LLM calls are counted per request id; one over the budget gets an error reply and the
  request fails with ``llm_budget`` whatever the program did with the error;
- program prints plus log text count against the output cap; over it, the worker is killed.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import select
import shutil
import tempfile
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from evolve_sandbox.protocol import MAX_LINE_BYTES, pack_rows, read_line

from .bwrap import WORKER_ENV, plan_launch
from .calls import (
    MAX_EMBED_TEXTS,
    MAX_RAISED_CHARS,
    Call,
    ProtocolError,
    fill_result,
    parse_callback,
    parse_log,
)
from .contracts import Callbacks, ProgramRaised, RuntimeViolation, SandboxLimits
from .rlimits import worker_rlimits
from .supervisor import WorkerProcess

MAX_LOG_CHARS = 2_000


class WorkerLink:
    """One live worker process and its protocol state."""

    def __init__(self, mode: str, callbacks: Callbacks | None, limits: SandboxLimits,
                 preload_vectors: bool = True) -> None:
        self.mode = mode
        self.preload_vectors = preload_vectors  # import numpy and the Chroma facade at boot
        self._callbacks = callbacks  # None for a spare until ``adopt``
        self._limits = limits
        self._lock = threading.Lock()
        self._pending: dict[int, Call] = {}
        self._ids = itertools.count(1)
        self._dead: tuple[str, str, str] | None = None
        self._closing = False
        self._proc: WorkerProcess | None = None
        self._req_fd: int | None = None
        self._send_lock = threading.Lock()
        self._reader: threading.Thread | None = None
        self._executor = ThreadPoolExecutor(max(2, limits.read_threads + 2),
                                            thread_name_prefix="jail-callback")
        self.workdir = tempfile.mkdtemp(prefix="evolve-work-")
        # replaced by one with another callback once the worker runs
        self._finalizer: weakref.finalize[..., Any] = weakref.finalize(
            self, shutil.rmtree, self.workdir, True)

    # -- launch ---------------------------------------------------------------------------
    def start(self) -> None:
        """Spawn the worker and wait until it reports ready (``load_timeout_s``)."""
        req_r, req_w = os.pipe()
        msg_r, msg_w = os.pipe()
        try:
            plan = plan_launch(self.mode, self.workdir, req_r, msg_w)
        except BaseException:
            for fd in (req_r, req_w, msg_r, msg_w):
                os.close(fd)
            raise
        startup = self._register("start", self._limits.load_timeout_s, call_id=0)
        try:
            self._proc = WorkerProcess(plan.argv, WORKER_ENV, self.workdir, plan.child_fds,
                                       self._limits.output_cap_bytes, self._on_output_cap)
        except BaseException:
            os.close(req_w)
            os.close(msg_r)
            raise
        finally:
            for fd in plan.child_fds:
                os.close(fd)
        self._finalizer.detach()
        self._finalizer = weakref.finalize(self, _cleanup, self._proc, self.workdir)
        os.set_blocking(req_w, False)  # sends wait with select() up to a deadline
        self._req_fd = req_w
        self._reader = threading.Thread(target=self._read_loop, args=(msg_r,), daemon=True,
                                        name=f"jail-reader-{self._proc.pid}")
        self._reader.start()
        self._send({
            "t": "init",
            "rlimits": worker_rlimits(self._limits),
            "filters": [base64.b64encode(f).decode("ascii") for f in plan.filters],
            "threads": self._limits.read_threads,
            "read_char_cap": self._limits.read_char_cap,
            "pdeathsig": self.mode == "none",
            "parent_pid": os.getpid(),
            "preload_vectors": self.preload_vectors,
        }, startup)
        self._wait(startup)

    def adopt(self, callbacks: Callbacks) -> None:
        """Give a started spare its session's callbacks (before its first request: no
        program code has run in it, so nothing can have called back yet)."""
        self._callbacks = callbacks

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    @property
    def dead(self) -> bool:
        return self._dead is not None

    def output_tail(self) -> str:
        return "" if self._proc is None else self._proc.output_tail()

    # -- requests -------------------------------------------------------------------------
    def request(self, op: str, payload: dict[str, Any], timeout: float) -> Any:
        """Send one request and wait for its outcome; raises the errors of ``contracts``."""
        call = self._register(op, timeout)
        self._send({"t": "req", "id": call.id, "op": op, **payload}, call)
        return self._wait(call)

    def _register(self, op: str, timeout: float, call_id: int | None = None) -> Call:
        with self._lock:
            if self._dead is not None:
                raise RuntimeViolation(*self._dead)
            call = Call(next(self._ids) if call_id is None else call_id, op,
                        deadline=time.monotonic() + timeout, timeout=timeout)
            if call_id == 0:
                call.op = "worker start"
            self._pending[call.id] = call
            return call

    def _send(self, message: dict[str, Any], call: Call) -> None:
        """Write one line before ``call``'s deadline, else fail the worker with its timeout."""
        # default=str: harness-side dicts may hold dates, paths, numpy scalars ...
        data = memoryview(json.dumps(message, separators=(",", ":"), default=str).encode()
                          + b"\n")
        if not self._send_lock.acquire(timeout=max(0.0, call.deadline - time.monotonic())):
            self.fail("timeout", call.timeout_reason())
            return
        try:
            fd = self._req_fd  # None once closed: never write to a recycled fd number
            while data and fd is not None:
                try:
                    data = data[os.write(fd, data):]
                except BlockingIOError:
                    left = call.deadline - time.monotonic()
                    if left <= 0:
                        # a half-written line would garble the stream: the worker must go
                        self.fail("timeout", call.timeout_reason())
                        return
                    select.select([], [fd], [], left)
        except OSError:
            pass  # the worker is gone; the reader thread reports how it died
        finally:
            self._send_lock.release()

    def _wait(self, call: Call) -> Any:
        left = min(call.deadline - time.monotonic(), threading.TIMEOUT_MAX)
        if not call.done.wait(left):
            self.fail("timeout", call.timeout_reason())
            call.done.wait()
        if call.violation is not None:
            raise RuntimeViolation(*call.violation)
        if call.budget_exceeded:
            raise RuntimeViolation(
                f"{call.op} exceeded the toolkit LLM budget "
                f"({self._limits.llm_budget_per_call} call(s) per {call.op})", "llm_budget")
        if call.raised is not None:
            if call.callback_error is not None:
                raise call.callback_error  # the harness's own failure, not the program's
            raise ProgramRaised(call.raised)
        if call.toolong is not None:
            raise RuntimeViolation(
                f"read returned {call.toolong} chars, more than the cap of "
                f"{self._limits.read_char_cap}", "read_cap")
        return call.value

    # -- failure ----------------------------------------------------------------------------
    def fail(self, kind: str, reason: str) -> None:
        """Kill the worker and fail every request in flight (the first failure wins)."""
        with self._lock:
            if self._dead is not None:
                return
            tail = self._proc.output_tail() if self._proc is not None else ""
            self._dead = (reason, kind, tail)
            pending = list(self._pending.values())
            self._pending.clear()
        if self._proc is not None:
            self._proc.kill()
        for call in pending:
            call.violation = (reason, kind, tail)
            call.done.set()

    def _on_output_cap(self, total: int) -> None:
        self.fail("output_cap", f"worker output exceeded the cap of "
                                f"{self._limits.output_cap_bytes} bytes ({total} bytes)")

    def _describe_exit(self) -> str:
        assert self._proc is not None
        text = self._proc.exit_description()
        code = self._proc.proc.returncode
        if self.mode != "none" and code is not None and code > 128:
            text += f" (signal {code - 128} inside the sandbox)"
        return text

    # -- reader thread ------------------------------------------------------------------------
    def _read_loop(self, fd: int) -> None:
        with os.fdopen(fd, "rb", buffering=1 << 16) as stream:
            while True:
                try:
                    line = read_line(stream, MAX_LINE_BYTES)
                    if line is None:
                        break
                    self._dispatch(line)
                except (ValueError, ProtocolError) as exc:
                    self.fail("protocol", f"protocol violation: {exc}")
                    break
                except Exception as exc:  # noqa: BLE001 - whatever it was, stop trusting it
                    self.fail("protocol", f"protocol violation: {type(exc).__name__}: {exc}")
                    break
        proc = self._proc
        assert proc is not None
        proc.wait(2.0)
        proc.join_output(1.0)
        if not self._closing:
            self.fail("worker_died", f"worker died: {self._describe_exit()}")

    def _dispatch(self, line: bytes) -> None:
        try:
            message = json.loads(line)
        except ValueError as exc:
            raise ProtocolError(f"unparseable message ({exc})") from None
        if not isinstance(message, dict):
            raise ProtocolError("message is not an object")
        kind = message.get("t")
        if kind == "res":
            self._on_result(message)
        elif kind == "cb":
            self._on_callback(message)
        elif kind == "log":
            self._on_log(message)
        elif kind == "ready":
            self._on_ready()
        elif kind == "fatal":
            text = str(message.get("msg", ""))[:MAX_RAISED_CHARS]
            self.fail("worker_died", f"worker failed: {text}")
        else:
            raise ProtocolError(f"unknown message type {kind!r}")

    def _on_ready(self) -> None:
        with self._lock:
            startup = self._pending.pop(0, None)
        if startup is None:
            raise ProtocolError("unexpected ready message")
        startup.done.set()

    def _on_result(self, message: dict[str, Any]) -> None:
        call_id = message.get("id")
        if not isinstance(call_id, int) or isinstance(call_id, bool):
            raise ProtocolError("response id is not an integer")
        with self._lock:
            call = self._pending.pop(call_id, None) if call_id != 0 else None
        if call is None:
            raise ProtocolError(f"response to unknown request {call_id!r}")
        try:
            fill_result(call, message, self._limits.read_char_cap)
        except ProtocolError as exc:
            call.violation = (f"protocol violation: {exc}", "protocol", "")
            raise
        finally:
            call.done.set()

    def _on_callback(self, message: dict[str, Any]) -> None:
        cb_id, call_id, kind, args = parse_callback(message)
        with self._lock:
            call = self._pending.get(call_id) if call_id != 0 else None
            if call is not None and kind == "llm":
                call.llm_calls += 1
                if call.llm_calls > self._limits.llm_budget_per_call:
                    call.budget_exceeded = True
        if call is None:
            raise ProtocolError(f"callback for unknown request {call_id}")
        refusal = None
        if kind == "llm" and call.budget_exceeded:
            refusal = (f"toolkit LLM budget exceeded ({self._limits.llm_budget_per_call} "
                       f"call(s) per {call.op})")
        elif kind == "embed" and len(args[0]) > MAX_EMBED_TEXTS:
            refusal = f"embed batch too large ({len(args[0])} texts, max {MAX_EMBED_TEXTS})"
        if refusal is not None:
            self._send({"t": "cbres", "cb": cb_id, "error": refusal}, call)
            return
        try:
            self._executor.submit(self._serve, call, cb_id, kind, args)
        except RuntimeError:
            pass  # closing: the executor no longer takes work

    def _serve(self, call: Call, cb_id: int, kind: str, args: tuple) -> None:
        try:
            callbacks = self._callbacks
            if callbacks is None:
                raise RuntimeError("worker has no session")
            if kind == "embed":
                texts = args[0]
                matrix = np.asarray(callbacks.embed(texts), dtype=np.float32)
                if matrix.ndim != 2 or matrix.shape[0] != len(texts):
                    raise ValueError(f"embedder returned shape {matrix.shape} "
                                     f"for {len(texts)} texts")
                matrix = np.ascontiguousarray(matrix)
                reply: dict[str, Any] = {"ok": pack_rows(matrix.tobytes(), *matrix.shape)}
            else:
                text = callbacks.llm(*args)
                if not isinstance(text, str):
                    raise TypeError(f"llm callback returned {type(text).__name__}, not str")
                reply = {"ok": text}
        except Exception as exc:  # noqa: BLE001 - reported to the program and the caller
            if call.callback_error is None:
                call.callback_error = exc
            reply = {"error": f"toolkit {kind} failed: {type(exc).__name__}: {exc}"}
        self._send({"t": "cbres", "cb": cb_id, **reply}, call)

    def _on_log(self, message: dict[str, Any]) -> None:
        level, text = parse_log(message)
        if self._proc is not None:
            self._proc.count_output(text.encode("utf-8", "replace") + b"\n")
        try:
            if self._callbacks is not None:
                self._callbacks.log(level, text[:MAX_LOG_CHARS])
        except Exception:  # noqa: BLE001 - a broken log sink must not stop the protocol
            pass

    # -- shutdown ---------------------------------------------------------------------------
    def close(self) -> None:
        """Ask the worker to exit (end of file), kill it if it does not, clean up."""
        self._closing = True
        if not self._send_lock.acquire(timeout=1.0):
            if self._proc is not None:  # a send is stuck: the worker is not reading
                self._proc.kill()
            self._send_lock.acquire()
        try:
            fd, self._req_fd = self._req_fd, None
            if fd is not None:
                os.close(fd)
        finally:
            self._send_lock.release()
        if self._proc is not None and self._proc.wait(1.0) is None:
            self._proc.kill()
            self._proc.wait(2.0)
        self.fail("closed", "the sandbox session is closed")
        if self._reader is not None and self._reader is not threading.current_thread():
            self._reader.join(2.0)
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._finalizer()


def _cleanup(proc: WorkerProcess, workdir: str) -> None:
    proc.kill()
    shutil.rmtree(workdir, ignore_errors=True)
