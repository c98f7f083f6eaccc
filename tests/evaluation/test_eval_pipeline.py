"""The QA protocol's calls are pipelined across groups, without changing any result."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from fakes.programs import minimal_program

from evolve.evaluation.evaluate import EvalSettings, evaluate_program
from evolve.llm.factory import build_hub
from evolve.seeds import seed_source
from evolve.tasks.registry import make_task


class SlowRecordingHub:
    """The offline model hub with ``latency`` seconds per task call, recording when each
    call started and ended and what it was (``extract``/``query``/``answer``) for which group."""

    def __init__(self, task: Any, latency: float) -> None:
        self._inner = build_hub(model="offline", cache_path="off")
        self._latency = latency
        self._episode_group = {e.text: g.id for g in task.groups("val") for e in g.episodes}
        self._question_group = {i.question: g.id for g in task.groups("val") for i in g.items}
        self.calls: list[Any] = []
        self.timeline: list[tuple[str, str, float, float]] = []
        self._lock = threading.Lock()

    def _classify(self, messages: list[dict[str, str]]) -> tuple[str, str]:
        text = "\n".join(m["content"] for m in messages)
        for episode, group in self._episode_group.items():
            if episode in text:
                return "extract", group
        kind = "answer" if len(messages) > 2 else "query"
        for question, group in self._question_group.items():
            if question in text:
                return kind, group
        return kind, "?"

    def chat(self, role: str, messages: list[dict[str, str]], **kwargs: Any) -> Any:
        started = time.monotonic()
        time.sleep(self._latency)
        reply = self._inner.chat(role, messages, **kwargs)
        kind, group = self._classify(messages)
        if role == "toolkit":  # a memory's own call: its group is the question's, if any
            kind = "toolkit"
        with self._lock:
            self.timeline.append((kind, group, started, time.monotonic()))
        return reply

    def embed(self, texts: list[str]) -> Any:
        return self._inner.embed(texts)


@pytest.fixture(scope="module")
def task():
    return make_task("dialog-synth", {"size": "tiny"})


def _run(task: Any, concurrency: int, latency: float) -> tuple[Any, SlowRecordingHub]:
    hub = SlowRecordingHub(task, latency)
    result = evaluate_program(seed_source("vector_search"), task, hub,
                              EvalSettings(concurrency=concurrency))
    assert result.status == "ok", result.error
    return result, hub


def test_groups_overlap_and_results_do_not_depend_on_concurrency(task):
    serial, _ = _run(task, 1, 0.0)
    piped, hub = _run(task, 8, 0.02)
    first, second = (g.id for g in task.groups("val"))
    # the second conversation is being extracted while the first is still being answered
    second_extract_start = min(start for kind, group, start, _ in hub.timeline
                               if kind == "extract" and group == second)
    first_answer_end = max(end for kind, group, _, end in hub.timeline
                           if kind == "answer" and group == first)
    assert second_extract_start < first_answer_end
    # ... and every call the protocol makes is made once
    kinds = [kind for kind, *_ in hub.timeline]
    episodes = sum(len(g.episodes) for g in task.groups("val"))
    assert kinds.count("extract") == episodes
    assert kinds.count("query") == kinds.count("answer") == piped.n_items
    # same writes, reads and answers as one call at a time, in the same trace order
    assert [(t.item_id, t.retrieved, t.answer, t.score) for t in piped.items] == \
        [(t.item_id, t.retrieved, t.answer, t.score) for t in serial.items]
    assert piped.score == serial.score


def test_oracle_skips_extraction(task):
    hub = SlowRecordingHub(task, 0.0)
    result = evaluate_program(seed_source("vector_search"), task, hub,
                              EvalSettings(concurrency=4, oracle=True))
    assert result.status == "ok" and result.score > 0.9
    assert {kind for kind, *_ in hub.timeline} == {"query", "answer"}


def test_smoke_test_overlaps_the_first_calls(task):
    hub = SlowRecordingHub(task, 0.1)
    # a memory whose write asks the toolkit's LLM, as LLM-curated memories do
    source = minimal_program(write_body="self.texts.append(self.toolkit.llm_completion("
                             "[{'role': 'user', 'content': 'Note: ' + raw_text}]))")
    result = evaluate_program(source, task, hub, EvalSettings(concurrency=8))
    assert result.status == "ok", result.error
    smoke_end = min(end for kind, _, _, end in hub.timeline if kind == "toolkit")
    first_call = min(start for kind, _, start, _ in hub.timeline if kind != "toolkit")
    assert first_call < smoke_end  # extraction did not wait for the smoke write's LLM call
    kinds = [kind for kind, *_ in hub.timeline]
    assert kinds.count("query") == kinds.count("answer") == result.n_items


def test_a_failed_smoke_test_cancels_the_calls_not_started(task):
    hub = SlowRecordingHub(task, 0.5)
    source = minimal_program(write_body="raise ValueError('smoke-4321 in write')")
    result = evaluate_program(source, task, hub, EvalSettings(concurrency=3))
    assert result.status == "gate_failed" and result.gate_stage == "smoke"
    assert "smoke-4321" in (result.error or "")
    episodes = sum(len(g.episodes) for g in task.groups("val"))
    assert episodes > 3
    assert len(hub.timeline) <= 3  # only the calls already in flight were made


def _toolkit_spans(hub: SlowRecordingHub) -> dict[str, tuple[float, float]]:
    """Per group: when its first toolkit call (read-time summaries) started, its last ended."""
    spans: dict[str, tuple[float, float]] = {}
    for kind, group, start, end in hub.timeline:
        if kind == "toolkit" and group != "?":
            first, last = spans.get(group, (start, end))
            spans[group] = (min(first, start), max(last, end))
    return spans


def test_groups_of_a_memory_that_calls_the_model_get_their_own_sessions(task, monkeypatch):
    """llm_summarizer asks the toolkit LLM in every read: one session would wait a model
    latency per group in turn; with lanes the groups' reads overlap, same results."""
    from evolve.evaluation import eval_run, evaluate

    opened: list[Any] = []
    real = evaluate.SandboxSession

    def counting(*args: Any, **kwargs: Any) -> Any:
        opened.append(real(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(evaluate, "SandboxSession", counting)

    def run(lanes: int) -> tuple[Any, SlowRecordingHub]:
        monkeypatch.setattr(eval_run, "MAX_LANES", lanes)
        monkeypatch.setattr(evaluate, "MAX_LANES", lanes)
        hub = SlowRecordingHub(task, 0.3)
        result = evaluate_program(seed_source("llm_summarizer"), task, hub,
                                  EvalSettings(concurrency=16))
        assert result.status == "ok", result.error
        return result, hub

    alone, alone_hub = run(1)
    assert len(opened) == 1
    laned, laned_hub = run(4)
    assert len(opened) == 3  # the lane of the second group (the only one it can use)
    assert all(session.pid is None for session in opened)  # every worker was stopped
    first, second = (g.id for g in task.groups("val"))
    spans = _toolkit_spans(alone_hub)
    assert spans[second][0] >= spans[first][1]  # one session: the second group waits
    spans = _toolkit_spans(laned_hub)
    assert spans[second][0] < spans[first][1]  # its own session: they overlap
    assert [(t.item_id, t.retrieved, t.answer, t.score) for t in laned.items] == \
        [(t.item_id, t.retrieved, t.answer, t.score) for t in alone.items]
    assert laned.score == alone.score
    assert sorted(k for k, *_ in laned_hub.timeline) == sorted(k for k, *_ in alone_hub.timeline)


def test_a_memory_without_model_calls_keeps_one_session(task, monkeypatch):
    from evolve.evaluation import evaluate

    opened: list[Any] = []
    real = evaluate.SandboxSession

    def counting(*args: Any, **kwargs: Any) -> Any:
        opened.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluate, "SandboxSession", counting)
    result, _ = _run(task, 8, 0.05)
    assert result.status == "ok" and len(opened) == 1
