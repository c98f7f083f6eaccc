"""bench/data/locomo_handwritten.json: a hand-written LoCoMo-format corpus (issue #15 stand-in).

Checks the file loads through the real ``locomo`` task, that its structure follows the rules the
transfer bench relies on (unique turn ids, evidence that exists and actually contains the gold's
key words, LoCoMo's category mix) and that it shares no specific word (names, cities, jobs,
animals) with the synthetic generator's pools, so scores on it measure transfer to vocabulary
the project has never seen.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from evolve.tasks.registry import make_task
from evolve.tasks.synth import vocab
from evolve.tasks.synth.pools import POOLS

CORPUS = Path(__file__).resolve().parents[2] / "bench" / "data" / "locomo_handwritten.json"
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
_SESSION = re.compile(r"^session_(\d+)$")
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
# Words too common to count as a gold's "key words".
_STOP = frozenset("a an the and or of to in on at for by with from her his their its she he "
                  "they it is was be as that this because yes no".split())


@pytest.fixture(scope="module")
def data() -> list[dict[str, Any]]:
    return json.loads(CORPUS.read_text(encoding="utf-8"))


def _turns(conv: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    numbers = sorted(int(m.group(1)) for k in conv if (m := _SESSION.match(k)))
    return [(n, turn) for n in numbers for turn in conv[f"session_{n}"]]


def _session_date(text: str) -> dt.date:
    match = re.search(r"on (\d{1,2}) (\w+), (\d{4})$", text)
    assert match, f"session date {text!r} is not in LoCoMo's '1:56 pm on 8 May, 2023' form"
    return dt.date(int(match.group(3)), _MONTHS.index(match.group(2)) + 1, int(match.group(1)))


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def test_loads_through_the_real_locomo_task(data):
    task = make_task("locomo", {"path": str(CORPUS), "test": "0"})
    groups = task.groups("all")
    assert [g.id for g in groups] == [s["sample_id"] for s in data]
    assert sum(len(g.items) for g in groups) == sum(len(s["qa"]) for s in data)
    for group in groups:
        assert all(item.evidence for item in group.items), "an item lost its evidence lines"


def test_conversation_shape(data):
    assert len(data) >= 4
    speakers: set[str] = set()
    for sample in data:
        conv = sample["conversation"]
        speakers |= {conv["speaker_a"], conv["speaker_b"]}
        sessions = sorted(int(m.group(1)) for k in conv if (m := _SESSION.match(k)))
        assert sessions == list(range(1, len(sessions) + 1))
        assert 12 <= len(sessions) <= 20, sample["sample_id"]
        dates = [_session_date(conv[f"session_{n}_date_time"]) for n in sessions]
        assert dates == sorted(dates) and (dates[-1] - dates[0]).days > 90
        for n in sessions:
            turns = conv[f"session_{n}"]
            assert 8 <= len(turns) <= 16, (sample["sample_id"], n)
            assert {t["speaker"] for t in turns} == {conv["speaker_a"], conv["speaker_b"]}
            assert [t["dia_id"] for t in turns] == [f"D{n}:{k}" for k in range(1, len(turns) + 1)]
    assert len(speakers) == 2 * len(data), "every conversation has two new people"


def test_category_mix(data):
    counts = Counter(q["category"] for s in data for q in s["qa"])
    total = sum(counts.values())
    assert total >= 240
    assert set(counts) == {1, 2, 3, 4, 5}
    share = {c: n / total for c, n in counts.items()}
    assert 0.33 <= share[4] <= 0.48 and 0.15 <= share[2] <= 0.25
    assert 0.10 <= share[1] <= 0.20 and 0.04 <= share[3] <= 0.12
    assert 0.12 <= share[5] <= 0.22
    for sample in data:
        assert 55 <= len(sample["qa"]) <= 85
        assert {q["category"] for q in sample["qa"]} == {1, 2, 3, 4, 5}


def test_every_evidence_id_exists_and_holds_the_gold(data):
    problems: list[object] = []
    for sample in data:
        conv = sample["conversation"]
        text_of = {t["dia_id"]: t["text"] for _, t in _turns(conv)}
        date_of = {t["dia_id"]: _session_date(conv[f"session_{n}_date_time"])
                   for n, t in _turns(conv)}
        for qa in sample["qa"]:
            where = (sample["sample_id"], qa["question"])
            assert qa["evidence"] and all(e in text_of for e in qa["evidence"]), where
            if qa["category"] == 5:
                assert "answer" not in qa and qa["adversarial_answer"].strip(), where
                continue
            gold, evidence = qa["answer"], " ".join(text_of[e] for e in qa["evidence"])
            if qa["category"] == 1:
                assert len(qa["evidence"]) >= 2 or "," in gold, where
            if qa["category"] == 2 and _is_date(gold):
                years = {date_of[e].year for e in qa["evidence"]}
                assert any(y in years or y + 1 in years or y - 1 in years
                           for y in map(int, re.findall(r"\b(\d{4})\b", gold))), where
                continue
            keys = [w for w in _words(gold) if w not in _STOP]
            present = [w for w in keys if w in set(_words(evidence))]
            if qa["category"] == 3:  # inference: the gold need only be grounded in the turns
                if not present:
                    problems.append(where)
            elif present != keys:
                problems.append((where, sorted(set(keys) - set(present))))
    assert not problems, problems


def _is_date(gold: str) -> bool:
    return bool(re.search(r"\b\d{4}\b", gold)) and (
        any(m in gold for m in _MONTHS) or re.fullmatch(r"\d{4}", gold.strip()) is not None)


def _specific_pool_words() -> set[str]:
    """Names, cities, jobs and animals of every synthetic word list (old and new sizes)."""
    words: set[str] = set()
    for pool in POOLS.values():
        for field in ("speakers", "female_relatives", "male_relatives", "pet_names", "cities",
                      "jobs", "animals"):
            words |= {w.lower() for w in getattr(pool, field)}
    for name in ("SPEAKER_NAMES", "FEMALE_RELATIVE_NAMES", "MALE_RELATIVE_NAMES", "PET_NAMES",
                 "CITIES", "JOBS", "ANIMALS"):
        words |= {w.lower() for w in getattr(vocab, name)}
    return words


def test_no_specific_word_of_the_synthetic_pools(data):
    pool_words = _specific_pool_words()
    assert {"lisbon", "luthier", "ferret", "biscuit"} <= pool_words  # the check can fail
    found: set[str] = set()
    for sample in data:
        conv = sample["conversation"]
        texts = [conv["speaker_a"], conv["speaker_b"], *(t["text"] for _, t in _turns(conv))]
        texts += [q["question"] + " " + q.get("answer", q.get("adversarial_answer", ""))
                  for q in sample["qa"]]
        for text in texts:
            tokens = _words(text)
            joined = " " + " ".join(tokens) + " "
            found |= {w for w in pool_words if " " + w + " " in joined}
    assert not found, sorted(found)
