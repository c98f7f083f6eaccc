"""Ending model calls on Ctrl-C: a process-wide "interrupted" flag and HTTP sockets that can be
shut from another thread.

Why sockets: a request blocked waiting for a slow server (a one-slot llama.cpp server can take
minutes per reply) sits in ``recv`` on a worker thread. Closing the HTTP client does not wake
it (closing a file descriptor another thread is reading from leaves that read blocked on
Linux); ``socket.shutdown`` does, and the request then fails at once with a connection error.
``SocketTracker`` wraps the HTTP stack's network backend (``httpcore``'s documented
``NetworkBackend`` interface) to remember every socket it opens, so ``abort`` can shut them.

``INTERRUPTED`` is set by ``interrupt_all`` (the Ctrl-C handler of ``evolve eval``); the retry
policy checks it before every attempt and while backing off, so no new request starts and no
retry is made once it is set: calls end with ``CallCancelled``.
"""

from __future__ import annotations

import socket
import threading
import weakref
from typing import Any

from evolve.errors import CallFailed

INTERRUPTED = threading.Event()
_trackers: weakref.WeakSet[SocketTracker] = weakref.WeakSet()
_trackers_lock = threading.Lock()


class CallCancelled(CallFailed):
    """The call was abandoned because the process is being interrupted (Ctrl-C)."""


def interrupt_all() -> int:
    """Set ``INTERRUPTED`` and shut every tracked socket; returns how many were shut."""
    INTERRUPTED.set()
    with _trackers_lock:
        trackers = list(_trackers)
    return sum(tracker.abort() for tracker in trackers)


def reset_interrupt() -> None:
    """Clear ``INTERRUPTED`` (tests, or a long-lived process that handled the interrupt)."""
    INTERRUPTED.clear()


class SocketTracker:
    """Remembers the sockets a network backend opens; ``abort`` shuts them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        with _trackers_lock:
            _trackers.add(self)

    def add(self, sock: Any) -> None:
        if isinstance(sock, socket.socket):
            with self._lock:
                self._sockets.add(sock)

    def abort(self) -> int:
        """Shut every open socket (both directions): blocked reads return at once."""
        with self._lock:
            sockets = list(self._sockets)
        shut = 0
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
                shut += 1
            except OSError:
                pass  # already closed
        return shut

    def wrap(self, backend: Any) -> Any:
        """A network backend that records each socket ``backend`` connects."""
        return _TrackingBackend(backend, self)


class _TrackingBackend:
    """Delegates to the wrapped ``httpcore`` backend; records the socket of each stream."""

    def __init__(self, inner: Any, tracker: SocketTracker) -> None:
        self._inner, self._tracker = inner, tracker

    def connect_tcp(self, *args: Any, **kwargs: Any) -> Any:
        stream = self._inner.connect_tcp(*args, **kwargs)
        self._tracker.add(stream.get_extra_info("socket"))
        return stream

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> Any:
        stream = self._inner.connect_unix_socket(*args, **kwargs)
        self._tracker.add(stream.get_extra_info("socket"))
        return stream

    def __getattr__(self, name: str) -> Any:  # sleep() and anything a later version adds
        return getattr(self._inner, name)


def track_transport(transport: Any, tracker: SocketTracker) -> bool:
    """Make ``transport`` (an ``httpx`` HTTP transport) record its sockets in ``tracker``.

    The connection pool's backend is not a public attribute of the transport; when a version
    of the HTTP stack lays it out differently nothing is tracked (False) and an interrupt
    falls back to the caller's watchdog.
    """
    pool: Any = getattr(transport, "_pool", None)  # httpcore's pool: private, untyped here
    backend = getattr(pool, "_network_backend", None)
    if backend is None or not hasattr(backend, "connect_tcp"):
        return False
    pool._network_backend = tracker.wrap(backend)
    return True
