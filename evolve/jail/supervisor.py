"""Process-level supervision of one worker: spawn, capture output under a cap, kill, reap.

- Spawned with ``start_new_session`` (own process group), the scrubbed environment, a fresh
  workdir as cwd, stdin from /dev/null and stdout+stderr into one pipe that a thread drains,
  counting bytes against the output cap and keeping the last 8 KiB for diagnosis.
- Every spawn happens on one long-lived daemon thread. Parent-death signals (bwrap's
  ``--die-with-parent``, the worker's own in mode none) fire when the *thread* that forked the
  child exits, so forking from a short-lived caller thread would kill healthy workers.
- ``kill()`` sends SIGKILL to the whole process group. That takes the worker down in every mode:
  bwrap's sandbox dies with its parent (and a pid namespace dies with its init), unshare's
  child has ``--kill-child``, and seccomp denies ``setsid``/``setpgid``/``fork`` so nothing can
  leave the group.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future

_TAIL_BYTES = 8192


class _Spawner:
    """Runs ``subprocess.Popen`` on one daemon thread that lives as long as the process."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _run(self) -> None:
        while True:
            future, kwargs = self._jobs.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(subprocess.Popen(**kwargs))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                future.set_exception(exc)

    def popen(self, **kwargs: object) -> subprocess.Popen:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="evolve-jail-spawner",
                                                daemon=True)
                self._thread.start()
        future: Future = Future()
        self._jobs.put((future, kwargs))
        return future.result()


_SPAWNER = _Spawner()


class WorkerProcess:
    """One spawned worker (or bwrap/unshare wrapping it)."""

    def __init__(self, argv: Sequence[str], env: dict[str, str], cwd: str,
                 pass_fds: Sequence[int], output_cap: int,
                 on_output_cap: Callable[[int], None]) -> None:
        self._cap = output_cap
        self._on_cap = on_output_cap
        self._count_lock = threading.Lock()
        self._bytes = 0
        self._tail = bytearray()
        # kill() must never signal a process group after its leader was reaped (the id could
        # belong to someone else by then), so reaping and killing share one lock.
        self._reap_lock = threading.Lock()
        self.proc = _SPAWNER.popen(
            args=list(argv), env=dict(env), cwd=cwd, pass_fds=tuple(pass_fds),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True,
        )
        self.pid = self.proc.pid
        self._drain = threading.Thread(target=self._drain_output, name=f"jail-out-{self.pid}",
                                       daemon=True)
        self._drain.start()

    # -- output ---------------------------------------------------------------------------
    def _drain_output(self) -> None:
        stream = self.proc.stdout
        assert stream is not None
        fd = stream.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            self.count_output(chunk)
        stream.close()

    def count_output(self, data: bytes) -> None:
        """Add ``data`` to the session's output total (prints and toolkit log records)."""
        with self._count_lock:
            self._bytes += len(data)
            self._tail += data
            del self._tail[:-_TAIL_BYTES]
            over = self._bytes > self._cap
            total = self._bytes
        if over:
            self._on_cap(total)

    def output_tail(self) -> str:
        with self._count_lock:
            return self._tail.decode("utf-8", "replace")

    # -- life and death ---------------------------------------------------------------------
    def kill(self) -> None:
        """SIGKILL the whole process group (idempotent, never after the leader was reaped)."""
        with self._reap_lock:
            if self.proc.returncode is not None:
                return
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def wait(self, timeout: float) -> int | None:
        """Exit status (negative = signal) or ``None`` if still running after ``timeout``."""
        deadline = time.monotonic() + timeout
        delay = 0.0005
        while True:
            with self._reap_lock:
                code = self.proc.poll()
            if code is not None or time.monotonic() >= deadline:
                return code
            time.sleep(delay)
            delay = min(delay * 2, 0.02)

    def join_output(self, timeout: float = 1.0) -> None:
        self._drain.join(timeout)

    def exit_description(self) -> str:
        """``"killed by signal 9 (SIGKILL)"`` / ``"exited with code 1"`` / ``"still running"``."""
        code = self.proc.poll()
        if code is None:
            return "still running"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = "?"
            return f"killed by signal {-code} ({name})"
        return f"exited with code {code}"
