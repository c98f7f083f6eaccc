"""TextWorldExpress task ``twx``: arguments, deterministic games by seed, disjoint splits,
and episodes played through ``evaluate_program`` with the offline model.

Needs ``textworld-express`` and Java 17 (the ``twx`` extra); skipped otherwise.
"""

from __future__ import annotations

import importlib.util
import shutil

import pytest

from evolve.errors import UsageError
from evolve.tasks.registry import TASKS, make_task

HAVE_TWX = importlib.util.find_spec("textworld_express") is not None and \
    shutil.which("java") is not None
needs_twx = pytest.mark.skipif(not HAVE_TWX, reason="needs the twx extra: pip install "
                                                    "'evolve-memory[twx]' and Java 17 on PATH")


def small(**extra: str) -> dict[str, str]:
    return {"game": "twc", "episodes": "8", "val": "3", "test": "2", "train": "1", **extra}


def test_registered_with_documented_arguments():
    for name in ("twx", "alfworld"):
        spec = TASKS[name]
        assert spec.mode == "interactive"
        assert all(arg.help for arg in spec.args)
    names = {arg.name for arg in TASKS["twx"].args}
    assert {"game", "episodes", "val", "test", "folds", "max_steps", "step_timeout"} <= names


def test_bad_arguments_are_usage_errors():
    with pytest.raises(UsageError, match="game"):
        make_task("twx", {"game": "chess"})
    with pytest.raises(UsageError, match="folds"):
        make_task("twx", {"folds": "random"})
    with pytest.raises(UsageError, match="step_timeout"):
        make_task("twx", {"step_timeout": "0"})
    with pytest.raises(UsageError, match="1000"):
        make_task("twx", {"episodes": "990", "val": "30"})


@pytest.fixture(scope="module")
def task():
    if not HAVE_TWX:
        pytest.skip("twx extra missing")
    return make_task("twx", small())


@needs_twx
def test_groups_are_deterministic_with_disjoint_seeds(task):
    val = task.groups("val")
    assert len(val) == 1
    group = val[0]
    assert 1 <= len(group.episodes) <= 8 and len(group.items) == 3
    seeds = {split: {item.meta["reset"]["seed"] for g in task.groups(split) for item in g.items}
             for split in ("train", "val", "test")}
    memory = {e.meta["seed"] for e in group.episodes}
    assert not (seeds["train"] & seeds["val"] or seeds["val"] & seeds["test"]
                or memory & (seeds["train"] | seeds["val"] | seeds["test"]))
    again = make_task("twx", small()).groups("val")[0]
    assert [e.text for e in again.episodes] == [e.text for e in group.episodes]
    episode = group.episodes[0].text
    assert episode.startswith("Your task is to: pick up objects")
    assert "\n> take " in episode and "\n> put " in episode
    item = group.items[0]
    assert item.category == "twc" and item.question.startswith("Your task is to:")
    assert item.evidence[0].startswith(item.question)  # oracle tips: its own gold transcript
    assert item.meta["max_steps"] == 50
    assert [len(g.items) for g in task.groups("all")] == [6]


@needs_twx
def test_official_folds_use_the_dev_and_test_seed_ranges():
    task = make_task("twx", small(folds="official", episodes="2", train="0"))
    val = task.groups("val")[0].items
    test = task.groups("test")[0].items
    assert {i.meta["reset"]["fold"] for i in val} == {"dev"}
    assert {i.meta["reset"]["fold"] for i in test} == {"test"}
    assert min(i.meta["reset"]["seed"] for i in test) >= 20000


@needs_twx
def test_oracle_tips_solve_and_no_memory_mostly_fails(task):
    from evolve.evaluation.evaluate import EvalSettings, evaluate_program
    from evolve.llm.factory import build_hub
    from evolve.seeds import seed_source

    hub = build_hub(model="offline", embedder="hashing")
    source = seed_source("no_memory")
    oracle = evaluate_program(source, task, hub, EvalSettings(split="val", oracle=True))
    assert oracle.status == "ok" and oracle.score == 1.0
    assert oracle.per_category == {"twc": 1.0}
    trace = oracle.items[0]
    assert trace.rationale.startswith("goal reached")
    assert trace.answer.count("\n> ") <= 50
    blind = evaluate_program(source, task, hub, EvalSettings(split="val"))
    assert blind.status == "ok" and blind.score < 1.0


@needs_twx
@pytest.mark.slow
def test_trajectory_memory_beats_no_memory():
    from evolve.evaluation.evaluate import EvalSettings, evaluate_program
    from evolve.llm.factory import build_hub
    from evolve.seeds import seed_source

    task = make_task("twx", {"game": "twc", "episodes": "60", "val": "12", "test": "0"})
    hub = build_hub(model="offline", embedder="hashing")
    scores = {name: evaluate_program(seed_source(name), task, hub,
                                     EvalSettings(split="val")).score
              for name in ("no_memory", "trajectory_retrieval")}
    assert scores["no_memory"] <= 0.3
    assert scores["trajectory_retrieval"] >= scores["no_memory"] + 0.25
