"""Ctrl-C for commands that wait on model servers (``evolve eval``) and for campaigns.

Python's default handling raises ``KeyboardInterrupt`` in the main thread only; worker threads
blocked on a slow server (minutes per reply on a one-slot local server) go on waiting, the
thread pool's shutdown waits for them, and the interpreter's exit joins them again -- so
"interrupted" was printed and the process lived on. ``interruptible`` instead:

- first Ctrl-C: marks the process interrupted (no new model request starts, no retry is made:
  ``evolve.llm.cancel``), shuts every open model connection so blocked requests fail at once,
  raises ``KeyboardInterrupt`` in the main thread (the command unwinds and exits 130), and
  starts a watchdog that ends the process with 130 after ``grace_s`` if the cleanup hangs;
- second Ctrl-C: abandons everything at once (exit 130, no cleanup).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

EXIT_INTERRUPTED = 130
GRACE_S = 3.0


def _hard_exit() -> None:
    try:
        sys.stderr.flush()
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    os._exit(EXIT_INTERRUPTED)


@contextmanager
def interruptible(on_interrupt: Callable[[], Any] | None = None,
                  grace_s: float = GRACE_S) -> Iterator[None]:
    """Handle SIGINT as described in the module docstring while the block runs (main thread
    only; elsewhere the block runs with the handling it has)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    from ..llm.cancel import interrupt_all

    pressed = threading.Event()

    def handler(signum: int, frame: Any) -> None:
        if pressed.is_set():
            print("evolve: interrupted again: abandoning", file=sys.stderr)
            _hard_exit()
        pressed.set()
        print("evolve: interrupted: cancelling model calls (Ctrl-C again to abandon)",
              file=sys.stderr)
        watchdog = threading.Timer(grace_s, _watchdog_fired)
        watchdog.daemon = True
        watchdog.start()
        interrupt_all()
        if on_interrupt is not None:
            on_interrupt()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        if not pressed.is_set():
            signal.signal(signal.SIGINT, previous)
        # else: keep this handler while the process unwinds, so a second Ctrl-C abandons


def _watchdog_fired() -> None:
    print("evolve: cleanup did not finish in time: exiting", file=sys.stderr)
    _hard_exit()


@contextmanager
def campaign_sigint(campaign: Any) -> Iterator[None]:
    """Ctrl-C for ``evolve run`` / ``resume`` while the block runs (main thread only): the
    first press asks ``campaign`` to stop after the current step, a second one abandons the
    step (``KeyboardInterrupt``: the campaign records it and ends unfinished). The library
    installs no handler; the command line does, here."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pressed = threading.Event()

    def handler(signum: int, frame: Any) -> None:
        if pressed.is_set():
            raise KeyboardInterrupt
        pressed.set()
        campaign.request_stop()
        campaign.progress.message("Ctrl-C: stopping after the current step "
                                  "(press Ctrl-C again to abandon it)")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
