"""ALFWorld task: tiny PDDL games built here (no downloaded data), played through the harness.

Skipped when the optional extra (``alfworld`` + ``textworld[pddl]``) is not installed.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from evolve.errors import UsageError
from evolve.tasks.registry import make_task

HAVE_ALFWORLD = all(importlib.util.find_spec(m) is not None
                    for m in ("alfworld", "textworld", "fast_downward"))
needs_alfworld = pytest.mark.skipif(
    not HAVE_ALFWORLD, reason="optional extra missing: pip install 'evolve-memory[alfworld]' "
                              "(alfworld + textworld[pddl])")

# A kitchen with three receptacles; the mug starts in ``start`` and must reach the
# coffee machine ("put a mug in coffeemachine", pick_and_place_simple).
_PROBLEM = """(define (problem plan_tiny)
(:domain alfred)
(:objects
agent1 - agent
MugType - otype
CoffeeMachineType - rtype
CounterTopType - rtype
CabinetType - rtype
Mug_bar__plus_01 - object
CoffeeMachine_bar__plus_01 - receptacle
CounterTop_bar__plus_01 - receptacle
Cabinet_bar__plus_01 - receptacle
loc_bar_start - location
loc_bar_1 - location
loc_bar_2 - location
loc_bar_3 - location
)
(:init
(atLocation agent1 loc_bar_start)
(receptacleAtLocation CounterTop_bar__plus_01 loc_bar_1)
(receptacleAtLocation CoffeeMachine_bar__plus_01 loc_bar_2)
(receptacleAtLocation Cabinet_bar__plus_01 loc_bar_3)
(receptacleType CounterTop_bar__plus_01 CounterTopType)
(receptacleType CoffeeMachine_bar__plus_01 CoffeeMachineType)
(receptacleType Cabinet_bar__plus_01 CabinetType)
(openable Cabinet_bar__plus_01)
(objectType Mug_bar__plus_01 MugType)
(pickupable Mug_bar__plus_01)
(inReceptacle Mug_bar__plus_01 START)
(objectAtLocation Mug_bar__plus_01 START_LOC)
(canContain CoffeeMachineType MugType)
(canContain CounterTopType MugType)
(canContain CabinetType MugType)
)
(:goal (exists (?r - receptacle) (exists (?o - object) (and (inReceptacle ?o ?r)
(objectType ?o MugType) (receptacleType ?r CoffeeMachineType)))))
)
"""
_START = {"cabinet": ("Cabinet_bar__plus_01", "loc_bar_3"),
          "countertop": ("CounterTop_bar__plus_01", "loc_bar_1")}


def build_game(root: Path, split: str, name: str, start: str = "cabinet") -> Path:
    """One json_2.1.1-style game directory: traj_data.json + game.tw-pddl."""
    import alfworld.info as info

    folder = root / split / f"pick_and_place_simple-Mug-None-CoffeeMachine-{name}" / "trial_T1"
    folder.mkdir(parents=True)
    traj = {"task_type": "pick_and_place_simple",
            "pddl_params": {"object_target": "Mug", "parent_target": "CoffeeMachine",
                            "toggle_target": "", "mrecep_target": "", "object_sliced": False}}
    (folder / "traj_data.json").write_text(json.dumps(traj))
    receptacle, location = _START[start]
    problem = _PROBLEM.replace("START_LOC", location).replace("START", receptacle)
    # ALFWorld fills "UNKNOWN GOAL" from random templates; a fixed text keeps the test exact
    grammar = Path(info.ALFRED_TWL2_PATH).read_text().replace("UNKNOWN GOAL",
                                                              "put a mug in coffeemachine")
    game = {"pddl_domain": Path(info.ALFRED_PDDL_PATH).read_text(), "grammar": grammar,
            "pddl_problem": problem, "solvable": True}
    (folder / "game.tw-pddl").write_text(json.dumps(game))
    return folder / "game.tw-pddl"


@pytest.fixture(scope="module")
def game_dir(tmp_path_factory) -> Path:
    if not HAVE_ALFWORLD:
        pytest.skip("optional extra missing")
    root = tmp_path_factory.mktemp("alfworld")
    build_game(root, "valid_train", "1", "cabinet")
    build_game(root, "valid_train", "2", "countertop")
    build_game(root, "valid_seen", "3", "cabinet")
    build_game(root, "valid_unseen", "4", "countertop")
    return root


@pytest.fixture(scope="module")
def task(game_dir):
    return make_task("alfworld", {"path": str(game_dir), "step_timeout": "60"})


def test_missing_directory_is_a_clear_usage_error(tmp_path):
    with pytest.raises(UsageError) as err:
        make_task("alfworld", {"path": str(tmp_path / "nowhere")})
    message = str(err.value)
    assert "alfworld" in message
    assert "not found" in message or "extra" in message


def test_path_is_required():
    with pytest.raises(UsageError, match="path"):
        make_task("alfworld", {})


@needs_alfworld
def test_empty_split_directory_names_the_layout(tmp_path):
    build_game(tmp_path, "valid_train", "1")
    with pytest.raises(UsageError, match="valid_seen"):
        make_task("alfworld", {"path": str(tmp_path)})


@needs_alfworld
def test_expert_episodes_and_items(task):
    groups = task.groups("val")
    assert len(groups) == 1
    group = groups[0]
    # memory falls back to valid_train; both hand-coded expert runs reach the goal
    assert len(group.episodes) == 2
    text = group.episodes[0].text
    assert text.startswith("Your task is to: put a mug in coffeemachine")
    assert "> move mug 1 to coffeemachine 1" in text
    (item,) = group.items
    assert item.category == "pick"
    assert task.category_names["pick"] == "pick_and_place_simple"
    assert "put a mug in coffeemachine" in item.question
    assert item.meta["env"] == "alfworld"
    assert [g.items[0].id for g in task.groups("test")] != [item.id]  # splits differ
    assert task.groups("train") == []


@needs_alfworld
def test_play_with_oracle_and_with_memory(task):
    from evolve.evaluation.evaluate import EvalSettings, evaluate_program
    from evolve.llm.factory import build_hub
    from evolve.seeds import seed_source

    hub = build_hub(model="offline", embedder="hashing")
    source = seed_source("trajectory_retrieval")
    oracle = evaluate_program(source, task, hub, EvalSettings(split="val", oracle=True))
    assert oracle.status == "ok" and oracle.score == 1.0
    played = evaluate_program(source, task, hub, EvalSettings(split="test"))
    assert played.status == "ok", played.error
    trace = played.items[0]
    assert trace.answer.splitlines()[0].startswith("Your task is to:")
    assert "[episode end:" in trace.answer
    assert played.per_category == {"pick": played.score}
