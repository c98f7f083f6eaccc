"""The synthetic dialog task: LoCoMo-format data, determinism, question design, registry."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter

import pytest

from evolve.errors import UsageError
from evolve.tasks.base import Task
from evolve.tasks.locomo import LocomoTask, parse_samples
from evolve.tasks.registry import TASKS, make_task
from evolve.tasks.synth import vocab as V
from evolve.tasks.synth.dialog_synth import (
    SYNTH_CATEGORIES,
    DialogSynthTask,
    generate_samples,
    write_locomo_json,
)

DATE_TIME = re.compile(r"^\d{1,2}:\d{2} (am|pm) on \d{1,2} [A-Z][a-z]+, \d{4}$")
GOLD_DATE = re.compile(r"^\d{1,2} [A-Z][a-z]+ \d{4}$")


@pytest.fixture(scope="module")
def small() -> list[dict]:
    return generate_samples("small", 0)


def _turns(sample: dict) -> dict[str, tuple[int, dict]]:
    conv = sample["conversation"]
    out = {}
    for key, turns in conv.items():
        if m := re.fullmatch(r"session_(\d+)", key):
            for turn in turns:
                out[turn["dia_id"]] = (int(m.group(1)), turn)
    return out


def _session_day(sample: dict, session: int) -> dt.date:
    text = sample["conversation"][f"session_{session}_date_time"].split(" on ")[1]
    return dt.datetime.strptime(text, "%d %B, %Y").date()


def test_small_is_valid_locomo_format_of_the_right_size(small):
    parse_samples(small, "synthetic")  # raises on any format problem
    assert len(small) == 3
    for sample in small:
        conv = sample["conversation"]
        assert conv["speaker_a"] != conv["speaker_b"]
        sessions = [k for k in conv if re.fullmatch(r"session_\d+", k)]
        assert len(sessions) == 16
        for key in sessions:
            assert DATE_TIME.match(conv[f"{key}_date_time"])
            speakers = [t["speaker"] for t in conv[key]]
            assert all(a != b for a, b in zip(speakers, speakers[1:], strict=False)), "turns alternate"
    counts = Counter(qa["category"] for s in small for qa in s["qa"])
    total = sum(counts.values())
    assert 80 <= total <= 150
    assert set(counts) == {1, 2, 3, 4, 5}
    assert all(0.12 <= counts[c] / total <= 0.3 for c in counts), counts


def test_sizes():
    tiny = generate_samples("tiny", 0)
    assert len(tiny) == 2 and sum(len(s["qa"]) for s in tiny) < 60
    assert len(generate_samples("small", 0, conversations=1)) == 1
    with pytest.raises(UsageError, match="size"):
        generate_samples("huge", 0)


def test_deterministic_by_seed(small):
    assert json.dumps(generate_samples("small", 0)) == json.dumps(small)
    other = generate_samples("small", 1)
    assert [s["qa"] for s in other] != [s["qa"] for s in small]
    assert [s["conversation"] for s in other] != [s["conversation"] for s in small]


def test_questions_have_correct_evidence_and_gold(small):
    for sample in small:
        turns = _turns(sample)
        people = {sample["conversation"]["speaker_a"], sample["conversation"]["speaker_b"]}
        for qa in sample["qa"]:
            assert qa["evidence"] and all(d in turns for d in qa["evidence"]), qa
            subject = next(p for p in people if re.search(rf"\b{p}\b", qa["question"]) or
                           qa["question"].startswith("What kind of animal"))
            speakers = {turns[d][1]["speaker"] for d in qa["evidence"]}
            if qa["category"] == 5:
                assert "answer" not in qa and qa["adversarial_answer"]
                if subject in people and not qa["question"].startswith("What kind"):
                    assert subject not in speakers, qa  # never said about that person
                continue
            answer = qa["answer"]
            texts = " ".join(turns[d][1]["text"] for d in qa["evidence"])
            if qa["category"] == 1:
                parts = [p.strip() for p in answer.split(",")]
                assert len(parts) >= 2 and all(p in texts for p in parts), qa
            elif qa["category"] == 2:
                assert GOLD_DATE.match(answer), qa
                session, turn = turns[qa["evidence"][0]]
                phrase = next(p for p in [*V.RELATIVE_OFFSETS, *(f"last {d}" for d in V.WEEKDAYS)]
                              if p in turn["text"])
                day = _session_day(sample, session)
                if phrase.startswith("last "):
                    back = (day.weekday() - V.WEEKDAYS.index(phrase[5:])) % 7 or 7
                    expected = day - dt.timedelta(days=back)
                else:
                    expected = day + dt.timedelta(days=V.RELATIVE_OFFSETS[phrase])
                assert answer == f"{expected.day} {expected:%B} {expected.year}", qa
            elif qa["category"] == 3:
                assert len(qa["evidence"]) >= 2
                assert answer in texts
            else:
                assert answer in texts, qa


def test_knowledge_updates_change_over_time(small):
    for sample in small:
        turns = _turns(sample)
        for qa in sample["qa"]:
            if qa["category"] == 3 and "live now" in qa["question"]:
                sessions = sorted(turns[d][0] for d in qa["evidence"])
                latest = max(qa["evidence"], key=lambda d: turns[d][0])
                assert sessions[0] < sessions[-1]
                assert qa["answer"] in turns[latest][1]["text"]


def test_small_talk_carries_no_facts(small):
    vocab = [w.lower() for w in (*V.CITIES, *V.JOBS, *V.ANIMALS, *V.HOBBIES, *V.PET_NAMES,
                                 *V.FEMALE_RELATIONS, *V.MALE_RELATIONS, "yesterday", " ago")]
    chatter = {t for pair in V.SMALL_TALK for t in pair} | set(V.REACTIONS) | set(V.PROMPTS) \
        | set(V.GREETINGS) | set(V.GREETING_REPLIES) | {t for p in V.CLOSINGS for t in p}
    for line in chatter:
        low = line.lower()
        assert not [w for w in vocab if re.search(rf"\b{re.escape(w)}\b", low)], line
    evidence = {(s["sample_id"], d) for s in small for qa in s["qa"] for d in qa["evidence"]}
    small_talk = {(s["sample_id"], d) for s in small for d, (_, t) in _turns(s).items()
                  if t["text"] in chatter}
    assert len(small_talk) > 3 * len(evidence) / 2  # plenty of filler
    assert not small_talk & evidence


def test_write_locomo_json_round_trip(tmp_path):
    path = write_locomo_json(tmp_path / "synth.json", "tiny", 5)
    loaded = LocomoTask.from_file(path, test=0)
    direct = DialogSynthTask(size="tiny", seed=5, test=0)
    assert [it.question for g in loaded.groups("all") for it in g.items] == \
        [it.question for g in direct.groups("all") for it in g.items]


def test_task_contract_and_categories():
    task = DialogSynthTask(size="tiny")
    assert isinstance(task, Task)
    assert task.name == "dialog-synth" and task.mode == "qa"
    assert task.category_names == SYNTH_CATEGORIES
    assert task.category_names["3"] == "knowledge-update"
    groups = task.groups("all")
    assert len(groups) == 2
    episode = groups[0].episodes[0]
    assert DATE_TIME.match(episode.text.splitlines()[0].strip("[]"))
    assert re.match(r"^[A-Z][a-z]+: ", episode.text.splitlines()[1])
    item = groups[0].items[0]
    assert item.evidence and all(line.startswith("[") for line in item.evidence)
    val = {it.id for g in task.groups("val") for it in g.items}
    test = {it.id for g in task.groups("test") for it in g.items}
    assert val and test and not val & test
    assert task.describe()["data_seed"] == 0


def test_registry_parses_string_arguments():
    assert {"dialog-synth", "locomo"} <= set(TASKS)
    assert TASKS["dialog-synth"].description and TASKS["locomo"].description
    assert TASKS["dialog-synth"].mode == TASKS["locomo"].mode == "qa"
    task = make_task("dialog-synth", {"size": "tiny", "seed": "3", "categories": "2,5",
                                      "test": "4", "scorer": "squad"})
    items = [it for g in task.groups("all") for it in g.items]
    assert {it.category for it in items} == {"2", "5"}
    assert sum(len(g.items) for g in task.groups("test")) == 4
    assert task.describe()["scorer"] == "squad"
    assert make_task("dialog-synth", {"size": "tiny", "conversations": "1"}).describe()[
        "conversations"] == ["synth-0-0"]


@pytest.mark.parametrize("name,args,needle", [
    ("twx-nope", {}, "unknown task 'twx-nope'; choose from: "),
    ("dialog-synth", {"sise": "tiny"}, "unknown argument 'sise'; valid: size, seed"),
    ("dialog-synth", {"size": "huge"}, "bad value for size: 'huge'; choose from: tiny, small"),
    ("dialog-synth", {"seed": "zero"}, "bad value for seed"),
    ("dialog-synth", {"categories": "1,9"}, "bad value for categories: '9'"),
    ("dialog-synth", {"test": "-3"}, "bad value for test"),
    ("dialog-synth", {"scorer": "bleu"}, "bad value for scorer: 'bleu'; choose from: locomo"),
])
def test_registry_errors_are_one_line(name, args, needle):
    with pytest.raises(UsageError) as info:
        make_task(name, args)
    assert needle in str(info.value) and "\n" not in str(info.value)


# ---------------------------------------------------------------- the hard size


def test_hard_size_has_headroom_by_construction():
    from evolve.tasks.synth import phrasing, pools
    from evolve.tasks.synth.world import SIZES

    assert SIZES["hard"].sessions >= 30
    assert all(len(forms) >= 10 for forms in phrasing.TEMPLATES.values())
    for kind in ("move", "job_change", "relative_move"):  # updates never say "now"
        assert not any(re.search(r"\bnow\b", t) for t in phrasing.TEMPLATES[kind])
    main, held = pools.MAIN, pools.HELD_OUT
    words = lambda p: {w.lower() for f in vars(p).values() for v in f  # noqa: E731
                       for w in (v if isinstance(v, tuple) else (v,))}
    assert not words(main) & words(held)  # the held-out pool shares no entry with main
    samples = generate_samples("hard")
    used = {s["conversation"]["speaker_a"] for s in samples} | \
        {s["conversation"]["speaker_b"] for s in samples}
    assert len(used) <= len(main.speakers) // 5  # one run sees a small sample of the pool
    items = [qa for s in samples for qa in s["qa"]]
    assert sum(qa["category"] == 5 for qa in items) <= 0.1 * len(items)
    assert any(qa["question"].startswith("How many") for qa in items)  # aggregation
    updates = [qa["question"] for qa in items if qa["category"] == 3]
    assert updates and not any(" now" in q for q in updates)


def test_held_out_pool_gives_other_words_same_structure():
    main = generate_samples("hard", conversations=1)
    held = generate_samples("hard", conversations=1, pool="held-out")
    assert main[0]["conversation"]["speaker_a"] != held[0]["conversation"]["speaker_a"]
    assert held[0]["sample_id"] == "synth-held-out-0-0"
    with pytest.raises(UsageError, match="needs size=hard"):
        generate_samples("small", pool="held-out")
    with pytest.raises(UsageError, match="bad value for pool"):
        generate_samples("hard", pool="nope")
