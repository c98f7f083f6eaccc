"""Spare workers: started ahead of time, matched by mode and limits, used by one session only."""

from __future__ import annotations

import os
import time

import pytest

from evolve.jail import SandboxLimits, SandboxSession, resolve_mode
from evolve.jail.spares import SparePool, spare_count

# No vector store in COUNTER: its workers are kept under the key (mode, limits, False).
COUNTER = '''
INSTRUCTION_KNOWLEDGE_ITEM = INSTRUCTION_QUERY = INSTRUCTION_RESPONSE = ALWAYS_ON_KNOWLEDGE = ""
from dataclasses import dataclass

STATE = {"writes": 0}


@dataclass
class KnowledgeItem:
    text: str = ""


@dataclass
class Query:
    text: str = ""


class KnowledgeBase:
    def __init__(self, toolkit):
        pass

    def write(self, item, raw_text):
        STATE["writes"] += 1

    def read(self, query):
        return str(STATE["writes"])
'''


class Quiet:
    def embed(self, texts):
        return [[1.0] for _ in texts]

    def llm(self, messages, options):
        return ""

    def log(self, level, message):
        pass


def wait_for_spares(pool: SparePool, mode: str, limits: SandboxLimits, n: int) -> list[int]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        ready = pool._ready.get((mode, limits, False), [])
        if len(ready) >= n:
            return [link.pid for link in ready]
        time.sleep(0.05)
    raise AssertionError("spares were not started")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def pool(monkeypatch):
    from evolve.jail import session as session_module

    fresh = SparePool()
    monkeypatch.setattr(session_module, "SPARES", fresh)
    yield fresh
    fresh.close()


def test_sessions_take_prestarted_workers_once(pool):
    mode, limits = resolve_mode("auto"), SandboxLimits()
    with SandboxSession(COUNTER, Quiet(), limits, mode) as once:
        once.start()
    time.sleep(0.3)
    assert not pool._ready.get((mode, limits, False))  # a single session starts no spares
    with SandboxSession(COUNTER, Quiet(), limits, mode) as first:
        first.start()
        first.write({"text": "a"}, "a")
        first_pid = first.pid
    spares = wait_for_spares(pool, mode, limits, spare_count())
    assert first_pid not in spares
    with SandboxSession(COUNTER, Quiet(), limits, mode) as second:
        second.start()
        assert second.pid in spares  # started before this session began
        # a fresh program: nothing of the first session's state, and another process
        assert second.read({"text": "?"}) == "0" and second.pid != first_pid
        taken = second.pid
    assert taken not in [link.pid for link in pool._ready.get((mode, limits, False), [])]
    deadline = time.monotonic() + 5
    while alive(taken) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(taken)  # a used worker is stopped with its session, never pooled again


def test_spares_are_kept_per_limits(pool):
    mode = resolve_mode("auto")
    small, large = SandboxLimits(read_char_cap=100), SandboxLimits(read_char_cap=5000)
    for _ in range(2):
        with SandboxSession(COUNTER, Quiet(), small, mode) as session:
            session.start()
    small_spares = sorted(wait_for_spares(pool, mode, small, spare_count()))
    with SandboxSession(COUNTER, Quiet(), large, mode) as session:
        session.start()
        assert session.pid not in small_spares
    assert sorted(wait_for_spares(pool, mode, small, spare_count())) == small_spares


def test_spares_can_be_turned_off(pool, monkeypatch):
    monkeypatch.setenv("EVOLVE_SPARE_WORKERS", "0")
    mode, limits = resolve_mode("auto"), SandboxLimits()
    for _ in range(3):
        with SandboxSession(COUNTER, Quiet(), limits, mode) as session:
            session.start()
    time.sleep(0.5)
    assert not pool._ready.get((mode, limits, False)) and not pool._starting.get((mode, limits, False))


def test_spares_follow_the_peak_of_sessions_open_at_once(pool, monkeypatch):
    monkeypatch.setenv("EVOLVE_SPARE_WORKERS", "1")
    mode, limits = resolve_mode("auto"), SandboxLimits()
    assert pool.wanted(mode, limits, False) == 1
    sessions = [SandboxSession(COUNTER, Quiet(), limits, mode) for _ in range(3)]
    try:
        for session in sessions:  # three at once, as a round of three children
            session.start()
        assert pool._open[(mode, limits, False)] == 3
    finally:
        for session in sessions:
            session.close()
    assert pool._open[(mode, limits, False)] == 0  # every session reported its end
    assert pool.wanted(mode, limits, False) == 3
    ready = wait_for_spares(pool, mode, limits, 3)
    sessions = [SandboxSession(COUNTER, Quiet(), limits, mode) for _ in range(3)]
    try:
        for session in sessions:
            session.start()
        assert sorted(session.pid for session in sessions) == sorted(ready)  # none waited
    finally:
        for session in sessions:
            session.close()


def test_peak_following_is_capped_and_off_stays_off(pool, monkeypatch):
    from evolve.jail.spares import MAX_SPARES

    key = ("none", SandboxLimits(), False)
    pool._peak[key] = MAX_SPARES + 5
    monkeypatch.setenv("EVOLVE_SPARE_WORKERS", "2")
    assert pool.wanted(*key) == MAX_SPARES
    monkeypatch.setenv("EVOLVE_SPARE_WORKERS", "0")
    assert pool.wanted(*key) == 0


def test_an_announced_number_of_sessions_is_kept_ready_before_it_is_seen(pool, monkeypatch):
    monkeypatch.setenv("EVOLVE_SPARE_WORKERS", "1")
    mode, limits = resolve_mode("auto"), SandboxLimits()
    with pool.expecting(3):
        assert pool.wanted(mode, limits, False) == 3 == pool.wanted(mode, SandboxLimits(read_threads=2), False)
        with SandboxSession(COUNTER, Quiet(), limits, mode) as session:
            session.start()  # announced: spares start from the first session of a key
        ready = wait_for_spares(pool, mode, limits, 3)
        sessions = [SandboxSession(COUNTER, Quiet(), limits, mode) for _ in range(3)]
        try:
            for session in sessions:  # the first three at once find a worker each
                session.start()
            assert sorted(session.pid for session in sessions) == sorted(ready)
        finally:
            for session in sessions:
                session.close()
    unseen = SandboxLimits(read_threads=2)
    assert pool.wanted(mode, unseen, False) == 1  # the announcement ends with its block


VECTOR_NOTES = COUNTER.replace('''    def __init__(self, toolkit):
        pass

    def write(self, item, raw_text):
        STATE["writes"] += 1

    def read(self, query):
        return str(STATE["writes"])''', '''    def __init__(self, toolkit):
        self.toolkit = toolkit  # the store is first touched by a write

    def write(self, item, raw_text):
        notes = getattr(self.toolkit, STORE).get_or_create_collection("notes")
        notes.add(ids=[str(notes.count())], documents=[raw_text])

    def read(self, query):
        notes = getattr(self.toolkit, STORE).get_or_create_collection("notes")
        return notes.query(query_texts=[query.text], n_results=1)["documents"][0][0]''')


def mapped_in_tree(pid: int, fragment: str) -> bool:
    """Whether ``fragment`` is in the memory map of ``pid`` or of any of its descendants."""
    pids, seen = [pid], False
    while pids:
        current = pids.pop()
        try:
            seen = seen or fragment in open(f"/proc/{current}/maps").read()
            for task in os.listdir(f"/proc/{current}/task"):
                pids += [int(p) for p in open(f"/proc/{current}/task/{task}/children").read().split()]
        except OSError:
            continue
    return seen


def test_workers_preload_numpy_only_for_programs_that_mention_vectors(pool):
    from evolve.jail.session import uses_vectors

    mode, limits = resolve_mode("auto"), SandboxLimits()
    announced = VECTOR_NOTES.replace("STORE", '"chroma"')
    hidden = VECTOR_NOTES.replace("STORE", '"chro" + "ma"')  # reaches the store unannounced
    assert uses_vectors(announced) and not uses_vectors(hidden) and not uses_vectors(COUNTER)
    for source, preloaded in ((COUNTER, False), (announced, True), (hidden, False)):
        with SandboxSession(source, Quiet(), limits, mode) as session:
            session.start()
            assert mapped_in_tree(session.pid, "_multiarray_umath") is preloaded
            if source is not COUNTER:  # the store works either way: imported on first use
                session.write({"text": "a"}, "alice moved to lisbon")
                assert session.read({"text": "where"}) == "alice moved to lisbon"
                assert mapped_in_tree(session.pid, "_multiarray_umath")
