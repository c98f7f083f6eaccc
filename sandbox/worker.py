"""The long-lived sandbox worker: hosts one memory program and serves harness requests.

Started by the trusted supervisor as ``python -I -S -B -c <boot> <path> <req_fd> <msg_fd>``
inside the jail. Protocol: ``sandbox.protocol`` (JSON lines on two dedicated pipe fds; the
program's own prints go to fd 1/2, which the harness captures under a byte cap).

Start-up order matters: read ``init``, set the resource limits, install the seccomp filters
(the harness compiled them), report ``ready`` -- and only then load untrusted code. The main
thread only reads the request pipe; requests run on a small thread pool so ``read`` calls run in
parallel (``write``/``load``/``reset``/``observe`` take an exclusive lock, ``read`` a shared one).
Program exceptions are reported, never fatal. End of file on the request pipe ends the process,
even while program code is still running in a pool thread.
"""

from __future__ import annotations

import binascii
import contextlib
import itertools
import json
import os
import resource
import sys
import threading
from _queue import SimpleQueue  # the C queue: `queue` costs ~2 ms of imports
from collections.abc import Callable, Iterator
from typing import Any

from .program import LoadedProgram, build_instance, describe_exception, load_program
from .protocol import LineWriter, read_line, unpack_rows
from .toolkit import Toolkit

__all__ = ["Worker", "main"]

# Harness messages are trusted and can be big (embedding replies: 20k texts x 1024 floats).
WORKER_MAX_LINE = 512 * 1024 * 1024


class _ReadTooLong(Exception):
    def __init__(self, length: int) -> None:
        super().__init__(length)
        self.length = length


class _RWLock:
    """Many readers or one writer (readers first: ``write`` waits for reads in flight)."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._writer = threading.Lock()  # held by the writer, or on behalf of all readers
        self._readers = 0

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        with self._mutex:
            self._readers += 1
            if self._readers == 1:
                self._writer.acquire()
        try:
            yield
        finally:
            with self._mutex:
                self._readers -= 1
                if self._readers == 0:
                    self._writer.release()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._writer:
            yield


class _Pool:
    """Up to ``size`` daemon threads, started on demand.

    Every queued task is accounted to exactly one thread that will fetch it: an idle thread
    (reserved at submit time), a newly spawned one, or -- when all are busy -- the next thread
    that finishes (``backlog``). Counting only "idle" threads would let a task wait behind a
    slow one while the pool still has room (reads would run serially).
    """

    def __init__(self, size: int) -> None:
        self._size = max(1, size)
        self._tasks: SimpleQueue = SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0
        self._backlog = 0

    def submit(self, fn: Callable[[Any], None], arg: Any) -> None:
        with self._lock:
            spawn = False
            if self._idle:
                self._idle -= 1
            elif self._threads < self._size:
                self._threads += 1
                spawn = True
            else:
                self._backlog += 1
        self._tasks.put((fn, arg))
        if spawn:
            threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            fn, arg = self._tasks.get()
            fn(arg)
            with self._lock:
                if self._backlog:
                    self._backlog -= 1
                else:
                    self._idle += 1


class _Slot:
    __slots__ = ("event", "value", "error")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.value: Any = None
        self.error: str | None = None


class Worker:
    """Request loop, program state and the toolkit callbacks."""

    def __init__(self, req_fd: int, msg_fd: int) -> None:
        self._requests = open(req_fd, "rb", buffering=1 << 16)  # noqa: SIM115 - lives forever
        self._out = LineWriter(msg_fd)
        self._ctx = threading.local()
        self._slots: dict[int, _Slot] = {}
        self._slots_lock = threading.Lock()
        self._cb_ids = itertools.count(1)
        self._rw = _RWLock()
        self._pool = _Pool(1)
        self._read_char_cap = 3000
        self._source: str | None = None
        self._program: LoadedProgram | None = None
        self._toolkit: Toolkit | None = None

    # -- start-up ---------------------------------------------------------------------
    def _init(self, message: dict[str, Any]) -> None:
        for name, value in message.get("rlimits", {}).items():
            which = getattr(resource, name)
            _, hard = resource.getrlimit(which)
            value = int(value)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(which, (value, value))
        if message.get("pdeathsig"):
            from .seccomp_apply import die_with_parent

            die_with_parent()
            if os.getppid() != message.get("parent_pid"):
                os._exit(0)  # the harness already went away
        filters = message.get("filters", [])
        if filters:
            from .seccomp_apply import apply_filter

            for encoded in filters:
                apply_filter(binascii.a2b_base64(encoded, strict_mode=True))
        # Program prints reach the harness's capture line by line (it keeps the tail).
        reconfigure = getattr(sys.stdout, "reconfigure", None)  # a TextIOWrapper's
        if reconfigure is not None:
            with contextlib.suppress(ValueError):
                reconfigure(line_buffering=True)
        self._pool = _Pool(int(message.get("threads", 8)))
        self._read_char_cap = int(message.get("read_char_cap", 3000))

    @staticmethod
    def _preload(vectors: bool) -> None:
        """Import what a load needs (sqlite3; with ``vectors``, the toolkit's Chroma facade
        and numpy, ~55 ms of CPU) before reporting ready, so a worker started ahead of time
        (a harness spare) loads a program in a few milliseconds. The harness asks for vectors
        when the program mentions them; one that uses them unannounced imports them on first
        use. Only allow-listed, trusted modules are imported."""
        import sqlite3  # noqa: F401

        if vectors:
            import chromadb  # noqa: F401 - the shim in sandbox/shims (first on sys.path)

            from . import chroma  # noqa: F401

    def run(self) -> None:
        first = self._next_message()
        if first is None:
            return
        if first.get("t") != "init":
            raise RuntimeError("first message must be init")
        self._init(first)
        self._preload(bool(first.get("preload_vectors", True)))
        self._out.send({"t": "ready"})
        while True:
            message = self._next_message()
            if message is None:
                return
            kind = message.get("t")
            if kind == "req":
                self._pool.submit(self._handle, message)
            elif kind == "cbres":
                self._resolve(message)
            else:
                raise RuntimeError(f"unknown message type {kind!r}")

    def _next_message(self) -> dict[str, Any] | None:
        line = read_line(self._requests, WORKER_MAX_LINE)
        if line is None:
            return None
        message = json.loads(line)
        if not isinstance(message, dict):
            raise RuntimeError("protocol message must be an object")
        return message

    # -- callbacks to the harness -------------------------------------------------------
    def _resolve(self, message: dict[str, Any]) -> None:
        with self._slots_lock:
            cb_id = message.get("cb")
            slot = self._slots.pop(cb_id, None) if isinstance(cb_id, int) else None
        if slot is None:
            return
        if "error" in message:
            slot.error = str(message["error"])
        else:
            slot.value = message.get("ok")
        slot.event.set()

    def _call_harness(self, kind: str, payload: dict[str, Any]) -> Any:
        request_id = getattr(self._ctx, "request_id", None)
        if request_id is None:
            raise RuntimeError(f"toolkit {kind} calls are only allowed during "
                               "load/write/read/observe, from the calling thread")
        slot = _Slot()
        with self._slots_lock:
            cb_id = next(self._cb_ids)
            self._slots[cb_id] = slot
        self._out.send({"t": "cb", "cb": cb_id, "id": request_id, "kind": kind, **payload})
        slot.event.wait()  # no timeout here: the harness times the whole request out
        if slot.error is not None:
            raise RuntimeError(slot.error)
        return slot.value

    def _embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        return unpack_rows(self._call_harness("embed", {"texts": list(texts)}))

    def _llm(self, messages: list[dict[str, str]], options: dict[str, Any]) -> str:
        result = self._call_harness("llm", {"messages": messages, "options": options})
        return result if isinstance(result, str) else str(result)

    def _log(self, level: str, text: str) -> None:
        self._out.send({"t": "log", "id": getattr(self._ctx, "request_id", None),
                        "level": level, "msg": text})

    # -- requests -------------------------------------------------------------------------
    def _handle(self, message: dict[str, Any]) -> None:
        request_id = message.get("id")
        op = message.get("op")
        self._ctx.request_id = request_id
        try:
            if op == "read":
                with self._rw.shared():
                    reply: dict[str, Any] = {"ok": self._op_read(message)}
            else:
                handler = getattr(self, f"_op_{op}", None)
                if handler is None:
                    raise RuntimeError(f"unknown request op {op!r}")
                with self._rw.exclusive():
                    reply = {"ok": handler(message)}
        except _ReadTooLong as exc:
            reply = {"toolong": exc.length}
        except BaseException as exc:  # noqa: BLE001 - SystemExit from a program is reported too
            reply = {"raised": describe_exception(exc)}
        finally:
            self._ctx.request_id = None
        try:
            self._out.send({"t": "res", "id": request_id, **reply})
        except (TypeError, ValueError) as exc:  # a result JSON cannot carry
            self._out.send({"t": "res", "id": request_id,
                            "raised": f"TypeError: result cannot be sent ({exc})"})

    def _fresh_program(self) -> dict[str, Any]:
        if self._source is None:
            raise RuntimeError("no program loaded")
        old = self._toolkit
        self._program = None
        if old is not None:
            with contextlib.suppress(Exception):
                old.db.close()
        self._toolkit = Toolkit(self._embed, self._llm, self._log)
        import chromadb  # the shim in sandbox/shims (first on sys.path)

        chromadb._bind_toolkit(self._toolkit)
        self._program = load_program(self._source, self._toolkit)
        return self._program.info

    def _loaded(self) -> LoadedProgram:
        if self._program is None:
            raise RuntimeError("no program loaded")
        return self._program

    def _op_load(self, message: dict[str, Any]) -> dict[str, Any]:
        self._source = str(message["source"])
        return self._fresh_program()

    def _op_reset(self, message: dict[str, Any]) -> dict[str, Any]:
        return self._fresh_program()

    def _op_write(self, message: dict[str, Any]) -> None:
        program = self._loaded()
        item = build_instance(program.item_cls, message.get("item"))
        program.kb.write(item, str(message.get("raw_text", "")))

    def _op_read(self, message: dict[str, Any]) -> str:
        program = self._loaded()
        query = build_instance(program.query_cls, message.get("query"))
        result = program.kb.read(query)
        if not isinstance(result, str):
            raise TypeError(f"KnowledgeBase.read() must return str, not {type(result).__name__}")
        if len(result) > self._read_char_cap:
            raise _ReadTooLong(len(result))
        return result

    def _op_observe(self, message: dict[str, Any]) -> None:
        program = self._loaded()
        observe = getattr(program.kb, "observe", None)
        if callable(observe):
            observe(dict(message.get("outcome") or {}))


def main(argv: list[str]) -> None:
    """Entry point: ``argv = [req_fd, msg_fd]``. Never returns (exits the process)."""
    out: LineWriter | None = None
    try:
        req_fd, msg_fd = int(argv[0]), int(argv[1])
        out = LineWriter(msg_fd)
        Worker(req_fd, msg_fd).run()
    except BaseException as exc:  # noqa: BLE001 - report whatever stopped the worker
        if out is not None:
            with contextlib.suppress(Exception):
                out.send({"t": "fatal", "msg": describe_exception(exc)})
        sys.stderr.flush()
        os._exit(70)
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    os._exit(0)
