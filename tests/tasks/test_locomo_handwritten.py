"""The hand-written LoCoMo-format corpus (bench/data/locomo_handwritten.json, issue #15).

The corpus stands in for held-out material: original conversations whose vocabulary the
project never saw. These tests load it through the real ``locomo`` task and check the rules
it was written to: unique turn ids, evidence that exists and carries the gold's words, the
LoCoMo category mix, and no specific word (name, city, job, animal) of the synthetic
generator's pools.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest

from evolve.tasks.locomo import LocomoTask, parse_dia_ids
from evolve.tasks.registry import make_task
from evolve.tasks.synth import pools, vocab

CORPUS = Path(__file__).resolve().parents[2] / "bench" / "data" / "locomo_handwritten.json"
MONTHS = {m: i for i, m in enumerate(vocab.MONTHS, start=1)}
# Words a gold may carry that need not be spelled out in the evidence turn.
FILLER = {"a", "an", "the", "and", "of", "at", "in", "on", "to", "by", "for", "his", "her",
          "their", "from", "with", "no", "yes", "she", "he", "has", "is", "it"}


@pytest.fixture(scope="module")
def data() -> list[dict]:
    return json.loads(CORPUS.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def turns(data) -> dict[str, dict[str, str]]:
    """sample_id -> dia_id -> "date_time|speaker: text" of every turn (as the task renders it)."""
    out: dict[str, dict[str, str]] = {}
    for sample in data:
        conv = sample["conversation"]
        seen: dict[str, str] = {}
        for key, value in conv.items():
            if re.fullmatch(r"session_\d+", key):
                for turn in value:
                    assert turn["dia_id"] not in seen, (sample["sample_id"], turn["dia_id"])
                    seen[turn["dia_id"]] = (f"{conv[key + '_date_time']}|"
                                             f"{turn['speaker']}: {turn['text']}")
        out[sample["sample_id"]] = seen
    return out


def test_loads_through_the_real_task(data):
    task = make_task("locomo", {"path": str(CORPUS), "test": "0.3"})
    assert isinstance(task, LocomoTask)
    groups = task.groups("all")
    assert len(groups) == len(data) >= 4
    assert sum(len(g.items) for g in groups) == sum(len(s["qa"]) for s in data)
    split = task.describe()["n_items"]
    assert split["test"] > 0 and split["val"] > split["test"]
    for group in groups:
        assert 12 <= len(group.episodes) <= 20
        for item in group.items:
            assert item.evidence, item.id  # every evidence id resolves to a turn
            if item.category == "5":
                assert item.gold == "not mentioned" and item.meta["adversarial_answer"]


def test_sessions_turns_speakers_and_dates(data):
    names: list[str] = []
    for sample in data:
        conv = sample["conversation"]
        speakers = {conv["speaker_a"], conv["speaker_b"]}
        names.extend(speakers)
        numbers = sorted(int(k.split("_")[1]) for k in conv if re.fullmatch(r"session_\d+", k))
        assert numbers == list(range(1, len(numbers) + 1))
        dates = [datetime.strptime(conv[f"session_{n}_date_time"], "%I:%M %p on %d %B, %Y")
                 for n in numbers]
        assert dates == sorted(dates) and (dates[-1] - dates[0]).days > 90  # across months
        for n in numbers:
            session = conv[f"session_{n}"]
            assert 8 <= len(session) <= 16, (sample["sample_id"], n)
            assert {t["speaker"] for t in session} == speakers, (sample["sample_id"], n)
            for k, turn in enumerate(session, start=1):
                assert turn["dia_id"] == f"D{n}:{k}" and turn["speaker"] in speakers
    assert len(set(names)) == len(names)  # new people in every conversation


def test_category_mix(data):
    counts = Counter(int(q["category"]) for s in data for q in s["qa"])
    total = sum(counts.values())
    assert total >= 250
    share = {c: counts[c] / total for c in range(1, 6)}
    assert 0.30 <= share[4] <= 0.50 and 0.12 <= share[2] <= 0.28
    assert 0.10 <= share[1] <= 0.22 and 0.03 <= share[3] <= 0.12
    assert 0.12 <= share[5] <= 0.25
    for sample in data:
        assert {int(q["category"]) for q in sample["qa"]} == {1, 2, 3, 4, 5}
        questions = [q["question"] for q in sample["qa"]]
        assert len(set(questions)) == len(questions)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _present(word: str, evidence: str) -> bool:
    """The word, or its stem (first five letters), occurs in the evidence text."""
    return word in evidence or (len(word) > 5 and word[:5] in evidence)


def _gold_dates(gold: str) -> list[date]:
    found = re.findall(r"(\d{1,2}) (?:to \d{1,2} )?([A-Z][a-z]+) (\d{4})", gold)
    return [date(int(y), MONTHS[m], int(d)) for d, m, y in found if m in MONTHS]


def _item_problem(q: dict, turns: dict[str, str]) -> str | None:
    """Why one QA item is not grounded in its evidence turns (None when it is).

    ``turns`` maps the conversation's dia_ids to "date_time|speaker: text".
    """
    ids = [f"D{s}:{t}" for e in q["evidence"] for s, t in parse_dia_ids(e)]
    if not ids or not all(i in turns for i in ids):
        return f"evidence {q['evidence']} names a turn that does not exist"
    cat = int(q["category"])
    if cat == 1 and len(ids) < 2:
        return "a multi-hop item needs two or more evidence turns"
    if cat in (3, 5):
        return None  # inference golds, and adversarial items have none
    evidence = " ".join(turns[i] for i in ids).lower()
    gold = str(q["answer"])
    if cat == 2:
        sessions = [datetime.strptime(turns[i].split("|")[0], "%I:%M %p on %d %B, %Y").date()
                    for i in ids]
        for day in _gold_dates(gold):
            # relative ("last Tuesday") and spelled-out ("on the twentieth") dates of the
            # conversation all resolve within weeks of their line
            if not any(abs((day - s).days) <= 75 for s in sessions):
                return f"date {day} is not derivable from the evidence sessions {sessions}"
        return None if re.search(r"\b20\d\d\b", gold) else "a temporal gold without a year"
    missing = [w for w in _words(gold) if w not in FILLER and not _present(w, evidence)]
    return f"gold words {missing} are not in the evidence" if missing else None


def test_every_gold_is_grounded_in_its_evidence(data, turns):
    problems = [(s["sample_id"], q["question"], why) for s in data for q in s["qa"]
                if (why := _item_problem(q, turns[s["sample_id"]]))]
    assert not problems


def test_the_grounding_check_catches_wrong_items(data, turns):
    sid = data[0]["sample_id"]
    conv = turns[sid]
    single = next(q for q in data[0]["qa"] if int(q["category"]) == 4)
    assert _item_problem(single, conv) is None
    other_turn = next(i for i in conv if i not in single["evidence"] and
                      str(single["answer"]).lower() not in conv[i].lower())
    assert _item_problem({**single, "evidence": [other_turn]}, conv)  # evidence moved
    assert _item_problem({**single, "evidence": ["D99:1"]}, conv)  # evidence nowhere
    assert _item_problem({**single, "category": 1}, conv)  # multi-hop on one turn
    temporal = next(q for q in data[0]["qa"] if int(q["category"]) == 2 and
                    _gold_dates(q["answer"]))
    assert _item_problem(temporal, conv) is None
    assert _item_problem({**temporal, "answer": "3 March 2031"}, conv)  # far from the session


def _specific_pool_words() -> tuple[set[str], set[str]]:
    """(capitalised names matched case-sensitively, common nouns matched in lower case)."""
    names: set[str] = set(vocab.SPEAKER_NAMES) | set(vocab.FEMALE_RELATIVE_NAMES) | \
        set(vocab.MALE_RELATIVE_NAMES) | set(vocab.PET_NAMES)
    nouns: set[str] = {c.lower() for c in vocab.CITIES} | set(vocab.JOBS) | set(vocab.ANIMALS)
    for pool in pools.POOLS.values():
        names |= set(pool.speakers) | set(pool.female_relatives) | set(pool.male_relatives) | \
            set(pool.pet_names)
        nouns |= {c.lower() for c in pool.cities} | set(pool.jobs) | set(pool.animals)
    return names, nouns


def _pool_hits(text: str) -> list[str]:
    """The synthetic pools' names, cities, jobs and animals (or their plurals) in ``text``."""
    names, nouns = _specific_pool_words()
    words = set(re.findall(r"[A-Za-z][A-Za-z'-]*", text))
    hits = sorted(words & names)
    lower = text.lower()
    return hits + [n for n in sorted(nouns) if re.search(rf"\b{re.escape(n)}s?\b", lower)]


def test_no_specific_word_of_the_synthetic_pools(data):
    assert not _pool_hits(json.dumps(data, ensure_ascii=False))


def test_the_pool_check_catches_pool_words():
    assert _pool_hits("My friend Luna moved to Lisbon with two guinea pigs; she is a nurse.") == \
        ["Luna", "guinea pig", "lisbon", "nurse"]
    # words that merely contain a pool word are not hits
    assert _pool_hits("A category of catalogues, a dogged nursery, dogma.") == []
