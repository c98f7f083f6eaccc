"""`evolve eval` with SmolLM2-135M served by llama.cpp as the task agent (real model output).

The 135M model is weak, so nothing here asserts a score level: what must hold is that the
evaluation finishes in bounded time, reports status ok with every count present, replays from
the response cache, and that a prompt over the context window fails only its own item.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runs import COUNT_KEYS, assert_no_traceback, eval_args, evolve_cli

pytestmark = pytest.mark.realmodel

LIMIT = 6            # validation items per evaluation: keeps the suite within minutes
EVAL_BUDGET_S = 420  # wall-time bound per evaluation on 2 busy cores (timeouts kill a hang)


@pytest.mark.parametrize("seed", ["bm25", "vector_search"])
def test_eval_seed_with_real_model(seed, llamacpp_url, model_alias, tmp_path):
    cache = tmp_path / "responses.sqlite"
    run = evolve_cli(eval_args(seed, llamacpp_url, model_alias, cache, limit=LIMIT),
                     timeout_s=EVAL_BUDGET_S + 120)
    assert_no_traceback(run)
    summary = run.json()
    assert run.code == 0 and summary["status"] == "ok", summary
    assert summary["n_items"] == LIMIT
    assert summary["llm_calls"] > 0 and summary["tokens_in"] > 0 and summary["tokens_out"] > 0
    for key in COUNT_KEYS:
        assert isinstance(summary.get(key), int) and summary[key] >= 0, (key, summary)
    assert summary["cached_calls"] == 0  # a fresh cache file: every answer came from the model
    assert summary["failed_items"] <= LIMIT // 2
    assert run.seconds < EVAL_BUDGET_S, f"{seed} took {run.seconds:.0f} s"

    if seed == "bm25":
        # The same evaluation again is a pure cache replay: no model call, same score.
        again = evolve_cli(eval_args(seed, llamacpp_url, model_alias, cache, limit=LIMIT),
                           timeout_s=EVAL_BUDGET_S)
        replay = again.json()
        assert again.code == 0 and replay["status"] == "ok"
        assert replay["cached_calls"] == replay["llm_calls"] > 0
        assert replay["score"] == summary["score"]


OVERSIZED_READER = '''\
"""Test program: the first read() of each memory returns far more text than an 8k window."""

from dataclasses import dataclass, field

TOOLKIT_LLM_CALLS = {"write": 0, "read": 0}
INSTRUCTION_KNOWLEDGE_ITEM = "Write a one-sentence note about the episode."
INSTRUCTION_QUERY = "Copy the question verbatim into the 'question' field."
INSTRUCTION_RESPONSE = "Answer with a short phrase, or 'not mentioned'."
ALWAYS_ON_KNOWLEDGE = ""


@dataclass
class KnowledgeItem:
    note: str = field(default="", metadata={"description": "one-sentence note"})


@dataclass
class Query:
    question: str = field(default="", metadata={"description": "the question, verbatim"})


class KnowledgeBase:
    def __init__(self, toolkit):
        self.toolkit = toolkit
        self.reads = 0

    def write(self, item: KnowledgeItem, raw_text: str) -> None:
        return None

    def read(self, query: Query) -> str:
        self.reads += 1
        if self.reads == 1:
            return " ".join(f"filler{i} word" for i in range(12000))
        return ""
'''


def _count_400s(log_text: str) -> int:
    return sum(1 for line in log_text.splitlines()
               if "/chat/completions" in line and " 400" in line)


@pytest.mark.parametrize("window", ["known", "unknown"])
def test_prompt_over_the_window_fails_only_its_item(window, llamacpp, model_alias, tmp_path):
    """``known``: --context-window 8192, the oversized answer prompt is refused before it is
    sent (the server logs no 400). ``unknown``: --context-window 0, the server rejects it with
    HTTP 400 context_length_exceeded, and that fails the item, not the evaluation."""
    program = tmp_path / "oversized_reader.py"
    program.write_text(OVERSIZED_READER, encoding="utf-8")
    traces = tmp_path / "traces.jsonl"
    before = _count_400s(llamacpp.log_tail(10**9))
    args = eval_args(str(program), llamacpp.url, model_alias, tmp_path / "cache.sqlite",
                     "--read-cap", "200000", "--traces", str(traces), "--max-failed-share", "0.9",
                     limit=3)
    if window == "unknown":
        args += ["--context-window", "0"]  # the later flag wins
    run = evolve_cli(args, timeout_s=600)
    assert_no_traceback(run)
    summary = run.json()
    assert run.code == 0 and summary["status"] == "ok", summary
    assert summary["n_items"] == 3
    assert 1 <= summary["failed_items"] < 3, summary
    rows = [json.loads(line) for line in Path(traces).read_text().splitlines()]
    failed = [row for row in rows if row.get("failure")]
    assert len(failed) == summary["failed_items"]
    reasons = " ".join(json.dumps(row["failure"]) for row in failed).lower()
    after = _count_400s(llamacpp.log_tail(10**9))
    if window == "known":
        assert "context" in reasons or "too long" in reasons, reasons
        assert after == before, "a prompt over the known window reached the server"
    else:
        assert "context_length_exceeded" in reasons or "400" in reasons, reasons
        assert after > before
