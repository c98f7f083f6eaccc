"""A few ``openai`` clients for one endpoint, so that many requests at once do not share one
connection pool.

Why: the HTTP layer under the ``openai`` client (httpcore) re-examines every pooled connection
when a request starts and again when it ends (expiry checks that probe idle sockets) while
holding the pool's lock, so with ~100 requests in flight against one endpoint (a campaign with
``parallel.batch_size`` 4) every request start and end queues behind that scan. Spread over
several small pools, the same burst finished 3-12% sooner in ``bench/client_overhead.py``
(burst rows; CPU per call was within run-to-run noise).

``ClientRing.lease`` hands out the client with the fewest requests in flight, and makes a new
one (up to ``max_clients``) only when every client already has ``per_client`` in flight: a
sequential caller only ever uses the first client, and the ring grows with real concurrency.
Every client is built by the same factory, so they share base URL, key, timeout and retries.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

C = TypeVar("C")

PER_CLIENT = 8    # requests in flight on one client before another is made
MAX_CLIENTS = 16  # 16 x 8 = 128 requests in flight without a crowded pool


class ClientRing(Generic[C]):
    """Clients made by ``make`` on demand; ``lease`` lends the least busy one (thread-safe)."""

    def __init__(self, make: Callable[[], C], *, per_client: int = PER_CLIENT,
                 max_clients: int = MAX_CLIENTS) -> None:
        self._make = make
        self._per_client = max(1, per_client)
        self._max_clients = max(1, max_clients)
        self._lock = threading.Lock()
        self._growing = threading.Lock()  # one client built at a time, outside `_lock`
        self._clients: list[C] = [make()]
        self._in_flight: list[int] = [0]

    @property
    def first(self) -> C:
        """The first client (for one-off requests such as listing models)."""
        return self._clients[0]

    def __len__(self) -> int:
        return len(self._clients)

    @contextmanager
    def lease(self) -> Iterator[C]:
        """The client for one request, counted as in flight until the block ends."""
        index = self._pick()
        try:
            yield self._clients[index]
        finally:
            with self._lock:
                self._in_flight[index] -= 1

    def _pick(self) -> int:
        with self._lock:
            index = self._least_busy()
            if self._in_flight[index] < self._per_client or len(self) >= self._max_clients:
                self._in_flight[index] += 1
                return index
        # Every client is busy: build one more (a client costs tens of ms: its TLS context),
        # unless another thread is already doing so, in which case share the least busy.
        if self._growing.acquire(blocking=False):
            try:
                client = self._make()
                with self._lock:
                    self._clients.append(client)
                    self._in_flight.append(1)
                    return len(self._clients) - 1
            finally:
                self._growing.release()
        with self._lock:
            index = self._least_busy()
            self._in_flight[index] += 1
            return index

    def _least_busy(self) -> int:
        """Index of the client with the fewest requests in flight (hold ``_lock``)."""
        return min(range(len(self._clients)), key=self._in_flight.__getitem__)
