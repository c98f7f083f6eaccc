"""Bring-your-own JSONL task: the format round-trips, evaluates, evolves; bad files fail in
one line naming file, line and field (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evolve.campaign.loop import Campaign
from evolve.cli import main
from evolve.config.load import load_config
from evolve.tasks.base import Task
from evolve.tasks.jsonl_task import JsonlTask
from evolve.tasks.registry import make_task

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "byo_task"

EPISODES = [
    {"id": "e1", "text": "[3 May, 2024]\nKim: I adopted a parrot called Kiwi."},
    {"id": "e2", "text": "[9 May, 2024]\nKim: Kiwi learned to whistle a song.", "group": "kim"},
    {"id": "e3", "text": "[4 May, 2024]\nSam: I started a job as a baker.", "group": "sam",
     "meta": {"source": "chat"}},
]
ITEMS = [
    {"id": "q1", "question": "What is the name of Kim's parrot?", "answer": "Kiwi",
     "category": "pets", "evidence": ["e1"], "group": "kim", "split": "test"},
    {"id": "q2", "question": "What did Kiwi learn?", "answer": "to whistle a song",
     "group": "kim", "evidence": ["e2", "free text evidence"]},
    {"id": 3, "question": "What is Sam's job?", "answer": "baker", "category": "jobs",
     "group": "sam", "split": "val"},
    {"id": "q4", "question": "How did Sam's first day go?", "group": "sam", "split": "val",
     "rubric": [{"criterion": "Says the information is not available", "points": 5},
                {"criterion": "Invents details about the first day", "points": -5}]},
]


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


@pytest.fixture
def files(tmp_path):
    return (write_jsonl(tmp_path / "items.jsonl", ITEMS),
            write_jsonl(tmp_path / "episodes.jsonl", EPISODES))


def test_format_round_trips(files):
    items, episodes = files
    task = make_task("jsonl", {"items": str(items), "episodes": str(episodes), "test": "0"})
    assert isinstance(task, Task) and task.needs_judge  # q4 has a rubric
    groups = {g.id: g for g in task.groups("all")}
    assert list(groups) == ["kim", "sam"]
    # ungrouped episodes belong to every group, in file order
    assert [e.id for e in groups["kim"].episodes] == ["e1", "e2"]
    assert [e.id for e in groups["sam"].episodes] == ["e1", "e3"]
    assert groups["sam"].episodes[1].meta == {"source": "chat"}
    q1, q2 = groups["kim"].items
    assert q1.gold == "Kiwi" and q1.category == "pets"
    assert q1.evidence == (EPISODES[0]["text"],)  # an episode id stands for its text
    assert q2.evidence == (EPISODES[1]["text"], "free text evidence")
    assert q2.category == "all"  # default category
    sam = {i.id: i for i in groups["sam"].items}
    assert set(sam) == {"3", "q4"}  # integer ids become strings
    assert sam["q4"].meta["rubric"][1] == {"criterion": "Invents details about the first day",
                                           "points": -5.0, "tags": []}
    assert "+5 Says the information" in sam["q4"].gold
    # explicit splits win; the rest is split by seed
    assert [i.id for g in task.groups("test") for i in g.items] == ["q1"]
    assert {i.id for g in task.groups("val") for i in g.items} == {"q2", "3", "q4"}


def test_scorers(files, tmp_path):
    items, _ = files
    task = JsonlTask(items)
    q1 = next(i for g in task.groups("all") for i in g.items if i.id == "q1")
    # token F1 of "it is kiwi" against "kiwi": precision 1/3, recall 1
    assert task.score(q1, "It is Kiwi.").score == pytest.approx(0.5)
    assert JsonlTask(items, scorer="exact").score(q1, "kiwi!").score == 1.0
    assert JsonlTask(items, scorer="contains").score(q1, "It is Kiwi.").score == 1.0
    abstain = write_jsonl(tmp_path / "abstain.jsonl", [
        {"id": "a", "question": "What is Kim's cat called?", "answer": "not mentioned"}])
    item = JsonlTask(abstain).groups("all")[0].items[0]
    assert JsonlTask(abstain).score(item, "Not mentioned in the notes").score == 1.0
    assert JsonlTask(abstain).score(item, "Tom").score == 0.0
    judged = JsonlTask(items, scorer="judge")
    assert judged.needs_judge
    prompts: list[str] = []

    def judge(messages, json_mode=False):
        prompts.append(messages[0]["content"])
        return "yes"

    assert judged.score(q1, "Kiwi", judge=judge).score == 1.0
    assert "<gold_answer>\nKiwi\n</gold_answer>" in prompts[0]


def test_rubric_items_use_the_judge(files):
    items, episodes = files
    task = JsonlTask(items, episodes)
    q4 = next(i for g in task.groups("all") for i in g.items if i.id == "q4")
    calls: list[str] = []

    def judge(messages, json_mode=False):
        calls.append(messages[0]["content"])
        met = "not available" in messages[0]["content"]
        return json.dumps({"explanation": "stub", "criteria_met": met})

    result = task.score(q4, "I do not know, that is not in my notes.", judge=judge)
    assert len(calls) == 2 and result.score == 1.0


def test_example_evaluates_with_the_offline_model(capsys):
    code = main(["eval", "vector_search", "--task", "jsonl",
                 "--task-arg", f"items={EXAMPLE / 'items.jsonl'}",
                 "--task-arg", f"episodes={EXAMPLE / 'episodes.jsonl'}", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["status"] == "ok" and out["n_items"] == 14
    assert out["score"] > 0.2 and out["per_category"]["abstention"] == 1.0


def test_example_campaign_evolves(tmp_path):
    config = load_config(EXAMPLE / "campaign.toml", [
        "search.iterations=2", f"task.args.items={EXAMPLE / 'items.jsonl'}",
        f"task.args.episodes={EXAMPLE / 'episodes.jsonl'}"])
    outcome = Campaign(config, tmp_path / "run", config_dir=EXAMPLE, progress=False).run()
    assert outcome.finished and outcome.best_val is not None and outcome.best_val > 0
    assert outcome.best_test is not None


GOOD = {"id": "q1", "question": "Q?", "answer": "A"}


@pytest.mark.parametrize("rows,line,needle", [
    ([GOOD, {"id": "q2", "answer": "A"}], 2, "missing field 'question'"),
    ([GOOD, GOOD, {"id": "q3", "question": 7, "answer": "A"}], 3,
     "field 'question' must be a string, got integer"),
    ([{"id": "q1", "question": "Q?"}], 1, "missing field 'answer' (or 'rubric')"),
    ([{"id": "q1", "question": "Q?", "answer": ["A"]}], 1,
     "field 'answer' must be a string or a number"),
    ([{"id": "q1", "question": "Q?", "rubric": [{"criterion": "c", "points": "5"}]}], 1,
     "field 'rubric[0].points' must be a number"),
    ([{"id": "q1", "question": "Q?", "rubric": []}], 1, "field 'rubric' is an empty list"),
    ([{"id": "q1", "question": "Q?", "rubric": [{"points": 1}]}], 1,
     "missing field 'rubric[0].criterion'"),
    ([GOOD, "{not json"], 2, "not valid JSON"),
    (["[1, 2]"], 1, "expected a JSON object, got list"),
    ([{**GOOD, "questoin": "typo"}], 1, "unknown field 'questoin'"),
    ([GOOD, GOOD], 2, "duplicate item id 'q1'"),
    ([{**GOOD, "split": "dev"}], 1, "field 'split' must be one of train, val, test"),
    ([{**GOOD, "evidence": [1]}], 1, "field 'evidence[0]' must be a string"),
    ([{**GOOD, "evidence": "e1"}], 1, "field 'evidence' must be a list"),
    ([{**GOOD, "category": ["a"]}], 1, "field 'category' must be a string"),
    ([{**GOOD, "id": ""}], 1, "field 'id' must be a non-empty string"),
])
def test_malformed_items_one_line_exit_2(tmp_path, capsys, rows, line, needle):
    items = write_jsonl(tmp_path / "items.jsonl", rows)
    code = main(["eval", "vector_search", "--task", "jsonl", "--task-arg", f"items={items}"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"{items}:{line}: {needle}" in err


@pytest.mark.parametrize("rows,needle", [
    ([{"id": "e1"}], "episodes.jsonl:1: missing field 'text'"),
    ([{"id": "e1", "text": "x"}, {"id": "e2", "text": 5}],
     "episodes.jsonl:2: field 'text' must be a string, got integer"),
    ([{"id": "e1", "text": "x", "group": 3}], "episodes.jsonl:1: field 'group' must be a string"),
    ([{"id": "e1", "text": "x", "meta": "m"}], "episodes.jsonl:1: field 'meta' must be an object"),
    ([{"id": "e1", "text": "x"}, {"id": "e1", "text": "y"}],
     "episodes.jsonl:2: duplicate episode id 'e1'"),
    ([], "episodes.jsonl: the file is empty"),
])
def test_malformed_episodes_one_line_exit_2(tmp_path, capsys, rows, needle):
    items = write_jsonl(tmp_path / "items.jsonl", [GOOD])
    episodes = write_jsonl(tmp_path / "episodes.jsonl", rows)
    code = main(["eval", "vector_search", "--task", "jsonl", "--task-arg", f"items={items}",
                 "--task-arg", f"episodes={episodes}"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and needle in err


def test_empty_or_missing_items_file(tmp_path, capsys):
    empty = tmp_path / "items.jsonl"
    empty.write_text("")
    assert main(["eval", "vector_search", "--task", "jsonl", "--task-arg",
                 f"items={empty}"]) == 2
    assert f"{empty}: the file is empty" in capsys.readouterr().err
    assert main(["eval", "vector_search", "--task", "jsonl", "--task-arg",
                 f"items={tmp_path / 'missing.jsonl'}"]) == 2
    assert "missing.jsonl: file not found" in capsys.readouterr().err
    assert main(["eval", "vector_search", "--task", "jsonl"]) == 2
    assert "missing required argument 'items'" in capsys.readouterr().err


def test_documented_examples_are_valid(tmp_path):
    docs = (ROOT / "docs" / "tasks.md").read_text()
    section = docs.split("## jsonl: bring your own task")[1].split("## plugin")[0]
    blocks = [b.strip().splitlines() for b in section.split("```json")[1:]]
    lines = [line for block in blocks for line in block[:block.index("```")]]
    episodes = [json.loads(line) for line in lines if "text" in json.loads(line)]
    items = [json.loads(line) for line in lines if "question" in json.loads(line)]
    assert len(episodes) == 2 and len(items) == 3
    task = JsonlTask(write_jsonl(tmp_path / "items.jsonl", items),
                     write_jsonl(tmp_path / "episodes.jsonl", episodes), test=0)
    assert task.needs_judge and len(task.groups("val")[0].items) == 3
