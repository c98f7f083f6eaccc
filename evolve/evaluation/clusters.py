"""Connecting to a Dask or Ray cluster, and running evaluations on Ray.

A cluster address is user input: a malformed or unreachable one is a ``UsageError`` naming the
address and what to do, found before the campaign starts work (Dask's client and Ray's GCS
client would otherwise wait 30 s to minutes and then fail with their own internals).

Ray runs evaluations as Ray tasks submitted directly, not through joblib: Ray's joblib backend
cannot return results lazily (``return_as="generator"``), and the campaign stores each result
as soon as it and every earlier one are done.
"""

from __future__ import annotations

import socket
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

from ..errors import UsageError
from ..lineage.writes import NewEvaluation
from .inflight import InFlightLimit
from .jobs import EvalJob, run_job

CONNECT_TIMEOUT_S = 10.0


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def dask_client(address: str, workers: int) -> Any:
    """A Dask client: on the scheduler at ``address``, or on a new local cluster if empty."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise UsageError("parallel.executor = 'dask' needs `pip install "
                         "\"dask[distributed]\"`") from None
    if not address:
        return Client(LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None))
    what_to_do = ("start one (`dask scheduler`) and give its address as tcp://HOST:PORT, or "
                  "set parallel.address = \"\" for a local cluster")
    scheme, _, rest = address.rpartition("://")
    host, _, port = rest.rpartition(":")
    if scheme in ("", "tcp", "tls") and host and port.isdigit():
        problem = _unreachable(host, int(port))  # refused at once, not after the timeout
        if problem:
            raise UsageError(f"parallel.address {address!r}: no Dask scheduler reachable "
                             f"({problem}); {what_to_do}")
    try:
        return Client(address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, ValueError, TimeoutError) as exc:
        raise UsageError(f"parallel.address {address!r}: no Dask scheduler reachable "
                         f"({_first_line(exc)}); {what_to_do}") from None


def _unreachable(host: str, port: int) -> str | None:
    """Why nothing accepts a TCP connection at ``host:port`` (None if something does)."""
    try:
        socket.create_connection((host.strip("[]"), port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        return exc.strerror or str(exc) or type(exc).__name__
    return None


def check_ray_address(address: str) -> None:
    """Refuse a Ray GCS address (``HOST:PORT``) that is malformed or where nothing listens.

    ``""``, ``"auto"``, ``"local"`` and ``ray://`` client addresses are left to Ray itself."""
    if address in ("", "auto", "local") or "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"parallel.address {address!r} is not a Ray address: give the head's "
                         f"HOST:PORT (as printed by `ray start --head`), \"auto\", or \"\" to "
                         f"start a local Ray instance")
    problem = _unreachable(host, int(port))
    if problem:
        raise UsageError(f"parallel.address {address!r}: no Ray head answers there "
                         f"({problem}); start one with `ray start --head --port {port}` or "
                         f"fix parallel.address")


class RayExecutor:
    """Evaluations as Ray tasks, at most ``workers`` at once, results in job order."""

    name = "ray"

    def __init__(self, workers: int, address: str = "") -> None:
        try:
            import ray
        except ImportError:
            raise UsageError("parallel.executor = 'ray' needs `pip install ray` "
                             "(or `pip install \"evolve-memory[ray]\"`)") from None
        self._ray = ray
        self._workers = max(1, workers)
        self._owns_connection = False
        if not ray.is_initialized():  # a host program may have connected already
            check_ray_address(address)
            try:
                ray.init(address=address or None, include_dashboard=False, log_to_driver=False)
            except (ValueError, ConnectionError, RuntimeError) as exc:
                raise UsageError(f"parallel.address {address!r}: cannot connect to Ray "
                                 f"({_first_line(exc)}); give the head's HOST:PORT, \"auto\" "
                                 f"for a running local cluster, or \"\" to start one") from None
            self._owns_connection = True
        # one CPU per evaluation: a worker runs one sandbox session at a time, like loky's
        self._remote = ray.remote(num_cpus=1, max_retries=0)(run_job)
        self._in_flight = InFlightLimit(self._workers)  # submit keeps map's bound

    def map(self, jobs: list[EvalJob]) -> Iterator[NewEvaluation]:
        pending = iter(jobs)
        running: deque[Any] = deque()
        for job in pending:
            running.append(self._remote.remote(job))
            if len(running) >= self._workers:
                break
        while running:
            result = self._ray.get(running.popleft())
            next_job = next(pending, None)
            if next_job is not None:
                running.append(self._remote.remote(next_job))
            yield result

    def submit(self, job: EvalJob) -> Future[NewEvaluation]:
        """One job as a Ray task, started at once (a round's children as they come)."""
        return self._in_flight.start(lambda: self._remote.remote(job).future())

    def close(self) -> None:
        if self._owns_connection and self._ray.is_initialized():
            self._ray.shutdown()
