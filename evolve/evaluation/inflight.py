"""A bound on the jobs in flight for executors whose own ``submit`` has none (Dask, Ray).

``parallel.workers`` caps how many evaluations run at once. The thread executor's pool has that
many threads and the executors' ``map`` keeps that many jobs out, but a Dask client or a Ray
cluster would start every submitted job its resources allow. ``InFlightLimit.start`` waits on
the caller's thread for a free slot, as ``map`` waits for a result, and frees it when the job is
done.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

__all__ = ["InFlightLimit"]

T = TypeVar("T")


class InFlightLimit:
    """At most ``limit`` jobs started through ``start`` and not yet done."""

    def __init__(self, limit: int) -> None:
        self._free = threading.BoundedSemaphore(max(1, limit))

    def start(self, launch: Callable[[], Future[T]]) -> Future[T]:
        """``launch()`` once a slot is free; the slot is freed when its future is done."""
        self._free.acquire()
        try:
            future = launch()
        except BaseException:
            self._free.release()
            raise
        future.add_done_callback(lambda _: self._free.release())
        return future
