"""The worker's seccomp policy, compiled once per process with libseccomp and exported as BPF.

Two filters (README.md, "The sandbox"), both "allow by default, deny the listed calls with EPERM":

- ``base_filter()``: what no program ever needs and every escape uses: new processes (fork,
  vfork, clone without CLONE_THREAD; clone3 gets ENOSYS so glibc falls back to clone for
  threads -- EPERM would break thread creation), every socket (the protocol uses inherited
  pipes), signals to other processes, ptrace and process_vm_*, mount/namespace/BPF/keyring/
  module/clock/reboot calls, io_uring (its requests bypass seccomp), new sessions and process
  groups (a ``setsid`` child escapes ``killpg``), device nodes and terminal injection. bubblewrap
  applies it before exec (``--seccomp FD``); in the other modes the worker applies it itself.
- ``lockdown_filter()``: stacked by the worker once it has set its rlimits, before any program
  code runs: no more rlimit changes, no exec, no clearing of the parent-death signal.

Syscalls of other ABIs (i386 ``int 0x80``, x32) kill the process.
"""

from __future__ import annotations

import errno
import functools
import os
import tempfile

CLONE_THREAD = 0x00010000
TIOCSTI = 0x5412
TIOCLINUX = 0x541C
PR_SET_PDEATHSIG = 1

DENIED_SYSCALLS: tuple[str, ...] = (
    # processes, sessions, signals to others
    "fork", "vfork", "setsid", "setpgid", "kill", "tkill", "tgkill", "rt_sigqueueinfo",
    "rt_tgsigqueueinfo", "pidfd_open", "pidfd_getfd", "pidfd_send_signal",
    # network: no sockets of any family
    "socket", "socketpair",
    # looking into or changing other processes
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "process_madvise",
    # mounts and namespaces
    "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "fsopen", "fsconfig",
    "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr", "open_by_handle_at",
    "name_to_handle_at",
    # kernel facilities with a history of escapes
    "bpf", "keyctl", "add_key", "request_key", "perf_event_open", "userfaultfd",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "fanotify_init",
    "lookup_dcookie",
    # machine administration
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "reboot",
    "swapon", "swapoff", "acct", "quotactl", "iopl", "ioperm", "settimeofday", "clock_settime",
    "clock_adjtime", "adjtimex", "syslog", "sethostname", "setdomainname", "vhangup",
    "mknod", "mknodat", "personality",
)
LOCKDOWN_SYSCALLS: tuple[str, ...] = ("setrlimit", "execve", "execveat")


def _new_filter():  # type: ignore[no-untyped-def]
    import pyseccomp

    flt = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    flt.set_attr(pyseccomp.Attr.ACT_BADARCH, pyseccomp.KILL_PROCESS)
    return flt


def _deny(flt, name: str, *args, code: int = errno.EPERM) -> None:  # type: ignore[no-untyped-def]
    import pyseccomp

    try:
        flt.add_rule(pyseccomp.ERRNO(code), name, *args)
    except (ValueError, OSError) as exc:
        # A syscall this kernel/libseccomp does not know cannot be called either.
        if pyseccomp.resolve_syscall(pyseccomp.system_arch(), name) >= 0:
            raise RuntimeError(f"cannot add seccomp rule for {name}: {exc}") from exc


def _export(flt) -> bytes:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryFile() as handle:
        flt.export_bpf(handle)
        handle.seek(0)
        return handle.read()


@functools.cache
def base_filter() -> bytes:
    """BPF bytes of the base policy (see the module docstring)."""
    import pyseccomp

    flt = _new_filter()
    for name in DENIED_SYSCALLS:
        _deny(flt, name)
    _deny(flt, "clone", pyseccomp.Arg(0, pyseccomp.MASKED_EQ, CLONE_THREAD, 0))
    _deny(flt, "clone3", code=errno.ENOSYS)
    for request in (TIOCSTI, TIOCLINUX):
        _deny(flt, "ioctl", pyseccomp.Arg(1, pyseccomp.MASKED_EQ, 0xFFFFFFFF, request))
    return _export(flt)


@functools.cache
def lockdown_filter() -> bytes:
    """BPF bytes the worker stacks after setting its rlimits."""
    import pyseccomp

    flt = _new_filter()
    for name in LOCKDOWN_SYSCALLS:
        _deny(flt, name)
    # prlimit64 with a NULL new limit only reads (glibc's getrlimit); anything else writes.
    _deny(flt, "prlimit64", pyseccomp.Arg(2, pyseccomp.NE, 0))
    _deny(flt, "prctl", pyseccomp.Arg(0, pyseccomp.EQ, PR_SET_PDEATHSIG))
    return _export(flt)


def available() -> tuple[bool, str]:
    """Whether filters can be compiled here; ``(False, reason)`` otherwise."""
    try:
        base_filter()
        lockdown_filter()
    except Exception as exc:  # noqa: BLE001 - any failure means "not available"
        return False, f"seccomp filters cannot be compiled ({type(exc).__name__}: {exc})"
    if os.uname().sysname != "Linux":
        return False, "seccomp needs Linux"
    return True, ""
