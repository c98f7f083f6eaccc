"""Spare workers: sandbox processes started ahead of time, each used by one session only.

Starting a worker (bwrap, the interpreter, the toolkit's imports and, for programs that use
vectors, numpy) costs 60-140 ms of CPU that would otherwise sit on every evaluation's critical
path. Spares are kept per key: sandbox mode, ``SandboxLimits`` and whether the worker preloads
the vector store (see ``WorkerLink``). From the second session of a key on (a campaign; not a
one-off ``evolve eval``), or from the first once a caller has announced sessions at once, a
background thread keeps replacements started, so the next session finds one ready; the
start-up then overlaps with LLM waits instead of delaying the first call.

Isolation is unchanged: a spare has run only the worker's own boot code (no program), it is
started with the limits of the session that takes it, it gets that session's callbacks before
its first request, and it is never returned to the pool -- a worker serves exactly one
session, as without spares.

``EVOLVE_SPARE_WORKERS`` sets how many spares are kept per key (default 2; 0 turns them off).
More are kept when more sessions of a key have been open at once (a campaign with
``parallel.batch_size`` 4 evaluates four children together): the pool keeps as many spares as
that peak, up to ``MAX_SPARES``, so every session of the next round finds one ready; a caller
that knows how many sessions it will open at once says so with ``expecting`` (a campaign: its
batch size), so the first round need not wait for the peak to be seen. Sessions report their
end through ``release``. Spares are per process (a forked child starts with none) and are
stopped at exit.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from .channel import WorkerLink
from .contracts import Callbacks, SandboxLimits

Key = tuple[str, SandboxLimits, bool]  # sandbox mode, limits, vector store preloaded

DEFAULT_SPARES = 2
MAX_SPARES = 8  # the peak-following count stops here (each idle spare holds 15-27 MB)


def spare_count() -> int:
    """How many spares to keep per key (``EVOLVE_SPARE_WORKERS``; malformed values: default)."""
    try:
        return max(0, int(os.environ.get("EVOLVE_SPARE_WORKERS", DEFAULT_SPARES)))
    except ValueError:
        return DEFAULT_SPARES


class SparePool:
    """Ready workers per key (mode, limits, vectors); ``take`` hands one over and starts its
    replacement."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ready: dict[Key, list[WorkerLink]] = {}
        self._starting: dict[Key, int] = {}
        self._taken: dict[Key, int] = {}
        self._open: dict[Key, int] = {}
        self._peak: dict[Key, int] = {}
        self._expected = 0  # sessions a caller said it will open at once (see `expecting`)
        self._pid = os.getpid()
        self._closed = False

    def take(self, mode: str, limits: SandboxLimits, callbacks: Callbacks,
             vectors: bool = True) -> WorkerLink | None:
        """A started worker for a new session (None if none is ready); asks for replacements.

        Every call opens a session of the key (whether or not a spare was ready): the caller
        must ``release`` it when that session ends.
        """
        key = (mode, limits, vectors)
        link = None
        with self._lock:
            self._forget_if_forked()
            ready = self._ready.get(key, [])
            while ready and link is None:
                candidate = ready.pop()
                if candidate.dead:  # it died while waiting (e.g. killed from outside)
                    candidate.close()
                else:
                    link = candidate
            self._taken[key] = self._taken.get(key, 0) + 1
            self._open[key] = self._open.get(key, 0) + 1
            self._peak[key] = max(self._peak.get(key, 0), self._open[key])
            # One session (`evolve eval`, a test) would only pay for spares it never uses:
            # keep spares for a key from its second session on, or from its first when a
            # caller announced sessions at once (`expecting`).
            in_demand = self._taken[key] >= 2 or self._expected > 1
        if in_demand:
            self._replenish(key)
        if link is not None:
            link.adopt(callbacks)
        return link

    def release(self, mode: str, limits: SandboxLimits, vectors: bool = True) -> None:
        """A session opened by ``take`` has ended."""
        key = (mode, limits, vectors)
        with self._lock:
            self._forget_if_forked()
            self._open[key] = max(0, self._open.get(key, 0) - 1)

    @contextmanager
    def expecting(self, sessions: int) -> Iterator[None]:
        """While the block runs, keep spares for ``sessions`` sessions at once per key, as if
        that many had already been open together (the peak still counts if higher)."""
        with self._lock:
            previous, self._expected = self._expected, max(self._expected, sessions)
        try:
            yield
        finally:
            with self._lock:
                self._expected = previous

    def wanted(self, mode: str, limits: SandboxLimits, vectors: bool = True) -> int:
        """How many spares are kept for a key: the configured count, or the peak number of its
        sessions open at once (or the number ``expecting`` announced) if that is higher, capped
        at ``MAX_SPARES``; 0 when turned off."""
        base = spare_count()
        with self._lock:
            peak = max(self._peak.get((mode, limits, vectors), 0), self._expected)
        return 0 if base == 0 else max(base, min(peak, MAX_SPARES))

    def _forget_if_forked(self) -> None:
        # A forked child shares the parent's pipes to the spares: never use (or close) them.
        if os.getpid() != self._pid:
            self._ready, self._starting, self._taken = {}, {}, {}
            self._open, self._peak = {}, {}
            self._pid = os.getpid()

    def _replenish(self, key: Key) -> None:
        wanted = self.wanted(*key)
        with self._lock:
            if self._closed:
                return
            missing = wanted - len(self._ready.get(key, [])) - self._starting.get(key, 0)
            if missing <= 0:
                return
            self._starting[key] = self._starting.get(key, 0) + missing
        for _ in range(missing):
            threading.Thread(target=self._start_one, args=(key,), daemon=True,
                             name="jail-spare").start()

    def _start_one(self, key: Key) -> None:
        started = WorkerLink(key[0], None, key[1], preload_vectors=key[2])
        link: WorkerLink | None = started
        try:
            started.start()
        except Exception:  # noqa: BLE001 - a session that finds no spare starts its own
            started.close()
            link = None
        with self._lock:
            self._starting[key] = max(0, self._starting.get(key, 0) - 1)
            if link is not None and not self._closed and os.getpid() == self._pid:
                self._ready.setdefault(key, []).append(link)
                return
        if link is not None:
            link.close()

    def close(self) -> None:
        """Stop every ready spare (at exit; later ``take`` calls find none)."""
        with self._lock:
            self._closed = True
            links = [link for ready in self._ready.values() for link in ready]
            self._ready = {}
            mine = os.getpid() == self._pid
        if mine:
            for link in links:
                link.close()


SPARES = SparePool()
atexit.register(SPARES.close)
