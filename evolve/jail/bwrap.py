"""Command lines for the three isolation modes.

bubblewrap (``bwrap``): every namespace unshared, a read-only root with only ``/usr`` (+ the
``/lib*``/``/bin`` symlinks), ``/etc/ld.so.cache``, the interpreter, its standard library (with
any site-packages inside it hidden under an empty read-only tmpfs), ``/jail/lib`` (the sandbox
package and numpy, read-only) and the session's workdir (read-write). Not the checkout, not
``$HOME``, not site-packages. The base seccomp filter is applied by bwrap before exec.

unshare: new network, pid, ipc, uts and mount namespaces (fresh ``/proc``), inside a new user
namespace when the harness is not root; the filesystem is the host's. none: no namespaces. In both the worker applies the seccomp filters itself.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass

from . import seccomp
from .layout import (
    JAIL_LIB,
    PythonLayout,
    ensure_bytecode,
    host_lib_dir,
    python_layout,
    worker_argv,
)

# Environment of the worker (and of bwrap/unshare): nothing inherited from the harness.
WORKER_ENV = {
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "PATH": "/usr/bin:/bin",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
_ROOT_LINKS = ("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")


def _under(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def bwrap_argv(bwrap: str, layout: PythonLayout, workdir: str, seccomp_fd: int,
               worker: list[str]) -> list[str]:
    """``bwrap ... -- <worker argv>`` for one session."""
    argv = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
            "--cap-drop", "ALL", "--hostname", "sandbox"]
    for key, value in WORKER_ENV.items():
        argv += ["--setenv", key, value]
    argv += ["--ro-bind", "/usr", "/usr"]
    for link in _ROOT_LINKS:
        if os.path.islink(link):
            argv += ["--symlink", os.readlink(link), link]
        elif os.path.isdir(link):
            argv += ["--ro-bind", link, link]
    if os.path.exists("/etc/ld.so.cache"):
        argv += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    bound = ["/usr"]
    for path in (layout.executable, *layout.shared_libs, *layout.stdlib_dirs):
        if not _under(path, bound):
            argv += ["--ro-bind", path, path]
            bound.append(path)
    for hidden in layout.site_dirs:
        if _under(hidden, bound):
            argv += ["--tmpfs", hidden, "--remount-ro", hidden]
    argv += ["--ro-bind", layout.sandbox_dir, f"{JAIL_LIB}/evolve_sandbox",
             "--ro-bind", layout.numpy_dir, f"{JAIL_LIB}/numpy"]
    if layout.numpy_libs_dir:
        argv += ["--ro-bind", layout.numpy_libs_dir, f"{JAIL_LIB}/numpy.libs"]
    argv += ["--proc", "/proc", "--dev", "/dev",
             "--bind", workdir, workdir, "--chdir", workdir,
             "--remount-ro", "/",
             "--seccomp", str(seccomp_fd), "--", *worker]
    return argv


def unshare_argv(unshare: str, worker: list[str], setpriv: str | None = None, *,
                 user_namespace: tuple[str, ...] = ()) -> list[str]:
    """``unshare ... -- <worker argv>``: private network, pids, ipc, uts, mounts and /proc.

    ``--kill-child`` kills the worker when unshare dies; ``setpriv --pdeathsig KILL`` (when
    available) kills unshare when the harness dies, so a worker stuck in a C call cannot
    outlive a SIGKILLed harness. ``user_namespace`` (see ``user_namespace_flags``) is what a
    harness that is not root needs before the kernel lets it create the other namespaces.
    """
    argv = [unshare, *user_namespace, "--net", "--pid", "--ipc", "--uts", "--fork",
            "--kill-child", "--mount-proc", "--", *worker]
    return [setpriv, "--pdeathsig", "KILL", *argv] if setpriv else argv


@functools.lru_cache(maxsize=4)
def user_namespace_flags(unshare: str, euid: int) -> tuple[str, ...]:
    """The flags that let user ``euid`` unshare: none for root; otherwise a new user namespace
    in which the worker keeps its own uid (``--map-current-user``, util-linux >= 2.38), so it
    has no capabilities there once it execs; older unshare only offers ``--map-root-user``
    (uid 0 inside the namespace, still nobody outside it, and seccomp applies all the same)."""
    if euid == 0:
        return ()
    try:
        usage = subprocess.run([unshare, "--help"], capture_output=True, text=True,
                               timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        usage = ""
    mapping = "--map-current-user" if "--map-current-user" in usage else "--map-root-user"
    return ("--user", mapping)


def find_tool(name: str) -> str | None:
    """Absolute path of ``bwrap``/``unshare`` (searched in the usual places only)."""
    return shutil.which(name, path="/usr/bin:/bin:/usr/sbin:/sbin:/usr/local/bin")


@dataclass(frozen=True)
class LaunchPlan:
    """How to start one worker: its argv, the extra fds it inherits, the filters it applies."""

    argv: list[str]
    child_fds: list[int]  # the harness closes its copies once the child exists
    filters: list[bytes]  # BPF programs the worker installs itself, in order


def plan_launch(mode: str, workdir: str, req_fd: int, msg_fd: int) -> LaunchPlan:
    """Command line and seccomp arrangement of a worker in ``mode`` (bwrap/unshare/none).

    bwrap applies the base filter before exec (``--seccomp`` reads it from a pipe created
    here); the worker then stacks the lockdown filter. Elsewhere the worker applies both.
    """
    layout = python_layout()
    ensure_bytecode()
    if mode == "bwrap":
        bwrap = find_tool("bwrap")
        if bwrap is None:
            raise RuntimeError("bwrap is not installed")
        seccomp_r, seccomp_w = os.pipe()
        os.write(seccomp_w, seccomp.base_filter())  # well under the 64 KiB pipe buffer
        os.close(seccomp_w)
        argv = bwrap_argv(bwrap, layout, workdir, seccomp_r,
                          worker_argv(layout, JAIL_LIB, req_fd, msg_fd))
        return LaunchPlan(argv, [req_fd, msg_fd, seccomp_r], [seccomp.lockdown_filter()])
    if mode not in ("unshare", "none"):
        raise ValueError(f"unknown sandbox mode {mode!r}")
    argv = worker_argv(layout, host_lib_dir(), req_fd, msg_fd)
    if mode == "unshare":
        unshare = find_tool("unshare")
        if unshare is None:
            raise RuntimeError("unshare is not installed")
        argv = unshare_argv(unshare, argv, find_tool("setpriv"),
                            user_namespace=user_namespace_flags(unshare, os.geteuid()))
    return LaunchPlan(argv, [req_fd, msg_fd], [seccomp.base_filter(), seccomp.lockdown_filter()])
