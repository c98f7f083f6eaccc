"""Install a pre-compiled seccomp BPF program on the calling thread (stdlib ``ctypes`` only).

The trusted harness compiles the filters with libseccomp and ships the raw BPF bytes (an array
of ``struct sock_filter``, host byte order) to the worker before any program code runs. The
worker installs them here, on its only thread, so every thread it starts later inherits them.
Filters stack: installing one never removes an earlier one (e.g. the one bubblewrap applied).
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable

_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_PR_SET_PDEATHSIG = 1
_SOCK_FILTER_SIZE = 8  # u16 code, u8 jt, u8 jf, u32 k


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _prctl() -> Callable[..., int]:
    libc = ctypes.CDLL(None, use_errno=True)
    prctl = libc.prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                      ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what} failed")


def apply_filter(program: bytes) -> None:
    """Install one BPF program on this thread (sets no_new_privs first).

    Raises ``ValueError`` for a malformed program, ``RuntimeError`` when other Python threads
    already run (they would stay unfiltered) and ``OSError`` when the kernel refuses.
    """
    if not program or len(program) % _SOCK_FILTER_SIZE:
        raise ValueError("seccomp program must be a non-empty array of 8-byte instructions")
    count = len(program) // _SOCK_FILTER_SIZE
    if count > 4096:
        raise ValueError("seccomp program too long")
    if threading.active_count() != 1:
        raise RuntimeError("seccomp must be installed before any thread starts")
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(count, ctypes.cast(buffer, ctypes.c_void_p))
    prctl = _prctl()
    _check(prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "PR_SET_NO_NEW_PRIVS")
    _check(prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0),
           "PR_SET_SECCOMP")


def die_with_parent(signal_number: int = 9) -> None:
    """Ask the kernel to send ``signal_number`` to this process when its parent exits."""
    _check(_prctl()(_PR_SET_PDEATHSIG, signal_number, 0, 0, 0), "PR_SET_PDEATHSIG")
