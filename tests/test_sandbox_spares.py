"""Spare workers: started ahead of time, matched by mode and limits, used by one session only."""

from __future__ import annotations

import os
import time

import pytest

from evolve.jail import SandboxLimits, SandboxSession, resolve_mode
from evolve.jail.spares import SparePool, spare_count

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
        ready = pool._ready.get((mode, limits), [])
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
    assert not pool._ready.get((mode, limits))  # a single session starts no spares
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
    assert taken not in [link.pid for link in pool._ready.get((mode, limits), [])]
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
    assert not pool._ready.get((mode, limits)) and not pool._starting.get((mode, limits))
