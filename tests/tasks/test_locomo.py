"""LoCoMo loader on a hand-written fixture in the real file format (not real LoCoMo data)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from evolve.errors import UsageError
from evolve.tasks.base import Task
from evolve.tasks.locomo import LOCOMO_CATEGORIES, LocomoTask, parse_dia_ids
from evolve.tasks.registry import make_task

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "locomo_mini.json"


@pytest.fixture()
def task() -> LocomoTask:
    return LocomoTask.from_file(FIXTURE, test=0)


def _items(task: LocomoTask, split: str = "all"):
    return {it.id: it for g in task.groups(split) for it in g.items}


def test_protocol_and_names(task):
    assert isinstance(task, Task)
    assert task.name == "locomo" and task.mode == "qa"
    assert task.category_names == LOCOMO_CATEGORIES
    assert task.category_names["1"] == "multi-hop" and task.category_names["5"] == "adversarial"


def test_groups_and_episodes_ignore_dangling_date_keys(task):
    groups = task.groups("all")
    assert [g.id for g in groups] == ["mini-1", "mini-2"]
    first = groups[0]
    # session_3/4_date_time exist without sessions: only two episodes
    assert [e.id for e in first.episodes] == ["mini-1:session_1", "mini-1:session_2"]
    lines = first.episodes[0].text.splitlines()
    assert lines[0] == "[1:56 pm on 8 May, 2023]"
    assert lines[1] == "Rowan: Hi Tamsin! How was your week?"
    assert lines[3].endswith(
        "saw a heron. [shares a photo: a photo of a grey heron standing in a pond]")
    assert first.episodes[1].meta["date_time"] == "10:02 am on 25 May, 2023"


def test_answers_categories_evidence_and_adversarial(task):
    items = _items(task)
    assert len(items) == 11
    kids = items["mini-1:q3"]
    assert kids.gold == "3" and kids.category == "4"  # int answer cast to str
    adversarial = items["mini-1:q5"]
    assert adversarial.category == "5" and adversarial.gold == "not mentioned"
    assert adversarial.meta["adversarial_answer"] == "cello"
    assert adversarial.evidence == (
        "[10:02 am on 25 May, 2023] Rowan: Amazing! I started learning the cello two weeks ago.",)
    # "D1:2; D2:1" holds two ids; "D2:3" a third
    multi = items["mini-1:q1"]
    assert len(multi.evidence) == 3 and multi.evidence[0].startswith("[1:56 pm on 8 May, 2023] "
                                                                      "Tamsin: Busy")
    # "D30:05" points nowhere and "D" is malformed: both skipped
    son = items["mini-1:q6"]
    assert son.evidence == ("[1:56 pm on 8 May, 2023] Tamsin: That sounds peaceful. "
                            "My son Ellis wants to come next time.",)


def test_parse_dia_ids_tolerates_malformed_entries():
    assert parse_dia_ids("D1:3") == [(1, 3)]
    assert parse_dia_ids("D8:6; D9:17") == [(8, 6), (9, 17)]
    assert parse_dia_ids("D30:05") == [(30, 5)]
    assert parse_dia_ids("D") == [] and parse_dia_ids(None) == []


def test_scoring_uses_locomo_rules(task):
    items = _items(task)
    assert task.score(items["mini-1:q0"], "7 May 2023").score == 1.0
    assert task.score(items["mini-1:q1"], "pottery, camping").score == pytest.approx(2 / 3)
    assert task.score(items["mini-1:q4"], "birdwatching or music").score == 1.0  # ';' cut
    assert task.score(items["mini-1:q5"], "Not mentioned.").score == 1.0
    assert task.score(items["mini-1:q5"], "cello").score == 0.0
    result = task.score(items["mini-1:q2"], "a librarian")
    assert result.score == 1.0 and "cat 4" in result.rationale
    squad = LocomoTask.from_file(FIXTURE, scorer="squad", test=0)
    # no comma split in the SQuAD flavour: precision 1, recall 2/3
    assert squad.score(_items(squad)["mini-1:q1"], "pottery, camping").score == pytest.approx(0.8)


def test_conversation_and_category_selection():
    one = LocomoTask.from_file(FIXTURE, conversations=1, test=0)
    assert [g.id for g in one.groups("all")] == ["mini-1"]
    by_id = LocomoTask.from_file(FIXTURE, conversations=["mini-2"], test=0)
    assert [g.id for g in by_id.groups("all")] == ["mini-2"]
    with pytest.raises(UsageError, match="unknown sample id 'nope'.*mini-1, mini-2"):
        LocomoTask.from_file(FIXTURE, conversations=["nope"])
    temporal = LocomoTask.from_file(FIXTURE, categories=[2], test=0)
    assert {it.category for it in _items(temporal).values()} == {"2"}
    # items keep their index in the file's qa list whatever the filter
    assert set(_items(temporal)) == {"mini-1:q0", "mini-2:q2"}


def test_splits_are_disjoint_deterministic_and_seeded():
    task = LocomoTask.from_file(FIXTURE, test=0.4, seed=3)
    val, test = set(_items(task, "val")), set(_items(task, "test"))
    assert val and test and not val & test
    assert val | test == set(_items(task, "all"))
    assert len(test) == round(0.4 * 11)
    again = LocomoTask.from_file(FIXTURE, test=0.4, seed=3)
    assert set(_items(again, "test")) == test
    others = {frozenset(_items(LocomoTask.from_file(FIXTURE, test=0.4, seed=s), "test"))
              for s in range(6)}
    assert len(others) > 1
    counted = LocomoTask.from_file(FIXTURE, test=2, train=3)
    assert len(_items(counted, "test")) == 2 and len(_items(counted, "train")) == 3
    # a group keeps all its episodes whatever the split
    for group in task.groups("test"):
        assert len(group.episodes) == 2
    with pytest.raises(UsageError, match="unknown split"):
        task.groups("dev")  # type: ignore[arg-type]


def test_describe_records_provenance(task):
    info = task.describe()
    assert info["task"] == "locomo" and info["source"] == str(FIXTURE)
    assert info["scorer"] == "locomo" and info["n_episodes"] == 4
    assert info["n_items"] == {"train": 0, "val": 11, "test": 0}


def test_registry_builds_locomo():
    task = make_task("locomo", {"path": str(FIXTURE), "conversations": "mini-1",
                                "categories": "1,5", "test": "0"})
    assert {it.category for it in _items(task).values()} == {"1", "5"}
    with pytest.raises(UsageError, match="missing required argument 'path'"):
        make_task("locomo", {})


def _write(tmp_path: Path, data) -> Path:
    path = tmp_path / "broken.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def _variant(edit):
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    result = edit(data)
    return data if result is None else result


@pytest.mark.parametrize("edit,needle", [
    (lambda d: "{not json", "not valid JSON"),
    (lambda d: {"sample_id": "x"}, "expected a JSON list of samples"),
    (lambda d: [], "no samples"),
    (lambda d: d[0].pop("qa") and None, "sample 0: missing field 'qa'"),
    (lambda d: d[1].update(conversation=[]), "'mini-2': field 'conversation' must be an object"),
    (lambda d: d[0]["conversation"].pop("speaker_a") and None, "conversation.speaker_a"),
    (lambda d: d[0]["conversation"].update(session_2="oops"), "conversation.session_2"),
    (lambda d: d[0]["conversation"]["session_1"][1].pop("text") and None,
     "conversation.session_1[1].text"),
    (lambda d: d[0]["qa"][2].update(category=7), "qa[2]: field 'category' must be 1..5"),
    (lambda d: d[0]["qa"][0].pop("answer") and None, "qa[0]: field 'answer' missing"),
    (lambda d: d[1]["qa"][0].update(question=None), "'mini-2' qa[0]: field 'question'"),
    (lambda d: d[0]["qa"][0].update(evidence="D1:3"), "field 'evidence' must be a list"),
    (lambda d: d[1].update(sample_id="mini-1"), "duplicate sample_id 'mini-1'"),
])
def test_malformed_files_raise_one_line_usage_errors(tmp_path, edit, needle):
    path = _write(tmp_path, _variant(edit))
    with pytest.raises(UsageError) as info:
        LocomoTask.from_file(path)
    message = str(info.value)
    assert needle in message
    assert str(path) in message and "\n" not in message


def test_missing_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="file not found"):
        LocomoTask.from_file(tmp_path / "absent.json")
