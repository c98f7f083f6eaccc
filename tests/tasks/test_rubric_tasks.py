"""Rubric scoring (one judge call per criterion, parallel, cached) and the HealthBench and
PRBench loaders (themes/fields, hard subsets, experience episodes, Parquet, bad rows)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import duckdb
import pytest
from fakes import FakeOpenAIServer

from evolve.cli import main
from evolve.errors import UsageError
from evolve.evaluation.evaluate import EvalSettings, evaluate_program
from evolve.llm.factory import build_hub
from evolve.llm.offline import OfflineModel
from evolve.seeds import seed_source
from evolve.tasks.base import Task
from evolve.tasks.registry import make_task
from evolve.tasks.rubric import (
    Criterion,
    Verdict,
    judge_messages,
    parse_verdict,
    rubric_score,
    score_rubric,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HB_DIR = FIXTURES / "healthbench"
HB_MAIN = HB_DIR / "healthbench_main.jsonl"
PR_DIR = FIXTURES / "prbench"
PR_MAIN = PR_DIR / "prbench_main.jsonl"


def verdicts(*pairs: tuple[float, bool]) -> list[Verdict]:
    return [Verdict(Criterion(f"c{i}", points), met, "") for i, (points, met) in enumerate(pairs)]


def test_rubric_score_formula():
    assert rubric_score(verdicts((10, True), (5, False))) == pytest.approx(10 / 15)
    # a met pitfall subtracts its points; the result is clipped to [0, 1]
    assert rubric_score(verdicts((10, True), (5, True), (-5, True))) == pytest.approx(10 / 15)
    assert rubric_score(verdicts((10, False), (-5, True))) == 0.0
    assert rubric_score(verdicts((10, True), (-5, False))) == 1.0
    # no positive points: 1 unless a pitfall is met
    assert rubric_score(verdicts((-5, False))) == 1.0
    assert rubric_score(verdicts((-5, True))) == 0.0


@pytest.mark.parametrize("reply,met", [
    ('{"explanation": "ok", "criteria_met": true}', True),
    ('```json\n{"explanation": "no", "criteria_met": false}\n```', False),
    ('Sure! {"explanation": "x", "criteria_met": "true"} hope this helps', True),
    ('"criteria_met": false, "explanation": "cut off', False),
    ("Yes, it is met.", True),
    ("I am not sure what you mean", None),
])
def test_parse_verdict_is_lenient(reply, met):
    assert parse_verdict(reply)[0] is met


def test_one_parallel_judge_call_per_criterion():
    criteria = [Criterion(f"criterion number {i}", 5 - 2 * i) for i in range(4)]
    calls: list[str] = []
    active, peak = [0], [0]
    lock = threading.Lock()

    def judge(messages, json_mode=False):
        assert json_mode and len(messages) == 1
        text = messages[0]["content"]
        with lock:
            calls.append(text)
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1
        met = "number 0" in text or "number 3" in text  # +5 met, -1 pitfall met
        return json.dumps({"explanation": "stub", "criteria_met": met}) if "number 2" not in \
            text else "garbled"

    result = score_rubric(criteria, "the question", "the answer", judge)
    assert len(calls) == 4 and peak[0] > 1  # one call each, in parallel
    assert result.score == pytest.approx((5 - 1) / (5 + 3 + 1))
    lines = result.rationale.splitlines()
    assert lines[1].startswith("[met] +5 criterion number 0")
    assert lines[3].startswith("[???] +1 criterion number 2")  # unparsed: counted as not met
    with pytest.raises(RuntimeError, match="needs a judge"):
        score_rubric(criteria, "q", "a", None)


def test_offline_stand_in_judges_by_overlap():
    model = OfflineModel()
    criterion = Criterion("Tells the user to call emergency services", 10)
    met = json.loads(model.reply(judge_messages("conv", "Call emergency services now.",
                                                criterion)))
    missed = json.loads(model.reply(judge_messages("conv", "Drink some water.", criterion)))
    assert met["criteria_met"] is True and missed["criteria_met"] is False
    assert {"explanation", "criteria_met"} <= set(met)


# -- HealthBench ------------------------------------------------------------------------------

def test_healthbench_loader_themes_hard_and_experience():
    task = make_task("healthbench", {"path": str(HB_DIR)})
    assert isinstance(task, Task) and task.needs_judge and task.mode == "qa"
    ids = {i.id for g in task.groups("all") for i in g.items}
    # the hard file's items (hb-002 also sits in the main file) are left out by default
    assert "hb-002" not in ids and "hb-011" not in ids and len(ids) == 9
    splits = {s: {i.id for g in task.groups(s) for i in g.items} for s in ("train", "val", "test")}
    assert not (splits["train"] & splits["val"]) and not (splits["val"] & splits["test"])
    assert splits["train"] and splits["val"] and splits["test"]
    episodes = task.groups("val")[0].episodes
    # the train records are the experience: prompt, ideal response if any, rubric
    assert {e.meta["record"] for e in episodes} == splits["train"]
    assert all("What an expert answer was graded on" in e.text for e in episodes)
    item = next(i for g in task.groups("all") for i in g.items if i.id == "hb-006")
    assert item.question.startswith("User: I have a rash.") and "Assistant: Can you" in \
        item.question  # multi-turn prompts are rendered as a conversation
    assert item.category == "context_seeking" and len(item.meta["rubric"]) == 2
    with_hard = make_task("healthbench", {"path": str(HB_DIR), "hard": "include"})
    assert len([i for g in with_hard.groups("all") for i in g.items]) == 11
    only = make_task("healthbench", {"path": str(HB_DIR), "hard": "only", "test": "0",
                                     "train": "0"})
    assert sorted(i.id for g in only.groups("all") for i in g.items) == ["hb-002", "hb-011"]
    themed = make_task("healthbench", {"path": str(HB_MAIN), "themes": "hedging,theme:"
                                       "global_health", "train": "0", "test": "0"})
    assert {i.category for g in themed.groups("val") for i in g.items} == {"hedging",
                                                                            "global_health"}
    assert not themed.groups("val")[0].episodes  # no train split, no experience
    capped = make_task("healthbench", {"path": str(HB_DIR), "experience_limit": "2"})
    kept = [e.meta["record"] for e in capped.groups("val")[0].episodes]
    assert len(kept) == 2 and set(kept) <= splits["train"]
    bare = make_task("healthbench", {"path": str(HB_MAIN), "experience": "none"})
    assert bare.groups("val")[0].episodes == ()
    with pytest.raises(UsageError, match="bad value for themes: 'dentistry'"):
        make_task("healthbench", {"path": str(HB_MAIN), "themes": "dentistry"})


@pytest.mark.parametrize("task_name,source", [("healthbench", HB_MAIN), ("prbench", PR_MAIN)])
def test_parquet_gives_the_same_items_as_jsonl(tmp_path, task_name, source):
    parquet = tmp_path / f"{task_name}.parquet"
    duckdb.sql(f"COPY (SELECT * FROM read_json_auto('{source}')) TO '{parquet}' "
               "(FORMAT PARQUET)")
    from_parquet = make_task(task_name, {"path": str(parquet)})
    from_jsonl = make_task(task_name, {"path": str(source)})
    items = [i for g in from_parquet.groups("all") for i in g.items]
    assert items and items == [i for g in from_jsonl.groups("all") for i in g.items]


# -- PRBench ----------------------------------------------------------------------------------

def test_prbench_weights_conversation_fields_and_hard():
    task = make_task("prbench", {"path": str(PR_DIR), "test": "0", "train": "0"})
    items = {i.id: i for g in task.groups("all") for i in g.items}
    assert "pr-fin-h1" not in items and len(items) == 8  # finance_hard.jsonl left out
    points = [c["points"] for c in items["pr-fin-3"].meta["rubric"]]
    assert points == [10, 5, -10]  # critically important, important, critically detrimental
    assert [c["points"] for c in items["pr-fin-4"].meta["rubric"]] == [10, 2, -2]
    multi = items["pr-fin-4"].question
    assert multi.startswith("User: Our bank holds") and "Assistant: Rising rates" in multi
    assert multi.rstrip().endswith("User: What hedge would you suggest?")
    with_refs = items["pr-leg-2"].question
    assert with_refs.startswith("Reference text 1:\nSection 9.") and \
        with_refs.endswith("Summarise the termination clause in the reference text.")
    assert items["pr-fin-3"].category == "Risk Management"
    finance = make_task("prbench", {"path": str(PR_DIR), "fields": "finance",
                                    "category": "field", "hard": "include"})
    cats = {i.category for g in finance.groups("all") for i in g.items}
    ids = {i.id for g in finance.groups("all") for i in g.items}
    assert cats == {"finance"} and "pr-fin-h1" in ids and len(ids) == 5
    law = make_task("prbench", {"path": str(PR_MAIN), "fields": "law"})  # alias of legal
    assert {i.meta["field"] for g in law.groups("all") for i in g.items} == {"legal"}
    with pytest.raises(UsageError, match="fields in the data: finance, legal"):
        make_task("prbench", {"path": str(PR_MAIN), "fields": "medicine"})


def test_prbench_scratchpad_goes_into_experience():
    task = make_task("prbench", {"path": str(PR_MAIN), "train": "1.0", "test": "0"})
    texts = [e.text for e in task.groups("train")[0].episodes]
    assert any("Expert notes:\nTrade-off theory" in t for t in texts)


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("task_name,source,edit,needle", [
    ("healthbench", HB_MAIN, lambda r: r.pop("prompt"), ":3: missing field 'prompt'"),
    ("healthbench", HB_MAIN, lambda r: r["rubrics"][1].update(points="5"),
     ":3: field 'rubrics[1].points' must be a number"),
    ("healthbench", HB_MAIN, lambda r: r["prompt"][0].update(content=None),
     ":3: missing field 'prompt[0].content'"),
    ("prbench", PR_MAIN, lambda r: r["rubric"][0]["annotations"].update(weight_class="vital"),
     ":3: field 'rubric[0].annotations.weight_class' must be one of"),
    ("prbench", PR_MAIN, lambda r: r.pop("task"), ":3: missing field 'task'"),
    ("prbench", PR_MAIN, lambda r: r.update(prompt_0=7), ":3: field 'prompt_0' must be a string"),
])
def test_bad_rows_name_file_line_and_field(tmp_path, capsys, task_name, source, edit, needle):
    rows = _rows(source)
    edit(rows[2])
    path = tmp_path / source.name
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    code = main(["eval", "vector_search", "--task", task_name, "--task-arg", f"path={path}"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"{path}{needle}" in err


def test_empty_and_missing_files(tmp_path, capsys):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    assert main(["eval", "vector_search", "--task", "healthbench", "--task-arg",
                 f"path={empty}"]) == 2
    assert f"{empty}: the file is empty" in capsys.readouterr().err
    assert main(["eval", "vector_search", "--task", "prbench", "--task-arg",
                 f"path={tmp_path / 'nope.parquet'}"]) == 2
    assert "nope.parquet: file not found" in capsys.readouterr().err


# -- evaluation ---------------------------------------------------------------------------------

@pytest.mark.parametrize("task_name,path", [("healthbench", HB_DIR), ("prbench", PR_DIR)])
def test_cli_eval_offline(capsys, task_name, path):
    code = main(["eval", "vector_search", "--task", task_name, "--task-arg", f"path={path}",
                 "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["status"] == "ok" and out["n_items"] == 4
    assert 0.0 <= out["score"] <= 1.0 and out["per_category"]


def _offline_responder(request: dict) -> str:
    json_mode = (request.get("response_format") or {}).get("type") == "json_object"
    return OfflineModel().reply(request["messages"], json_mode=json_mode)


def test_judge_calls_are_cached_across_evaluations(tmp_path):
    task = make_task("prbench", {"path": str(PR_MAIN)})
    with FakeOpenAIServer(responder=_offline_responder) as server:
        hub = build_hub(model="offline", role_models={"judge": "fake-chat"},
                        base_url=server.url, api_key="test-key",
                        cache_path=tmp_path / "cache.sqlite")
        source = seed_source("vector_search")
        first = evaluate_program(source, task, hub, EvalSettings())
        paid = server.counts["/chat/completions"]
        n_criteria = sum(len(i.meta["rubric"]) for g in task.groups("val") for i in g.items)
        assert first.status == "ok" and paid == n_criteria  # one request per criterion
        second = evaluate_program(source, task, hub, EvalSettings())
        assert server.counts["/chat/completions"] == paid  # nothing new was sent
    judged = [c for c in second.calls if c.role == "judge"]
    assert len(judged) == n_criteria and all(c.cached for c in judged)
    assert second.score == first.score
