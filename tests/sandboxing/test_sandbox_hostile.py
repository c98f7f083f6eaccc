"""Hostile memory programs must be contained, in every isolation mode that works here.

Every attack reaches the dangerous modules without an import statement (the import guard is
only defence in depth): ``collections`` keeps ``sys`` as ``collections._sys``, and
``sys.modules["_frozen_importlib"].__import__`` imports anything around the guard. The point is
that the operating-system layers (seccomp, namespaces, rlimits, the trusted-side limits) hold.

Filesystem checks run only in bwrap mode: unshare and none cannot isolate the filesystem (that
is what ``SandboxSession.isolation`` says), so those checks are skipped there.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import pytest

from evolve.jail import (
    ProgramRaised,
    RuntimeViolation,
    SandboxLimits,
    SandboxSession,
    probe_modes,
)
from evolve.jail.bwrap import WORKER_ENV
from evolve.jail.layout import python_layout

MODES = [mode for mode, works in probe_modes().items() if works]
REPO = Path(__file__).resolve().parents[2]
FAST = SandboxLimits(call_timeout_s=0.5, load_timeout_s=10.0, output_cap_bytes=100_000)

_TEMPLATE = '''
import collections
import dataclasses
import json
from dataclasses import dataclass

INSTRUCTION_KNOWLEDGE_ITEM = "item"
INSTRUCTION_QUERY = "query"
INSTRUCTION_RESPONSE = "answer"
ALWAYS_ON_KNOWLEDGE = ""

# Escape hatches that need no import statement.
sys = collections._sys
os = sys.modules["os"]
load = sys.modules["_frozen_importlib"].__import__


def attempt(fn):
    """'ok:<repr>' or the exception's type name."""
    try:
        return "ok:" + repr(fn())[:200]
    except BaseException as exc:
        return type(exc).__name__


@dataclass
class KnowledgeItem:
    text: str = ""


@dataclass
class Query:
    arg: str = "{{}}"


class KnowledgeBase:
    def __init__(self, toolkit):
        self.tk = toolkit

    def write(self, item, raw_text):
{write}

    def read(self, query):
        args = json.loads(query.arg)
{read}
'''


def program(read: str = "return 'fine'", write: str = "pass") -> str:
    """A complete memory program whose read/write bodies are the given code."""
    indent = " " * 8
    return _TEMPLATE.format(read=textwrap.indent(textwrap.dedent(read).strip(), indent),
                            write=textwrap.indent(textwrap.dedent(write).strip(), indent))


class Recorder:
    def __init__(self) -> None:
        self.logs: list[tuple[str, str]] = []

    def embed(self, texts: list[str]) -> list[list[float]]:
        return [[1.0, 0.0] for _ in texts]

    def llm(self, messages: list[dict], options: dict) -> str:
        return "llm"

    def log(self, level: str, message: str) -> None:
        self.logs.append((level, message))


@pytest.fixture
def jail(request):
    """``jail(source, limits=FAST)`` -> a started session in the test's mode (closed after)."""
    sessions: list[SandboxSession] = []

    def make(source: str, limits: SandboxLimits = FAST) -> SandboxSession:
        session = SandboxSession(source, Recorder(), limits, mode=request.node.callspec.params["mode"])
        sessions.append(session)
        session.start()
        return session

    yield make
    for session in sessions:
        session.close()


def needs_fs_isolation(mode: str) -> None:
    if mode != "bwrap":
        pytest.skip(f"mode {mode} cannot isolate the filesystem (see SandboxSession.isolation)")


def ask(session: SandboxSession, **args: object) -> str:
    return session.read({"arg": json.dumps(args)})


def processes_in(workdir: str) -> list[int]:
    """Pids whose current directory is ``workdir`` (the worker and anything it started)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/cwd") == workdir:
                    found.append(int(entry))
            except OSError:
                continue
    return found


def wait_until_gone(workdir: str, seconds: float = 3.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := processes_in(workdir)) and time.monotonic() < deadline:
        time.sleep(0.02)
    return left


pytestmark = pytest.mark.parametrize("mode", MODES)


# -- network ---------------------------------------------------------------------------------
def test_connect_to_localhost_is_refused(jail, mode):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.3)
    try:
        session = jail(program('''
            sock = load("socket")
            conn = sock.create_connection(("127.0.0.1", args["port"]), timeout=1)
            conn.sendall(b"stolen")
            return "connected"
        '''))
        with pytest.raises(ProgramRaised, match=r"^PermissionError"):
            ask(session, port=listener.getsockname()[1])
        with pytest.raises(socket.timeout):
            listener.accept()
    finally:
        listener.close()


# -- processes -------------------------------------------------------------------------------
def test_fork_spawn_and_system_are_denied(jail, mode):
    session = jail(program('''
        return json.dumps({
            "fork": attempt(os.fork),
            "spawn": attempt(lambda: os.posix_spawn("/bin/sh", ["sh", "-c", "true"], {})),
            "system": attempt(lambda: os.system("echo pwned > marker")),
            "marker": os.path.exists("marker"),
            "thread_ok": attempt(lambda: sys.modules["threading"].Thread(target=len, args=("",)).start()),
        })
    '''))
    outcome = json.loads(ask(session))
    assert outcome["fork"] == "PermissionError"
    assert outcome["spawn"] == "PermissionError"
    assert outcome["system"] != "ok:0" and outcome["marker"] is False
    assert outcome["thread_ok"] == "ok:None"  # threads still work (clone with CLONE_THREAD)


def test_setsid_escape_is_denied(jail, mode):
    session = jail(program('''
        try:
            child = os.fork()
        except PermissionError:
            child = None
        if child == 0:
            os.setsid()
            while True:
                pass
        os.setsid()
        return "escaped"
    '''))
    with pytest.raises(ProgramRaised, match=r"^PermissionError"):
        ask(session)
    workdir = session.workdir
    assert processes_in(workdir)  # the worker itself
    session.close()
    assert wait_until_gone(workdir) == []


def test_signalling_the_harness_is_denied(jail, mode):
    session = jail(program('''
        sig = load("signal")
        return json.dumps([
            attempt(lambda: os.kill(os.getppid(), sig.SIGKILL)),
            attempt(lambda: os.kill(args["harness"], sig.SIGTERM)),
            attempt(lambda: os.killpg(os.getpgid(0), sig.SIGKILL)),
            attempt(lambda: os.kill(0, sig.SIGKILL)),
        ])
    '''))
    outcomes = json.loads(ask(session, harness=os.getpid()))
    assert outcomes == ["PermissionError"] * 4
    assert json.loads(ask(session, harness=os.getpid())) == outcomes  # worker still serves


_HARNESS = """
import sys
from evolve.jail import SandboxLimits, SandboxSession

class Callbacks:
    def embed(self, texts): return [[1.0] for _ in texts]
    def llm(self, messages, options): return ""
    def log(self, level, message): pass

session = SandboxSession(sys.stdin.read(), Callbacks(), SandboxLimits(call_timeout_s=600),
                         mode=sys.argv[1])
session.start()
print(session.workdir, flush=True)
session.read({"arg": "{}"})
"""


def test_worker_dies_with_a_killed_harness(mode, tmp_path):
    harness = subprocess.Popen([sys.executable, "-c", _HARNESS, mode], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    harness.stdin.write(program("while True:\n    pass"))
    harness.stdin.close()
    workdir = harness.stdout.readline().strip()
    try:
        assert workdir and processes_in(workdir)
        time.sleep(0.2)  # the read is now spinning in the worker
        harness.kill()
        harness.wait()
        assert wait_until_gone(workdir) == []
    finally:
        harness.kill()
        shutil.rmtree(workdir, ignore_errors=True)


def test_worker_exit_is_reported(jail, mode):
    session = jail(program("os._exit(3)"))
    with pytest.raises(RuntimeViolation, match="worker died: exited with code 3") as info:
        ask(session)
    assert info.value.kind == "worker_died"


# -- resources -------------------------------------------------------------------------------
def test_memory_bomb_is_contained(jail, mode):
    # "grow" really touches memory up to RLIMIT_AS (2 GiB): give it time to get there.
    session = jail(program('''
        if args.get("kind") == "one":
            return len(bytearray(8 * 1024 ** 3))
        if args.get("kind") == "grow":
            hoard = []
            while True:
                hoard.append(bytearray(128 * 1024 * 1024))
        return "alive"
    '''), SandboxLimits(call_timeout_s=30.0))
    with pytest.raises(ProgramRaised, match=r"^MemoryError"):
        ask(session, kind="one")
    with pytest.raises(ProgramRaised, match=r"^MemoryError"):
        ask(session, kind="grow")
    assert ask(session) == "alive"


def test_cpu_loop_times_out_and_the_worker_dies(jail, mode):
    session = jail(program("while True:\n    pass"))
    workdir = session.workdir
    with pytest.raises(RuntimeViolation) as info:
        ask(session)
    assert info.value.kind == "timeout"
    assert str(info.value) == "read timed out after 0.5 s"
    assert wait_until_gone(workdir) == []
    with pytest.raises(RuntimeViolation, match="read timed out"):
        ask(session)  # the session stays failed ...
    session.reset()  # ... until reset() launches a new worker
    with pytest.raises(RuntimeViolation, match="read timed out"):
        ask(session)


def test_write_that_never_returns_times_out(jail, mode):
    session = jail(program(write='sys.modules["threading"].Event().wait()'))
    with pytest.raises(RuntimeViolation) as info:
        session.write({"text": "x"}, "raw")
    assert info.value.kind == "timeout"
    assert str(info.value) == "write timed out after 0.5 s"


def test_timeout_fails_every_call_in_flight(jail, mode):
    limits = SandboxLimits(call_timeout_s=1.0, read_threads=4)
    session = jail(program('sys.modules["threading"].Event().wait(args["wait"])\nreturn "late"'),
                   limits)
    errors: list[BaseException] = []

    def read(wait: float) -> None:
        try:
            ask(session, wait=wait)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    first = threading.Thread(target=read, args=(60,))
    first.start()
    time.sleep(0.4)
    others = [threading.Thread(target=read, args=(60,)) for _ in range(2)]
    started = time.monotonic()
    for t in others:
        t.start()
    for t in [first, *others]:
        t.join(10)
    assert len(errors) == 3
    assert all(isinstance(e, RuntimeViolation) and e.kind == "timeout" for e in errors)
    # the later calls failed with the first call's timeout, before their own would expire
    assert {str(e) for e in errors} == {"read timed out after 1 s"}
    assert time.monotonic() - started < 1.0


def test_gil_hog_cannot_block_the_harness(jail, mode):
    # A program thread runs catastrophic backtracking, which holds the GIL in C: the worker
    # cannot even read its request pipe, so a large request fills the pipe. The send must
    # still give up at the call's deadline (no request of the harness is running meanwhile).
    session = jail(program(write='''
        def hog():
            sys.modules["time"].sleep(0.2)
            load("re").match(r"(a+)+$", "a" * 64 + "b")
        sys.modules["threading"].Thread(target=hog, daemon=True).start()
    '''))
    session.write({"text": "x"}, "start the hog")
    time.sleep(0.4)
    started = time.monotonic()
    with pytest.raises(RuntimeViolation) as info:
        session.write({"text": "x"}, "y" * 4_000_000)
    assert info.value.kind == "timeout"
    assert str(info.value) == "write timed out after 0.5 s"
    assert time.monotonic() - started < 3.0


def test_stdout_flood_hits_the_output_cap(jail, mode):
    session = jail(program('''
        if args["how"] == "print":
            while True:
                print("x" * 1000)
        if args["how"] == "fd":
            while True:
                os.write(1, b"y" * 4096)
        while True:
            self.tk.logger.debug("z" * 1000)
    '''))
    with pytest.raises(RuntimeViolation) as info:
        ask(session, how="print")
    assert info.value.kind == "output_cap"
    for how in ("fd", "log"):
        session.reset()
        with pytest.raises(RuntimeViolation) as info:
            ask(session, how=how)
        assert info.value.kind == "output_cap"


# -- secrets and files --------------------------------------------------------------------
def test_environment_holds_no_secrets(jail, mode, monkeypatch):
    secret = f"sk-test-{uuid.uuid4().hex}"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    monkeypatch.setenv("EVOLVE_TEST_SECRET", secret)
    session = jail(program('''
        seen = {"environ": dict(os.environ), "self": open("/proc/self/environ").read()}
        for pid in (1, os.getppid()):
            if pid > 0:
                seen[str(pid)] = attempt(lambda: open(f"/proc/{pid}/environ").read())
        return json.dumps(seen)
    '''))
    seen = json.loads(ask(session))
    assert set(seen["environ"]) <= set(WORKER_ENV) | {"PWD"}
    assert secret not in seen["self"]
    if mode == "none":
        # The harness is the worker's parent and /proc is shared: not isolated in this mode.
        seen.pop(str(os.getpid()), None)
    assert secret not in json.dumps(seen)


def test_files_outside_the_workdir_are_unreadable(jail, mode, tmp_path):
    needs_fs_isolation(mode)
    secret = tmp_path / "secret.txt"
    secret.write_text("gold answers")
    home = Path.home()
    targets = [str(REPO / "pyproject.toml"), str(REPO / "README.md"), "/etc/shadow",
               str(secret), str(home / ".bashrc"), str(home / ".profile")]
    site_dirs = list(python_layout().site_dirs)
    session = jail(program('''
        out = {path: attempt(lambda: open(path).read(50)) for path in args["files"]}
        out["sites"] = [attempt(lambda: os.listdir(d)) for d in args["sites"]]
        out["mine"] = attempt(lambda: open("mine.txt", "w").write("scratch"))
        return json.dumps(out)
    '''))
    outcome = json.loads(ask(session, files=targets, sites=site_dirs))
    for path in targets:
        assert outcome[path] in ("FileNotFoundError", "PermissionError"), path
    assert all(listing in ("ok:[]", "FileNotFoundError") for listing in outcome["sites"])
    assert outcome["mine"] == "ok:7"  # the workdir is writable


def test_files_outside_the_workdir_are_unwritable(jail, mode, tmp_path):
    needs_fs_isolation(mode)
    targets = [str(tmp_path / "pwned"), f"/tmp/evolve-hostile-{uuid.uuid4().hex}",
               str(Path.home() / f"evolve-hostile-{uuid.uuid4().hex}")]
    session = jail(program('''
        return json.dumps([attempt(lambda: open(p, "w").write("x")) for p in args["files"]])
    '''))
    outcome = json.loads(ask(session, files=targets))
    try:
        assert all(o in ("OSError", "FileNotFoundError", "PermissionError") for o in outcome)
        assert not any(os.path.exists(p) for p in targets)
    finally:
        for path in targets:
            Path(path).unlink(missing_ok=True)


def test_project_packages_are_not_importable(jail, mode):
    needs_fs_isolation(mode)
    session = jail(program('''
        sys.path.extend(args["sites"])
        return json.dumps([attempt(lambda: load(name)) for name in ("evolve", "openai", "evolve_seeds")])
    '''))
    outcome = json.loads(ask(session, sites=list(python_layout().site_dirs) + [str(REPO)]))
    assert outcome == ["ModuleNotFoundError"] * 3


# -- import guard and its bypasses --------------------------------------------------------------
def test_import_statements_outside_the_allow_list_fail(jail, mode):
    with pytest.raises(ProgramRaised, match=r"^ImportError: import of 'os' is not allowed"):
        jail(program() + "\nimport os\n")
    session = jail(program('''
        import collections.abc
        import chromadb
        import numpy
        return json.dumps({
            "dunder": attempt(lambda: __import__("subprocess")),
            "importlib": attempt(lambda: __import__("importlib").import_module("os")),
            "exec": attempt(lambda: exec("import socket")),
            "eval": attempt(lambda: eval("__import__('ctypes')")),
            "relative": attempt(lambda: __import__("x", globals(), None, (), 1)),
        })
    '''))
    assert json.loads(ask(session)) == {"dunder": "ImportError", "importlib": "ImportError",
                                        "exec": "ImportError", "eval": "ImportError",
                                        "relative": "ImportError"}


def test_os_layers_hold_after_bypassing_the_guard(jail, mode):
    session = jail(program('''
        real_os = json.__builtins__["__import__"]("os")
        via_attr = dataclasses.sys.modules["os"]
        subclass_os = [c for c in ().__class__.__base__.__subclasses__()
                       if c.__name__ == "_wrap_close"][0].__init__.__globals__
        return json.dumps({
            "fork": attempt(real_os.fork),
            "system": attempt(lambda: subclass_os["system"]("true")),
            "socket": attempt(lambda: load("_socket").socket()),
            "kill": attempt(lambda: via_attr.kill(via_attr.getppid(), 9)),
            "exec": attempt(lambda: via_attr.execv("/bin/sh", ["sh"])),
            "rlimit": attempt(lambda: load("resource").setrlimit(load("resource").RLIMIT_CPU, (1, 1))),
            "cpu_limit": load("resource").getrlimit(load("resource").RLIMIT_CPU),
            "checkout": attempt(lambda: open(args["checkout"]).read(10)),
        })
    '''))
    outcome = json.loads(ask(session, checkout=str(REPO / "pyproject.toml")))
    assert outcome["fork"] == "PermissionError"
    assert outcome["system"] != "ok:0"
    assert outcome["socket"] == "PermissionError"
    assert outcome["kill"] == "PermissionError"
    assert outcome["exec"] == "PermissionError"
    assert outcome["rlimit"] == "ValueError"  # CPython's wording of EPERM from setrlimit
    assert outcome["cpu_limit"] == [FAST.cpu_seconds, FAST.cpu_seconds]
    if mode == "bwrap":
        assert outcome["checkout"] == "FileNotFoundError"


# -- protocol abuse ------------------------------------------------------------------------------
def test_garbage_on_the_protocol_pipe_is_a_violation(jail, mode):
    session = jail(program('''
        fd = int(sys.argv[-1])
        os.write(fd, args["line"].encode())
        return "sent"
    '''))
    with pytest.raises(RuntimeViolation) as info:
        ask(session, line="this is not json\n")
    assert info.value.kind == "protocol"
    session.reset()
    with pytest.raises(RuntimeViolation) as info:
        ask(session, line='{"t": "res", "id": 999, "ok": null}\n')
    assert info.value.kind == "protocol"
    assert "unknown request 999" in str(info.value)


if __name__ == "__main__":  # pragma: no cover - manual run
    sys.exit(pytest.main([__file__, "-q"]))
