"""A model call that fails for good fails one item (or skips one episode), not the evaluation.

Everything goes through the real ``openai`` client to the fake server in ``tests/fakes``,
which answers like the offline model except for the scripted prompts (HTTP 400 on one
prompt, a 500 on every attempt of one call).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes import FakeOpenAIServer, Fault
from fakes.task_replies import TaskReplies, rejected

from evolve.cli import main
from evolve.evaluation.evaluate import EvalSettings, evaluate_program
from evolve.llm.factory import build_hub
from evolve.llm.openai_chat import RetryPolicy
from evolve.seeds import seed_source
from evolve.tasks.registry import make_task

QUESTION = "Which jobs has Vera had?"  # the first item of dialog-synth tiny (group synth-0-0)
EPISODE_LINE = "Mira: Hello again! How have things been?"  # only in its first episode
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def eval_json(server: FakeOpenAIServer, tmp_path, capsys, *extra: str) -> tuple[int, dict]:
    code = main(["eval", "bm25", "--task", "dialog-synth", "--task-arg", "size=tiny",
                 "--model", "fake-chat", "--base-url", server.url, "--cache", "off",
                 "--traces", str(tmp_path / "traces.jsonl"), "--json", *extra])
    out = capsys.readouterr().out
    return code, json.loads(out)


def traces(tmp_path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "traces.jsonl").read_text().splitlines()]


def test_one_rejected_query_fails_one_item_and_the_evaluation_stays_ok(tmp_path, capsys):
    replies = TaskReplies([("query", f"<question>\n{QUESTION}\n</question>", rejected())])
    with FakeOpenAIServer(responder=replies) as server:
        code, summary = eval_json(server, tmp_path, capsys)
    assert replies.fired[0] == 1  # a 400 is not retried
    assert code == 0 and summary["status"] == "ok", summary["error"]
    assert summary["n_items"] == 30 and summary["failed_items"] == 1
    assert summary["skipped_episodes"] == 0 and summary["extraction_failures"] == 0
    by_question = {t["question"]: t for t in traces(tmp_path)}
    failed = by_question[QUESTION]
    assert failed["score"] == 0.0 and "HTTP 400" in failed["failure"]
    assert failed["failure"].startswith("query call failed:")
    assert "context" in failed["failure"] or "injected 400" in failed["failure"]
    assert failed["answer"] == ""  # no answer was asked for a failed item
    others = [t for q, t in by_question.items() if q != QUESTION]
    assert all(t["failure"] is None for t in others)
    assert summary["score"] > 0.5  # the other 29 items were answered as usual


def test_above_the_failure_share_the_evaluation_is_an_error_naming_count_and_reason(
        tmp_path, capsys):
    replies = TaskReplies([("query", f"<question>\n{QUESTION}\n</question>", rejected())])
    with FakeOpenAIServer(responder=replies) as server:
        code, summary = eval_json(server, tmp_path, capsys, "--max-failed-share", "0")
    assert code == 1 and summary["status"] == "error"
    assert summary["failed_items"] >= 1 and summary["n_items"] == 30
    error = summary["error"]
    assert error.startswith(f"{summary['failed_items']} of 30 items failed")
    assert "max_failed_share 0" in error and "HTTP 400" in error
    assert "not sent" not in error.split("first:", 1)[1]  # the first REAL reason is named


def test_every_call_rejected_stops_early_with_a_clear_error(tmp_path, capsys):
    replies = TaskReplies([("any", "", rejected("invalid_request_error"))])
    with FakeOpenAIServer(responder=replies) as server:
        code, summary = eval_json(server, tmp_path, capsys)
    assert code == 1 and summary["status"] == "error"
    assert summary["n_items"] == 30 and summary["failed_items"] == 30
    assert summary["skipped_episodes"] == 10 and summary["extraction_failures"] == 10
    assert summary["error"].startswith("30 of 30 items failed")
    assert "HTTP 400" in summary["error"]
    # 10 extractions and 30 queries could be sent; after 21 failures (more than half of the 40)
    # the rest were not, apart from at most 8 (the concurrency) already on their way
    assert sum(replies.counts.values()) <= 21 + 8
    assert len(traces(tmp_path)) == 30  # every trace is kept


def test_a_rejected_extraction_skips_its_episode_with_the_reason(tmp_path, capsys):
    replies = TaskReplies([("extract", EPISODE_LINE, rejected())])
    with FakeOpenAIServer(responder=replies) as server:
        code, summary = eval_json(server, tmp_path, capsys)
    assert code == 0 and summary["status"] == "ok"
    assert summary["skipped_episodes"] == 1 and summary["extraction_failures"] == 1
    assert summary["failed_items"] == 0
    (note,) = summary["episode_notes"]
    assert note["group_id"] == "synth-0-0" and note["skipped"] and note["call_failed"]
    assert note["reason"].startswith("extraction call failed:") and "HTTP 400" in note["reason"]


def test_human_output_has_one_failures_line(tmp_path, capsys):
    replies = TaskReplies([("extract", EPISODE_LINE, rejected()),
                           ("query", f"<question>\n{QUESTION}\n</question>", rejected())])
    with FakeOpenAIServer(responder=replies) as server:
        code = main(["eval", "bm25", "--task", "dialog-synth", "--task-arg", "size=tiny",
                     "--model", "fake-chat", "--base-url", server.url, "--cache", "off"])
    out = capsys.readouterr().out
    assert code == 0
    (line,) = [ln for ln in out.splitlines() if ln.startswith("failures")]
    assert "1 items failed" in line and "1 episodes skipped (1 extraction failures)" in line


@pytest.mark.parametrize("share", ["-0.1", "1.5"])
def test_max_failed_share_outside_0_1_is_a_usage_error(share, capsys):
    code = main(["eval", "bm25", "--task", "dialog-synth", "--task-arg", "size=tiny",
                 "--max-failed-share", share])
    err = capsys.readouterr().err
    assert code == 2 and "--max-failed-share must be between 0 and 1" in err
    assert "Traceback" not in err


def _http_hub(server: FakeOpenAIServer):
    return build_hub(model="fake-chat", base_url=server.url, cache_path="off",
                     retry=RetryPolicy(max_retries=1, base_delay=0.01, seed=0))


def test_an_answer_call_failing_after_its_retries_fails_that_item_only():
    task = make_task("dialog-synth", {"size": "tiny"})
    replies = TaskReplies([("answer", f"<question>\n{QUESTION}\n</question>",
                            Fault.server_error(500))])
    with FakeOpenAIServer(responder=replies) as server:
        result = evaluate_program(seed_source("bm25"), task, _http_hub(server), EvalSettings())
    assert replies.fired[0] == 2  # the first attempt and its one retry
    assert result.status == "ok" and result.n_items == 30 and result.failed_items == 1
    (failed,) = [t for t in result.items if t.failure]
    assert failed.question == QUESTION and failed.score == 0.0
    assert failed.failure.startswith("answer call failed:") and "HTTP 500" in failed.failure
    assert failed.query  # the query step had succeeded; it stays in the trace


def test_a_failing_judge_call_fails_that_item_only():
    task = make_task("longmemeval", {"path": str(FIXTURES / "longmemeval_mini.json")})
    assert task.needs_judge
    # the judge prompt carries the gold answer; no task-agent prompt does
    replies = TaskReplies([("other", "Business Administration", rejected())])
    with FakeOpenAIServer(responder=replies) as server:
        result = evaluate_program(seed_source("bm25"), task, _http_hub(server), EvalSettings())
    assert replies.fired[0] >= 1
    assert result.status == "ok" and result.failed_items == 1, result.error
    (failed,) = [t for t in result.items if t.failure]
    assert failed.failure.startswith("judge call failed:") and failed.score == 0.0
    assert failed.answer  # the answer was given; only its judging failed


def test_items_failed_by_a_call_are_not_shown_to_the_meta_agent_as_failed_cases():
    from evolve.campaign.subsets import pick_failed_cases

    traces = [{"item_id": "a", "score": 0.0, "failure": "query call failed: HTTP 400"},
              {"item_id": "b", "score": 0.5, "failure": None}, {"item_id": "c", "score": 1.0}]
    for seed in range(20):
        failed, success = pick_failed_cases(traces, 3, 1, seed)
        assert [t["item_id"] for t in failed] == ["b"] and success[0]["item_id"] == "c"


def test_a_cancelled_call_is_no_item_failure_it_ends_the_evaluation():
    from evolve.errors import RequestRejected
    from evolve.eval_failures import is_local_failure
    from evolve.llm.cancel import CallCancelled, interrupt_all, reset_interrupt
    from evolve.llm.openai_chat import EndpointAuthError

    rejected_call = RequestRejected("HTTP 400")
    assert is_local_failure(rejected_call)
    assert not is_local_failure(CallCancelled("interrupted"))
    assert not is_local_failure(EndpointAuthError("HTTP 401"))
    interrupt_all()
    try:  # once Ctrl-C was pressed, whatever a call died of, no item is blamed for it
        assert not is_local_failure(rejected_call)
    finally:
        reset_interrupt()
