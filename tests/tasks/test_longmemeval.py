"""LongMemEval: loader, type-specific judge prompts, abstention, offline judge, CLI."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from evolve.cli import main
from evolve.errors import UsageError
from evolve.evaluation.evaluate import EvalSettings, evaluate_program
from evolve.llm.factory import build_hub
from evolve.llm.offline import OfflineModel
from evolve.seeds import seed_source
from evolve.tasks.answer_judge import answer_check_messages, parse_yes_no
from evolve.tasks.base import Task
from evolve.tasks.longmemeval import LongMemEvalTask, judge_kind, render_date
from evolve.tasks.registry import make_task

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "longmemeval_mini.json"


@pytest.fixture(scope="module")
def task() -> LongMemEvalTask:
    return LongMemEvalTask.from_file(FIXTURE)


def by_id(task: LongMemEvalTask, qid: str):
    return next(g for g in task.groups("all") if g.id == qid)


def test_one_group_per_question_with_dated_sessions(task):
    assert isinstance(task, Task) and task.mode == "qa" and task.needs_judge
    groups = task.groups("all")
    assert [g.id for g in groups][:3] == ["ssu_01", "ssa_01", "pref_01"] and len(groups) == 8
    temporal = by_id(task, "temp_01")
    assert len(temporal.items) == 1 and len(temporal.episodes) == 2
    first = temporal.episodes[0].text.splitlines()
    assert first[0] == "[Monday, 1 May, 2023, 17:00]"
    assert first[1] == "User: I just bought a new bike today, a blue road bike!"
    assert first[2].startswith("Assistant: ")
    item = temporal.items[0]
    assert item.question.endswith("(asked on Saturday, 10 June, 2023, 08:00)")
    assert item.category == "temporal-reasoning" and item.gold == "5 days"
    # evidence = the has_answer turns, dated
    assert item.evidence[0].startswith("[Monday, 1 May, 2023, 17:00] User: I just bought")
    assert by_id(task, "multi_01").items[0].gold == "2"  # integer answers become strings
    assert set(task.category_names) == {"single-session-user", "single-session-assistant",
                                        "single-session-preference", "temporal-reasoning",
                                        "knowledge-update", "multi-session"}
    episode_ids = [e.id for g in groups for e in g.episodes]
    assert len(episode_ids) == len(set(episode_ids))


def test_abstention_questions_are_marked_and_filterable(task):
    item = by_id(task, "ssu_02_abs").items[0]
    assert item.meta["abstention"] and item.category == "single-session-user"
    assert judge_kind(item) == "abstention"
    assert judge_kind(by_id(task, "ku_01").items[0]) == "knowledge-update"
    assert judge_kind(by_id(task, "ssa_01").items[0]) == "default"
    only = LongMemEvalTask.from_file(FIXTURE, abstention="only", test=0)
    assert [g.id for g in only.groups("all")] == ["ssu_02_abs"]
    without = LongMemEvalTask.from_file(FIXTURE, abstention="exclude")
    assert "ssu_02_abs" not in [g.id for g in without.groups("all")]


def test_splits_filters_and_registry():
    task = make_task("longmemeval", {"path": str(FIXTURE), "test": "2", "split_seed": "3"})
    test_ids = {g.id for g in task.groups("test")}
    val_ids = {g.id for g in task.groups("val")}
    assert len(test_ids) == 2 and not test_ids & val_ids and len(test_ids | val_ids) == 8
    again = make_task("longmemeval", {"path": str(FIXTURE), "test": "2", "split_seed": "3"})
    assert {g.id for g in again.groups("test")} == test_ids
    typed = make_task("longmemeval", {"path": str(FIXTURE), "types": "knowledge-update,"
                                      "multi-session", "test": "0"})
    assert sorted(g.id for g in typed.groups("val")) == ["ku_01", "multi_01"]
    first = make_task("longmemeval", {"path": str(FIXTURE), "questions": "2", "test": "0"})
    assert [g.id for g in first.groups("all")] == ["ssu_01", "ssa_01"]
    with pytest.raises(UsageError, match="bad value for types: 'nope'"):
        make_task("longmemeval", {"path": str(FIXTURE), "types": "nope"})


def test_render_date():
    assert render_date("2023/05/30 (Tue) 23:40") == "Tuesday, 30 May, 2023, 23:40"
    assert render_date("2023/05/30") == "Tuesday, 30 May, 2023"
    assert render_date("sometime in May") == "sometime in May"


def test_judge_prompts_differ_by_type():
    prompts = {kind: answer_check_messages(kind, "Q?", "gold", "resp")[0]["content"]
               for kind in ("default", "temporal-reasoning", "knowledge-update",
                            "single-session-preference", "abstention")}
    assert "off-by-one" in prompts["temporal-reasoning"]
    assert "off-by-one" not in prompts["default"]
    assert "latest" in prompts["knowledge-update"]
    assert "<preference_rubric>" in prompts["single-session-preference"]
    assert "<abstention_reason>" in prompts["abstention"]
    for text in prompts.values():
        assert "<response>\nresp\n</response>" in text and text.rstrip().endswith("only.")


def test_parse_yes_no():
    assert parse_yes_no("Yes.") and parse_yes_no("yes, the response is correct")
    assert not parse_yes_no("No. It says 6.") and not parse_yes_no("no")
    assert parse_yes_no('{"answer": "yes"}') and not parse_yes_no('{"answer": "no"}')
    assert parse_yes_no("The answer is yes") and not parse_yes_no("I cannot tell")


def test_score_makes_one_judge_call_with_the_type_prompt(task):
    seen: list[str] = []

    def judge(messages, json_mode=False):
        seen.append(messages[-1]["content"])
        return "yes" if "Denver" in messages[-1]["content"] else "no"

    item = by_id(task, "ku_01").items[0]
    result = task.score(item, "You live in Denver now (you used to live in Chicago).",
                        judge=judge)
    assert result.score == 1.0 and len(seen) == 1 and "latest" in seen[0]
    # the judge sees the question without the "(asked on ...)" suffix
    assert "<question>\nWhich city do I live in now?\n</question>" in seen[0]
    assert task.score(by_id(task, "ssa_01").items[0], "Mount Hood", judge=judge).score == 0.0
    with pytest.raises(RuntimeError, match="needs a judge"):
        task.score(item, "Denver")


@pytest.mark.parametrize("kind,gold,response,verdict", [
    ("default", "Eagle Creek Trail", "I recommended the Eagle Creek Trail.", "yes"),
    ("default", "Eagle Creek Trail", "The Multnomah Falls loop.", "no"),
    ("default", "Business Administration", "not mentioned", "no"),
    ("temporal-reasoning", "5 days", "It took 6 days.", "yes"),
    ("default", "5 days", "It took 6 days.", "no"),
    ("temporal-reasoning", "5 days", "It took 9 days.", "no"),
    ("knowledge-update", "Denver", "You moved from Chicago to Denver.", "yes"),
    ("abstention", "You never mentioned a sister's cat.", "not mentioned", "yes"),
    ("abstention", "You never mentioned a sister's cat.", "I don't know that.", "yes"),
    ("abstention", "You never mentioned a sister's cat.", "Luna", "no"),
])
def test_offline_judge_answers_answer_checks(kind, gold, response, verdict):
    messages = answer_check_messages(kind, "Some question?", gold, response)
    assert OfflineModel().reply(messages) == verdict


def test_evaluates_with_the_offline_model_and_judge_role(task):
    hub = build_hub(model="offline")
    result = evaluate_program(seed_source("full_context"), task, hub,
                              EvalSettings(split="all", oracle=True))
    assert result.status == "ok" and result.n_items == 8
    judge_calls = [c for c in result.calls if c.role == "judge"]
    assert len(judge_calls) == 8  # one judge call per question
    scores = {t.item_id: t.score for t in result.items}
    assert scores["ku_01"] == 1.0  # "Denver" from the evidence
    assert scores["ssu_02_abs"] == 1.0  # abstained on the unanswerable question


def test_cli_eval_json(capsys):
    code = main(["eval", "vector_search", "--task", "longmemeval", "--task-arg",
                 f"path={FIXTURE}", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["status"] == "ok" and out["task"] == "longmemeval"
    assert out["n_items"] == len(make_task("longmemeval", {"path": str(FIXTURE)}).groups("val"))
    assert set(out["per_category"]) <= set(out["category_names"])


def _write(tmp_path: Path, data) -> Path:
    path = tmp_path / "lme.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


BASE = json.loads(FIXTURE.read_text())[:2]


def _broken(edit):
    data = copy.deepcopy(BASE)
    edit(data)
    return data


@pytest.mark.parametrize("data,needle", [
    (_broken(lambda d: d[1].pop("question")), "entry 1 (question_id 'ssa_01'): missing field "
                                              "'question'"),
    (_broken(lambda d: d[0].update(question_type=3)), "field 'question_type' must be a string"),
    (_broken(lambda d: d[0].update(answer=["x"])), "field 'answer' must be a string or a number"),
    (_broken(lambda d: d[0]["haystack_dates"].pop()), "must have the same length"),
    (_broken(lambda d: d[0]["haystack_sessions"][1][0].pop("content")),
     "haystack_sessions[1]: turn 0: field 'content' missing"),
    (_broken(lambda d: d.append(d[0])), "duplicate question_id 'ssu_01'"),
    ([], "holds no questions"),
    ({"a": 1}, "expected a JSON list of questions"),
    ("[{", "not valid JSON"),
])
def test_malformed_files_give_one_line_and_exit_2(tmp_path, capsys, data, needle):
    path = _write(tmp_path, data)
    code = main(["eval", "vector_search", "--task", "longmemeval", "--task-arg", f"path={path}"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert str(path) in err and needle in err
