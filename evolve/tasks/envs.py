"""Text environments for interactive (embodied) tasks, run out of process with timeouts.

An ``Environment`` is a text game: ``reset(**options)`` starts one game and returns the first
``Observation`` (text, admissible actions, goal), ``step(action)`` plays one action,
``expert_actions()`` returns a gold action path for the current game when the environment has
one. Environments talk to foreign runtimes (a JVM for TextWorldExpress, a PDDL planner for
ALFWorld) that may hang or crash, so the harness never hosts one in its own process:
``EnvProcess`` runs one environment in a worker subprocess (``evolve.tasks.env_worker``,
JSON lines on stdin/stdout, its own session so the worker and everything it started can be
killed together) and every call has a timeout. A call that times out kills the worker and
raises ``EnvTimeout``; a worker that dies or reports an error raises ``EnvFailed``. Callers
score such an episode as a failure instead of hanging.

``EnvPool`` bounds how many workers run at once and reuses idle ones (a JVM start costs about a
second), so episodes can be played in parallel by many threads.

Environment kinds are resolved through ``ENV_KINDS`` (kind -> "module:attribute" of a factory
called with the item's ``env_options``); tasks put the kind and the options into each
``EvalItem.meta`` so that an item alone (picklable, no live objects) says how to play it.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from .transcripts import render_transcript

ENV_KINDS: dict[str, str] = {
    "twx": "evolve.tasks.twx:TwxEnvironment",
    "alfworld": "evolve.tasks.alfworld:AlfworldEnvironment",
}
DEFAULT_START_TIMEOUT_S = 120.0  # worker start + first reset (JVM start, game compilation)
DEFAULT_STEP_TIMEOUT_S = 30.0
_MAX_REPLY_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Observation:
    """What the agent sees after a reset or a step."""

    text: str
    admissible: tuple[str, ...] = ()
    goal: str = ""
    score: float = 0.0  # the environment's progress score in [0, 1] when it has one
    done: bool = False
    won: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "admissible": list(self.admissible), "goal": self.goal,
                "score": self.score, "done": self.done, "won": self.won}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Observation:
        return cls(text=str(data.get("text", "")),
                   admissible=tuple(str(a) for a in data.get("admissible") or ()),
                   goal=str(data.get("goal", "")), score=float(data.get("score", 0.0)),
                   done=bool(data.get("done")), won=bool(data.get("won")))


class Environment(Protocol):
    """A text game hosted inside a worker process (see the module docstring)."""

    def reset(self, **options: Any) -> Observation: ...

    def step(self, action: str) -> Observation: ...

    def expert_actions(self) -> list[str]: ...

    def close(self) -> None: ...


class EnvError(RuntimeError):
    """Base class of environment failures (the episode counts as failed)."""


class EnvTimeout(EnvError):
    """A call did not answer in time; the worker was killed."""


class EnvFailed(EnvError):
    """The worker died, could not start, or the environment raised."""


def register_env(kind: str, target: str) -> None:
    """Make environment ``kind`` available; ``target`` is "module:factory"."""
    if ":" not in target:
        raise ValueError(f"environment target must be 'module:attribute', got {target!r}")
    ENV_KINDS[kind] = target


def _target(kind: str) -> str:
    """The "module:attribute" factory of ``kind`` (resolved on the harness side)."""
    target = ENV_KINDS.get(kind)
    if target is None:
        raise EnvFailed(f"unknown environment kind {kind!r}; known: {', '.join(sorted(ENV_KINDS))}")
    return target


@dataclass
class ExpertRun:
    """A gold action path played through: its transcript and whether it reached the goal."""

    goal: str
    first_observation: str
    actions: list[str]
    steps: list[tuple[str, str]] = field(default_factory=list)
    won: bool = False

    @property
    def transcript(self) -> str:
        return render_transcript(self.goal, self.first_observation, self.steps)


def play_expert(env: EnvProcess, reset_options: dict[str, Any], max_steps: int) -> ExpertRun:
    """Reset to a game, fetch its gold path and play it (stops when the game is done)."""
    first = env.reset(reset_options)
    actions = env.expert_actions()
    run = ExpertRun(first.goal, first.text, actions, won=first.won)
    for action in actions[:max_steps]:
        obs = env.step(action)
        run.steps.append((action, obs.text))
        if obs.done or obs.won:
            run.won = obs.won
            break
    return run


# ------------------------------------------------------------------------- worker process


class EnvProcess:
    """One environment in one worker subprocess; every call has a timeout.

    Not thread-safe: one thread uses one ``EnvProcess`` at a time (``EnvPool`` leases them).
    After ``EnvTimeout`` or ``EnvFailed`` the worker is dead (``alive`` is False).
    """

    def __init__(self, kind: str, options: dict[str, Any] | None = None, *,
                 start_timeout: float = DEFAULT_START_TIMEOUT_S,
                 step_timeout: float = DEFAULT_STEP_TIMEOUT_S) -> None:
        self.kind = kind
        self.options = dict(options or {})
        self.start_timeout = start_timeout
        self.step_timeout = step_timeout
        self._stderr = tempfile.TemporaryFile()
        self._buffer = b""
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "evolve.tasks.env_worker"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self._stderr, start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self._started = False

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    def _stderr_tail(self, limit: int = 600) -> str:
        try:
            self._stderr.seek(0, os.SEEK_END)
            size = self._stderr.tell()
            self._stderr.seek(max(0, size - limit))
            return self._stderr.read().decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return ""

    def _read_line(self, deadline: float) -> bytes | None:
        assert self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                raise EnvFailed(f"{self.kind} environment worker exited "
                                f"(code {self._proc.wait()}): {self._stderr_tail()}")
            self._buffer += chunk
            if len(self._buffer) > _MAX_REPLY_BYTES:
                self.kill()
                raise EnvFailed(f"{self.kind} environment reply too large")
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def call(self, op: str, args: Any = None, timeout: float | None = None) -> Any:
        """Send one request; the worker's value, or ``EnvTimeout`` / ``EnvFailed``."""
        if not self.alive:
            raise EnvFailed(f"{self.kind} environment worker is not running: "
                            f"{self._stderr_tail()}")
        if not self._started and op != "make":
            self.call("make", {"target": _target(self.kind), "options": self.options},
                      timeout=self.start_timeout)
        limit = self.step_timeout if timeout is None else timeout
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(json.dumps({"op": op, "args": args}).encode() + b"\n")
            self._proc.stdin.flush()
            line = self._read_line(time.monotonic() + limit)
        except (BrokenPipeError, OSError) as exc:
            self.kill()
            raise EnvFailed(f"{self.kind} environment worker broke: {exc}; "
                            f"{self._stderr_tail()}") from None
        if line is None:
            self.kill()
            raise EnvTimeout(f"{self.kind} environment did not answer {op!r} within "
                             f"{limit:g} s (worker killed)")
        try:
            reply = json.loads(line)
        except ValueError:
            self.kill()
            raise EnvFailed(f"{self.kind} environment sent a malformed reply") from None
        if "error" in reply:
            raise EnvFailed(f"{self.kind} environment: {reply['error']}")
        if op == "make":
            self._started = True
        return reply.get("value")

    def reset(self, options: dict[str, Any]) -> Observation:
        # The first reset of a game may compile or generate it: give it the start timeout.
        return Observation.from_json(self.call("reset", options, timeout=self.start_timeout))

    def step(self, action: str) -> Observation:
        return Observation.from_json(self.call("step", action))

    def expert_actions(self) -> list[str]:
        return [str(a) for a in self.call("expert") or []]

    def kill(self) -> None:
        """Kill the worker and everything it started (its own process group)."""
        if self._proc.poll() is None:
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self._proc.kill()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def close(self) -> None:
        """Ask the worker to close its environment, then make sure it is gone."""
        if self._proc.poll() is None:
            try:
                assert self._proc.stdin is not None
                self._proc.stdin.write(b'{"op": "close"}\n')
                self._proc.stdin.flush()
                self._proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()
        for stream in (self._proc.stdin, self._proc.stdout, self._stderr):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass


class EnvPool:
    """At most ``max_workers`` environment workers, leased to one thread at a time."""

    def __init__(self, max_workers: int = 2, *, start_timeout: float = DEFAULT_START_TIMEOUT_S,
                 step_timeout: float = DEFAULT_STEP_TIMEOUT_S) -> None:
        self.max_workers = max(1, int(max_workers))
        self.start_timeout = start_timeout
        self.step_timeout = step_timeout
        self._idle: list[EnvProcess] = []
        self._busy = 0
        self._closed = False
        self._cond = threading.Condition()

    @staticmethod
    def _key(kind: str, options: dict[str, Any]) -> str:
        return json.dumps([kind, options], sort_keys=True)

    @contextmanager
    def lease(self, kind: str, options: dict[str, Any] | None = None,
              step_timeout: float | None = None) -> Iterator[EnvProcess]:
        """A worker for environment ``kind`` with ``options`` (blocks while all are busy)."""
        options = dict(options or {})
        key = self._key(kind, options)
        worker: EnvProcess | None = None
        evicted: EnvProcess | None = None
        with self._cond:
            while True:
                if self._closed:
                    raise EnvFailed("environment pool is closed")
                match = next((w for w in self._idle if self._key(w.kind, w.options) == key), None)
                if match is not None:
                    self._idle.remove(match)
                    worker = match
                    break
                if self._busy + len(self._idle) < self.max_workers:
                    break
                if self._idle:  # an idle worker of another kind makes room
                    evicted = self._idle.pop(0)
                    break
                self._cond.wait()
            self._busy += 1
        if evicted is not None:
            evicted.close()
        try:
            if worker is None:
                worker = EnvProcess(kind, options, start_timeout=self.start_timeout,
                                    step_timeout=self.step_timeout)
            worker.step_timeout = step_timeout or self.step_timeout
            yield worker
        finally:
            retire = None
            with self._cond:
                self._busy -= 1
                if worker is not None and worker.alive and not self._closed:
                    self._idle.append(worker)
                else:
                    retire = worker
                self._cond.notify_all()
            if retire is not None:
                retire.close()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._cond.notify_all()
        for worker in idle:
            worker.close()

    def __enter__(self) -> EnvPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
