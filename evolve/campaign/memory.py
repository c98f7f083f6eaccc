"""Keeping a long campaign's orchestrator flat in memory, between iterations.

Two things grow in the orchestrator with every iteration without being Python objects
(``python bench/memory_growth.py`` shows both):

- DuckDB keeps bookkeeping of replaced and updated rows for as long as its connection lives,
  outside its memory limit: the lineage store is reopened every ``STORE_REOPEN_EVERY``
  iterations (a close checkpoints the write-ahead log; a few tens of ms);
- glibc's allocator keeps pages that Python and the libraries freed, so the resident size
  only ever rises: ``malloc_trim(0)`` after each iteration hands free pages back (~10 ms on a
  fragmented heap of 100+ MB). Elsewhere than glibc it does nothing;
- glibc serves a request above its *mmap threshold* (128 KiB at start) by a mapping of its own,
  given back on free, but raises the threshold to the size of each such block freed (up to
  32 MiB), after which the campaign's large, short-lived buffers (DuckDB results, numpy
  matrices, HTTP bodies) land on the heap, fragment it and stay resident: a 300-iteration
  ``bench/memory_growth.py`` grew +0.44 MB/iteration so, +0.04 with the threshold pinned.
  ``pin_mmap_threshold`` (at campaign start) fixes it at 128 KiB, unless the user chose a
  threshold through glibc's own ``MALLOC_MMAP_THRESHOLD_`` or ``GLIBC_TUNABLES``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from functools import lru_cache
from typing import Any

from ..lineage import LineageStore

STORE_REOPEN_EVERY = 25
MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's initial threshold, kept from then on
_M_MMAP_THRESHOLD = -3  # mallopt parameter number (malloc.h)


def _glibc_function(name: str) -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return getattr(libc, name)
    except (OSError, AttributeError):  # not glibc
        return None


@lru_cache(maxsize=1)
def _malloc_trim() -> Any:
    return _glibc_function("malloc_trim")


@lru_cache(maxsize=1)
def _mallopt() -> Any:
    return _glibc_function("mallopt")


def user_chose_mmap_threshold(environ: dict[str, str] | None = None) -> bool:
    """Whether glibc was told a threshold at start (its env settings are read only then)."""
    env = os.environ if environ is None else environ
    return ("MALLOC_MMAP_THRESHOLD_" in env
            or "glibc.malloc.mmap_threshold" in env.get("GLIBC_TUNABLES", ""))


def pin_mmap_threshold() -> bool:
    """Fix glibc's mmap threshold for this process (see the module docstring).

    Returns whether it was set: False off glibc or when the user set a threshold. Setting it
    also turns glibc's dynamic adjustment off for the life of the process, which is harmless
    after the campaign: large blocks keep being mapped and unmapped as at start.
    """
    mallopt = _mallopt()
    if mallopt is None or user_chose_mmap_threshold():
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))


def release_free_memory() -> None:
    """Return the allocator's free pages to the system (glibc only; a no-op elsewhere)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def after_iteration(store: LineageStore, iteration: int) -> None:
    """Called once an iteration's state is stored (outside any transaction)."""
    if iteration % STORE_REOPEN_EVERY == 0:
        store.reopen()
    release_free_memory()
