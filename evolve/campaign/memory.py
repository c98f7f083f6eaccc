"""Keeping a long campaign's orchestrator flat in memory, between iterations.

Two things grow in the orchestrator with every iteration without being Python objects
(``python bench/memory_growth.py`` shows both):

- DuckDB keeps bookkeeping of replaced and updated rows for as long as its connection lives,
  outside its memory limit: the lineage store is reopened every ``STORE_REOPEN_EVERY``
  iterations (a close checkpoints the write-ahead log; a few tens of ms);
- glibc's allocator keeps pages that Python and the libraries freed, so the resident size
  only ever rises: ``malloc_trim(0)`` after each iteration hands free pages back (~10 ms on a
  fragmented heap of 100+ MB). Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache
from typing import Any

from ..lineage import LineageStore

STORE_REOPEN_EVERY = 25


@lru_cache(maxsize=1)
def _malloc_trim() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


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
