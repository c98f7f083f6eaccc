"""``SandboxSession``: one untrusted memory program in one long-lived jailed worker.

Typical use::

    with SandboxSession(source, callbacks, SandboxLimits(), mode="auto") as session:
        info = session.start()            # ProgramInfo (validated)
        session.write(item_dict, raw_text)
        text = session.read(query_dict)   # thread-safe: call from many threads at once
        session.reset()                   # fresh program state, same worker

Errors: ``ProgramRaised`` (the program's exception; the worker keeps running) and
``RuntimeViolation`` (a limit; see ``evolve.jail.contracts``). After a violation that killed the
worker, ``reset()`` launches a new one. ``mode`` / ``isolation`` say what isolation is in force.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from .channel import WorkerLink
from .contracts import (
    Callbacks,
    ProgramInfo,
    ProgramRaised,
    RuntimeViolation,
    SandboxLimits,
)
from .modes import isolation_text, probe_modes, resolve_mode
from .spares import SPARES

__all__ = [
    "Callbacks", "ProgramInfo", "ProgramRaised", "RuntimeViolation", "SandboxLimits",
    "SandboxSession", "probe_modes", "resolve_mode",
]

CONSTANT_NAMES = ("INSTRUCTION_KNOWLEDGE_ITEM", "INSTRUCTION_QUERY", "INSTRUCTION_RESPONSE",
                  "ALWAYS_ON_KNOWLEDGE")
MAX_CONSTANT_CHARS = 200_000
MAX_FIELDS = 200


def uses_vectors(source: str) -> bool:
    """Whether a worker for ``source`` should preload the vector store (numpy and the toolkit's
    Chroma facade). A textual check on purpose: a program can only reach numpy through the
    toolkit's ``chroma``, ``import chromadb`` or ``import numpy``, and a wrong "no" costs only
    the import on first use."""
    return "chroma" in source or "numpy" in source


class SandboxSession:
    """A context manager around one worker process (see the module docstring)."""

    def __init__(self, source: str, callbacks: Callbacks,
                 limits: SandboxLimits = SandboxLimits(), mode: str = "auto") -> None:  # noqa: B008 - frozen
        if not isinstance(source, str):
            raise TypeError("source must be a str")
        self._source = source
        self._callbacks = callbacks
        self.limits = limits
        self._requested_mode = mode
        self.mode = ""
        self.isolation = ""
        self.info: ProgramInfo | None = None
        self._link: WorkerLink | None = None
        self._lifecycle = threading.Lock()
        self._counted = False  # this session is counted as open by SPARES (see release)
        self._vectors = uses_vectors(source)

    # -- lifecycle ------------------------------------------------------------------------
    def __enter__(self) -> SandboxSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pid(self) -> int | None:
        """Pid of the supervised process (bwrap/unshare wrapper or the worker itself)."""
        return None if self._link is None else self._link.pid

    @property
    def workdir(self) -> str | None:
        return None if self._link is None else self._link.workdir

    def output_tail(self) -> str:
        """The last 8 KiB the worker printed (program prints, tracebacks), for diagnosis."""
        return "" if self._link is None else self._link.output_tail()

    def start(self) -> ProgramInfo:
        """Spawn the worker, load the program, construct ``KnowledgeBase(toolkit)``."""
        with self._lifecycle:
            if self._link is not None:
                raise RuntimeError("session already started")
            if not self.mode:
                self.mode = resolve_mode(self._requested_mode)
                self.isolation = isolation_text(self.mode)
            return self._launch_and_load()

    def reset(self) -> ProgramInfo:
        """Fresh module namespace, toolkit (db, chroma) and KnowledgeBase in the same worker;
        relaunches the worker if a violation killed it."""
        with self._lifecycle:
            link = self._link
            if link is None:
                raise RuntimeError("session not started")
            if link.dead:
                link.close()
                return self._launch_and_load()
            return self._info(link, link.request("reset", {}, self.limits.load_timeout_s))

    def close(self) -> None:
        """Stop the worker and remove its workdir (idempotent)."""
        with self._lifecycle:
            link, self._link = self._link, None
            counted, self._counted = self._counted, False
        if link is not None:
            link.close()
        if counted:
            SPARES.release(self.mode, self.limits, self._vectors)

    def _launch_and_load(self) -> ProgramInfo:
        if self._counted:  # a relaunch: still one session
            SPARES.release(self.mode, self.limits, self._vectors)
        spare = SPARES.take(self.mode, self.limits, self._callbacks, self._vectors)
        self._counted = True
        link = self._link = spare or WorkerLink(self.mode, self._callbacks, self.limits,
                                                preload_vectors=self._vectors)
        if spare is None:
            link.start()
        return self._info(link, link.request("load", {"source": self._source},
                                             self.limits.load_timeout_s))

    def _info(self, link: WorkerLink, value: Any) -> ProgramInfo:
        try:
            self.info = parse_program_info(value)
        except ValueError as exc:
            link.fail("protocol", f"protocol violation: malformed program info ({exc})")
            raise RuntimeViolation(f"protocol violation: malformed program info ({exc})",
                                   "protocol") from None
        return self.info

    # -- calls ------------------------------------------------------------------------------
    def _active(self) -> WorkerLink:
        link = self._link
        if link is None:
            raise RuntimeError("session not started (or closed)")
        return link

    def write(self, item: dict, raw_text: str) -> None:
        """``kb.write(KnowledgeItem(**known fields of item), raw_text)``."""
        self._active().request("write", {"item": item, "raw_text": str(raw_text)},
                               self.limits.call_timeout_s)

    def read(self, query: dict) -> str:
        """``kb.read(Query(**known fields of query))``; safe to call from many threads."""
        return self._active().request("read", {"query": query},
                                      self.limits.call_timeout_s)

    def observe(self, outcome: dict) -> None:
        """``kb.observe(outcome)`` if the program defines it, else nothing."""
        if self.info is not None and not self.info.has_observe:
            return
        self._active().request("observe", {"outcome": outcome},
                               self.limits.call_timeout_s)


def _fields(value: Any, what: str) -> list[dict]:
    if not isinstance(value, list) or len(value) > MAX_FIELDS:
        raise ValueError(f"{what} must be a list of at most {MAX_FIELDS} fields")
    fields = []
    for entry in value:
        if not isinstance(entry, dict):
            raise ValueError(f"{what} entries must be objects")
        name, type_text = entry.get("name"), entry.get("type")
        description = entry.get("description", "")
        if not isinstance(name, str) or not name.isidentifier() or len(name) > 200:
            raise ValueError(f"{what} has a bad field name")
        if not isinstance(type_text, str) or len(type_text) > 500:
            raise ValueError(f"{what}.{name} has a bad type")
        if not isinstance(description, str) or len(description) > 20_000:
            raise ValueError(f"{what}.{name} has a bad description")
        clean = {"name": name, "type": type_text, "description": description}
        if "default" in entry:
            if len(json.dumps(entry["default"])) > 20_000:
                raise ValueError(f"{what}.{name} default is too large")
            clean["default"] = entry["default"]
        fields.append(clean)
    return fields


def parse_program_info(value: Any) -> ProgramInfo:
    """Validate the worker's description of a loaded program; ``ValueError`` if malformed."""
    if not isinstance(value, dict):
        raise ValueError("not an object")
    constants = value.get("constants")
    if not isinstance(constants, dict) or set(constants) != set(CONSTANT_NAMES):
        raise ValueError("constants must be exactly the four instruction strings")
    for name, text in constants.items():
        if not isinstance(text, str) or len(text) > MAX_CONSTANT_CHARS:
            raise ValueError(f"{name} must be a string of at most {MAX_CONSTANT_CHARS} chars")
    has_observe = value.get("has_observe")
    if not isinstance(has_observe, bool):
        raise ValueError("has_observe must be a boolean")
    return ProgramInfo(
        constants={name: constants[name] for name in CONSTANT_NAMES},
        item_fields=_fields(value.get("item_fields"), "KnowledgeItem"),
        query_fields=_fields(value.get("query_fields"), "Query"),
        has_observe=has_observe,
    )
