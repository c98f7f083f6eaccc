"""SandboxSession behaviour with well-meaning (if buggy) programs: the public contract."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time

import numpy as np
import pytest
from evolve_sandbox.importguard import ALLOWED_IMPORTS, import_allowed

from evolve.jail import (
    ProgramInfo,
    ProgramRaised,
    RuntimeViolation,
    SandboxLimits,
    SandboxSession,
    modes,
    probe_modes,
    resolve_mode,
)

MODES = [mode for mode, works in probe_modes().items() if works]

NOTES = '''
"""Notes program: keyword memory in sqlite (FTS5) plus a vector index through chromadb."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Optional

import chromadb

INSTRUCTION_KNOWLEDGE_ITEM = "Write down the fact."
INSTRUCTION_QUERY = "Ask about the fact."
INSTRUCTION_RESPONSE = "Answer in one word."
ALWAYS_ON_KNOWLEDGE = "Be brief."


@dataclass
class KnowledgeItem:
    fact: str = field(metadata={"description": "one fact"})
    topic: str = "misc"
    tags: list[str] = field(default_factory=list)
    weight: float = 1.0
    note: Optional[str] = None


@dataclass
class Query:
    question: str
    mode: str = "keyword"
    limit: int = 3


class KnowledgeBase:
    def __init__(self, toolkit):
        self.tk = toolkit
        self.tk.db.execute("CREATE VIRTUAL TABLE notes USING fts5(fact, topic)")
        self.vectors = chromadb.Client().get_or_create_collection("notes")
        self.count = 0
        self.outcomes = []

    def write(self, item, raw_text):
        self.count += 1
        self.tk.db.execute("INSERT INTO notes VALUES (?, ?)", (item.fact, item.topic))
        self.vectors.add(documents=[item.fact], ids=[str(self.count)],
                         metadatas=[{"topic": item.topic}])
        self.tk.logger.info("stored %s", item.fact)

    def observe(self, outcome):
        self.outcomes.append(outcome)

    def read(self, query):
        if query.mode == "keyword":
            rows = self.tk.db.execute(
                "SELECT fact FROM notes WHERE notes MATCH ? LIMIT ?",
                (query.question, query.limit)).fetchall()
            return " | ".join(r[0] for r in rows)
        if query.mode == "vector":
            hits = self.vectors.query(query_texts=[query.question], n_results=1)
            same = self.tk.chroma.get_collection("notes").count()
            return json.dumps({"hit": hits["documents"][0], "count": same})
        if query.mode == "llm":
            return self.tk.llm_completion([{"role": "user", "content": query.question}])
        if query.mode == "llm_twice":
            self.tk.llm_completion("one")
            try:
                self.tk.llm_completion("two")
            except RuntimeError as exc:
                return "swallowed: " + str(exc)
        if query.mode == "outcomes":
            return json.dumps(self.outcomes)
        if query.mode == "long":
            return "x" * query.limit
        if query.mode == "number":
            return 42
        if query.mode == "raise":
            raise KeyError("no such note")
        if query.mode == "state":
            return str(self.count)
        return "?"
'''

MINIMAL = '''
from dataclasses import dataclass
INSTRUCTION_KNOWLEDGE_ITEM = INSTRUCTION_QUERY = INSTRUCTION_RESPONSE = ALWAYS_ON_KNOWLEDGE = ""
@dataclass
class KnowledgeItem:
    text: str
@dataclass
class Query:
    text: str
class KnowledgeBase:
    def __init__(self, toolkit):
        self.toolkit = toolkit
    def write(self, item, raw_text):
        pass
    def read(self, query):
        return self.toolkit.llm_completion(query.text)
'''


def _embed_word(text: str) -> np.ndarray:
    vector = np.zeros(16, np.float32)
    for word in text.lower().split():
        vector[sum(map(ord, word)) % 16] += 1.0
    return vector / (np.linalg.norm(vector) or 1.0)


class Services:
    """Test double for the trusted callbacks."""

    def __init__(self, llm_delay: float = 0.0, llm_error: Exception | None = None) -> None:
        self.logs: list[tuple[str, str]] = []
        self.llm_calls: list[list[dict]] = []
        self.llm_delay = llm_delay
        self.llm_error = llm_error
        self.embedded: list[str] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.embedded += texts
        return np.stack([_embed_word(t) for t in texts])

    def llm(self, messages: list[dict], options: dict) -> str:
        self.llm_calls.append(messages)
        if self.llm_delay:
            time.sleep(self.llm_delay)
        if self.llm_error is not None:
            raise self.llm_error
        return "echo:" + messages[-1]["content"]

    def log(self, level: str, message: str) -> None:
        self.logs.append((level, message))


@pytest.fixture
def open_session():
    sessions: list[SandboxSession] = []

    def make(source: str = NOTES, services: Services | None = None,
             limits: SandboxLimits = SandboxLimits(), mode: str = "auto") -> SandboxSession:  # noqa: B008
        session = SandboxSession(source, services or Services(), limits, mode=mode)
        sessions.append(session)
        session.start()
        return session

    yield make
    for session in sessions:
        session.close()


@pytest.mark.parametrize("mode", MODES)
def test_program_info_and_round_trip(open_session, mode):
    services = Services()
    session = open_session(services=services, mode=mode)
    assert session.mode == mode
    assert (session.isolation == "") == (mode == "bwrap")
    info = session.info
    assert isinstance(info, ProgramInfo)
    assert info.constants == {
        "INSTRUCTION_KNOWLEDGE_ITEM": "Write down the fact.",
        "INSTRUCTION_QUERY": "Ask about the fact.",
        "INSTRUCTION_RESPONSE": "Answer in one word.",
        "ALWAYS_ON_KNOWLEDGE": "Be brief.",
    }
    assert info.item_fields == [
        {"name": "fact", "type": "str", "description": "one fact"},
        {"name": "topic", "type": "str", "description": "", "default": "misc"},
        {"name": "tags", "type": "list[str]", "description": "", "default": []},
        {"name": "weight", "type": "float", "description": "", "default": 1.0},
        {"name": "note", "type": "Optional[str]", "description": "", "default": None},
    ]
    assert [f["type"] for f in info.query_fields] == ["str", "str", "int"]
    assert info.has_observe is True
    session.write({"fact": "paris is the capital of france", "topic": "geo", "junk": 1}, "raw")
    session.write({"topic": "empty"}, "raw")  # a missing required field is filled with ""
    assert session.read({"question": "paris"}) == "paris is the capital of france"
    assert ("info", "stored paris is the capital of france") in services.logs


def test_chromadb_shim_and_toolkit_chroma_share_the_store(open_session):
    services = Services()
    session = open_session(services=services)
    session.write({"fact": "the cat sleeps"}, "")
    session.write({"fact": "rockets fly high"}, "")
    result = session.read({"question": "rockets fly", "mode": "vector"})
    assert result == '{"hit": ["rockets fly high"], "count": 2}'
    assert "rockets fly" in services.embedded


def test_reads_run_in_parallel(open_session):
    services = Services(llm_delay=0.3)
    session = open_session(services=services, limits=SandboxLimits(read_threads=8))
    results: list[str] = []
    threads = [threading.Thread(target=lambda i=i: results.append(
        session.read({"question": f"q{i}", "mode": "llm"}))) for i in range(8)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    assert sorted(results) == sorted(f"echo:q{i}" for i in range(8))
    assert elapsed < 8 * 0.3 / 2  # serial would take 2.4 s


class PeakServices(Services):
    """Counts how many toolkit LLM calls were in flight at once."""

    def __init__(self, llm_delay: float) -> None:
        super().__init__(llm_delay=llm_delay)
        self._lock = threading.Lock()
        self.in_flight = self.peak = 0

    def llm(self, messages: list[dict], options: dict) -> str:
        with self._lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            return super().llm(messages, options)
        finally:
            with self._lock:
                self.in_flight -= 1


def test_a_conversations_reads_all_wait_on_the_model_at_once(open_session):
    """A group's reads (13 questions in the first conversation of dialog-synth tiny's validation
    set) that each ask the toolkit LLM run in one wave with the default limits, not in waves of
    eight (each wave a model latency)."""
    services = PeakServices(llm_delay=0.5)
    session = open_session(services=services)
    threads = [threading.Thread(target=session.read, args=({"question": f"q{i}", "mode": "llm"},))
               for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(services.llm_calls) == 16
    assert services.peak == 16


def test_program_exceptions_are_reported_and_the_worker_survives(open_session):
    session = open_session()
    with pytest.raises(ProgramRaised) as info:
        session.read({"question": "x", "mode": "raise"})
    text = str(info.value)
    assert text.startswith("KeyError: 'no such note'")
    assert 'raise KeyError("no such note")' in text  # the program's own traceback line
    with pytest.raises(ProgramRaised, match=r"^TypeError: KnowledgeBase.read\(\) must return str"):
        session.read({"question": "x", "mode": "number"})
    session.write({"fact": "still alive"}, "")
    assert session.read({"question": "x", "mode": "state"}) == "1"


def test_load_failures_are_program_errors(open_session):
    with pytest.raises(ProgramRaised, match=r"^SyntaxError"):
        open_session("def broken(:\n")
    with pytest.raises(ProgramRaised, match="defines no class KnowledgeBase"):
        open_session(NOTES.replace("class KnowledgeBase", "class Other"))
    with pytest.raises(ProgramRaised, match="no such table"):
        open_session(NOTES.replace("CREATE VIRTUAL TABLE notes", "SELECT * FROM missing --"))


def test_read_cap_is_a_violation_but_the_worker_survives(open_session):
    session = open_session(limits=SandboxLimits(read_char_cap=100))
    assert session.read({"question": "x", "mode": "long", "limit": 100}) == "x" * 100
    with pytest.raises(RuntimeViolation) as info:
        session.read({"question": "x", "mode": "long", "limit": 101})
    assert info.value.kind == "read_cap"
    assert str(info.value) == "read returned 101 chars, more than the cap of 100"
    assert session.read({"question": "x", "mode": "state"}) == "0"


def test_llm_budget_counts_per_call_even_when_the_program_swallows_the_error(open_session):
    services = Services()
    session = open_session(services=services)
    assert session.read({"question": "hello", "mode": "llm"}) == "echo:hello"
    with pytest.raises(RuntimeViolation) as info:
        session.read({"question": "x", "mode": "llm_twice"})
    assert info.value.kind == "llm_budget"
    assert len(services.llm_calls) == 2  # the second call never reached the model
    assert session.read({"question": "again", "mode": "llm"}) == "echo:again"


def test_callback_failure_reaches_the_caller_unchanged(open_session):
    boom = ConnectionError("endpoint down")
    session = open_session(MINIMAL, services=Services(llm_error=boom))
    with pytest.raises(ConnectionError) as info:
        session.read({"text": "hi"})
    assert info.value is boom


def test_reset_gives_a_fresh_program_in_the_same_worker(open_session):
    session = open_session()
    pid = session.pid
    session.write({"fact": "one"}, "")
    session.observe({"score": 1.0})
    assert session.read({"question": "x", "mode": "outcomes"}) == '[{"score": 1.0}]'
    info = session.reset()
    assert info == session.info and session.pid == pid
    assert session.read({"question": "x", "mode": "state"}) == "0"
    assert session.read({"question": "one"}) == ""  # new db
    assert session.read({"question": "x", "mode": "outcomes"}) == "[]"


def test_observe_is_skipped_when_the_program_has_none(open_session):
    session = open_session(MINIMAL)
    assert session.info.has_observe is False
    session.observe({"score": 0.0})  # no request at all


def test_load_timeout(open_session):
    source = NOTES.replace("self.count = 0", "while True:\n            pass")
    # 3 s, not less: the limit also covers the worker's start, which took over 0.5 s on a
    # machine at load 10 and then failed as "worker start" before the endless load began
    with pytest.raises(RuntimeViolation) as info:
        open_session(source, limits=SandboxLimits(load_timeout_s=3.0))
    assert info.value.kind == "timeout"
    assert str(info.value) == "load timed out after 3 s"


def test_close_stops_the_worker_and_removes_the_workdir(open_session):
    import os

    session = open_session()
    workdir, pid = session.workdir, session.pid
    assert os.path.isdir(workdir)
    session.close()
    session.close()  # idempotent
    assert not os.path.exists(workdir)
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # already reaped: no such child
    with pytest.raises(RuntimeError, match="not started"):
        session.read({"question": "x"})


def test_resolve_mode():
    assert resolve_mode("auto") == MODES[0]
    with pytest.raises(ValueError, match="unknown sandbox mode 'jail'"):
        resolve_mode("jail")


def test_unavailable_mode_is_one_clear_line(monkeypatch):
    monkeypatch.setattr(modes, "_probed", {"bwrap": False, "unshare": True, "none": True})
    monkeypatch.setitem(modes._reasons, "bwrap", "bwrap is not installed")
    with pytest.raises(ValueError) as info:
        resolve_mode("bwrap")
    assert str(info.value) == "sandbox mode 'bwrap' is not available here: bwrap is not installed"
    assert "\n" not in str(info.value)
    assert resolve_mode("auto") == "unshare"


def test_allow_list_constant():
    assert {"json", "re", "sqlite3", "chromadb", "numpy", "collections", "__future__"} <= \
        ALLOWED_IMPORTS
    assert import_allowed("collections.abc") and import_allowed("numpy.linalg")
    assert not import_allowed("os") and not import_allowed("json", level=1)
    assert not import_allowed("importlib")


def test_program_prints_are_captured(open_session):
    source = MINIMAL.replace("return self.toolkit.llm_completion(query.text)",
                             'print("debug:", query.text)\n        return "ok"')
    session = open_session(source)
    assert session.read({"text": "hello"}) == "ok"
    deadline = time.monotonic() + 2
    while "debug: hello" not in session.output_tail() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "debug: hello\n" in session.output_tail()


def _probe_with_tools_hidden(monkeypatch, hidden: set[str]) -> str:
    """``resolve_mode("auto")`` as if the tools in ``hidden`` were not installed."""
    from evolve.jail import bwrap as launch

    real_find = launch.find_tool
    monkeypatch.setattr(launch, "find_tool",
                        lambda name: None if name in hidden else real_find(name))
    monkeypatch.setattr(modes, "_probed", None)
    monkeypatch.setattr(modes, "_reasons", {})
    return resolve_mode("auto")


def test_auto_falls_back_from_bwrap_to_unshare_to_none(monkeypatch):
    """The whole chain, each step probed for real (as root or not: CI runs both)."""
    real = probe_modes()
    assert _probe_with_tools_hidden(monkeypatch, set()) == MODES[0]
    assert _probe_with_tools_hidden(monkeypatch, {"bwrap"}) == (
        "unshare" if real["unshare"] else "none")
    assert _probe_with_tools_hidden(monkeypatch, {"bwrap", "unshare"}) == "none"
    print(f"\nsandbox fallback chain as uid {os.geteuid()}: " + " -> ".join(
        mode for mode in modes.MODES if real[mode]))


def _user_namespaces_allowed() -> bool:
    """Whether this user may create the namespaces at all (the kernel may forbid it)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    done = subprocess.run([unshare, "--user", "--map-root-user", "--net", "--pid", "--fork",
                           "true"], capture_output=True)
    return done.returncode == 0


@pytest.mark.skipif(os.geteuid() == 0, reason="the non-root path (CI runs it as a user too)")
def test_unshare_mode_works_without_root(open_session):
    """A user who is not root gets unshare mode (in a user namespace), not a drop to none."""
    if not _user_namespaces_allowed():
        pytest.skip("this kernel does not let unprivileged users create namespaces")
    assert probe_modes()["unshare"], modes.probe_reason("unshare")
    session = open_session(MINIMAL, mode="unshare")
    assert session.mode == "unshare" and "no filesystem isolation" in session.isolation
    assert session.read({"text": "hi"}) == "echo:hi"


def test_user_namespace_flags_only_for_non_root():
    from evolve.jail.bwrap import find_tool, unshare_argv, user_namespace_flags

    unshare = find_tool("unshare")
    if unshare is None:
        pytest.skip("unshare is not installed")
    assert user_namespace_flags(unshare, 0) == ()
    flags = user_namespace_flags(unshare, 1000)
    assert flags[0] == "--user" and flags[1] in ("--map-current-user", "--map-root-user")
    argv = unshare_argv(unshare, ["worker"], user_namespace=flags)
    assert argv[:3] == [unshare, *flags] and argv[-2:] == ["--", "worker"]
