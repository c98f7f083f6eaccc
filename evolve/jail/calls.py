"""Bookkeeping of requests in flight and validation of what the worker sends back.

Everything here treats worker messages as hostile: wrong types, unknown ids, oversized values
and impossible combinations raise ``ProtocolError``; the link then kills the worker.
"""

from __future__ import annotations

import _thread
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from evolve_sandbox.protocol import LOG_LEVELS

MAX_RAISED_CHARS = 20_000
MAX_EMBED_TEXTS = 20_000
LLM_OPTIONS = ("temperature", "max_tokens", "json_mode")


class ProtocolError(Exception):
    """A message from the worker is malformed or does not fit the conversation."""


class Done:
    """A one-shot completion flag (a bare lock: cheaper than ``threading.Event``).

    Set at most once (the link removes a call from its table before setting it).
    """

    __slots__ = ("_lock", "_set")

    def __init__(self) -> None:
        self._lock = _thread.allocate_lock()
        self._lock.acquire()
        self._set = False

    def set(self) -> None:
        if not self._set:
            self._set = True
            self._lock.release()

    def wait(self, timeout: float | None = None) -> bool:
        if self._set:
            return True
        if self._lock.acquire(timeout=-1 if timeout is None else max(0.0, timeout)):
            self._lock.release()
            return True
        return self._set


@dataclass
class Call:
    """One request in flight and everything that happened to it."""

    id: int
    op: str
    deadline: float
    timeout: float
    done: Done = field(default_factory=Done)
    value: Any = None
    raised: str | None = None
    toolong: int | None = None
    violation: tuple[str, str, str] | None = None  # (reason, kind, output tail)
    llm_calls: int = 0
    budget_exceeded: bool = False
    callback_error: BaseException | None = None

    def timeout_reason(self) -> str:
        return f"{self.op} timed out after {self.timeout:g} s"


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def fill_result(call: Call, message: dict[str, Any], read_char_cap: int) -> None:
    """Store a ``res`` message's outcome on ``call`` after checking it fits ``call.op``."""
    keys = {"ok", "raised", "toolong"} & message.keys()
    if len(keys) != 1:
        raise ProtocolError("a response needs exactly one of ok/raised/toolong")
    key = keys.pop()
    value = message[key]
    op = call.op
    if key == "raised":
        if not isinstance(value, str):
            raise ProtocolError("raised text is not a string")
        call.raised = value[:MAX_RAISED_CHARS]
    elif key == "toolong":
        if not _is_int(value) or op != "read" or value <= read_char_cap:
            raise ProtocolError("malformed toolong response")
        call.toolong = value
    elif op == "read":
        if not isinstance(value, str):
            raise ProtocolError("read result is not a string")
        if len(value) > read_char_cap:  # forged past the worker's own check: still a cap hit
            call.toolong = len(value)
        else:
            call.value = value
    elif op in ("write", "observe"):
        if value is not None:
            raise ProtocolError(f"{op} result must be null")
    elif op in ("load", "reset"):
        if not isinstance(value, dict):
            raise ProtocolError(f"{op} result must be an object")
        call.value = value
    else:
        raise ProtocolError(f"result for a {op} request")


def parse_callback(message: dict[str, Any]) -> tuple[int, int, str, tuple]:
    """``(callback id, request id, kind, args)`` of a ``cb`` message."""
    cb_id, call_id, kind = message.get("cb"), message.get("id"), message.get("kind")
    if not _is_int(cb_id) or not _is_int(call_id):
        raise ProtocolError("callback ids must be integers")
    if kind == "embed":
        texts = message.get("texts")
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise ProtocolError("embed texts must be a list of strings")
        return cb_id, call_id, kind, (texts,)
    if kind == "llm":
        messages, options = message.get("messages"), message.get("options")
        if not isinstance(messages, list) or not all(
                isinstance(m, dict) and isinstance(m.get("role"), str)
                and isinstance(m.get("content"), str) for m in messages):
            raise ProtocolError("llm messages must be role/content objects")
        if not isinstance(options, dict):
            raise ProtocolError("llm options must be an object")
        clean_options = {k: options[k] for k in LLM_OPTIONS
                         if isinstance(options.get(k), (int, float, bool))}
        clean_messages = [{"role": m["role"], "content": m["content"]} for m in messages]
        return cb_id, call_id, kind, (clean_messages, clean_options)
    raise ProtocolError(f"unknown callback kind {kind!r}")


def parse_log(message: dict[str, Any]) -> tuple[str, str]:
    """``(level, text)`` of a ``log`` message."""
    level, text = message.get("level"), message.get("msg")
    if not isinstance(level, str) or level not in LOG_LEVELS or not isinstance(text, str):
        raise ProtocolError("malformed log record")
    return level, text
