"""Interactive mode: action mapping, the offline action picker, environment workers with
timeouts, and the episode loop inside ``evaluate_program`` (offline and online protocols).

A toy environment (a key that belongs in the box) is written to a temporary module so the
worker subprocess can import it; no JVM or game data is needed.
"""

from __future__ import annotations

import json
import os
import pickle
import textwrap
import time

import pytest

from evolve.agent.interactive import map_action
from evolve.evaluation.evaluate import EvalSettings, evaluate_program
from evolve.evaluation.subset_task import SubsetTask
from evolve.llm.factory import build_hub
from evolve.llm.offline import OfflineModel
from evolve.llm.offline.action import parse_tips, pick_action
from evolve.llm.offline.fill import FieldSpec
from evolve.llm.offline.transcript import fill_transcript_item, is_transcript
from evolve.tasks.base import Episode, EvalItem, Group
from evolve.tasks.envs import (
    ENV_KINDS,
    EnvFailed,
    EnvPool,
    EnvProcess,
    EnvTimeout,
    register_env,
)
from evolve.tasks.transcripts import render_transcript, score_outcome

TOY_ENV = textwrap.dedent('''
    import time
    from evolve.tasks.envs import Observation

    class ToyEnv:
        """Tidy up: the key belongs in the box (the bag is wrong)."""

        def __init__(self, hang_on=""):
            self.hang_on = hang_on

        def _obs(self, text):
            actions = ["look"] + (["put key in bag", "put key in box"] if self.held
                                  else [] if self.done else ["take key"])
            return Observation(text, tuple(actions), "Tidy up the room.", 1.0 if self.won
                               else 0.0, self.done, self.won)

        def reset(self, variant=0):
            self.held = self.done = self.won = False
            return self._obs(f"Room {variant}. You see a key, a box and a bag.")

        def step(self, action):
            if action == self.hang_on:
                time.sleep(600)
            if action == "take key":
                self.held = True
                return self._obs("You take the key.")
            if action.startswith("put key in "):
                self.held, self.done = False, True
                self.won = action.endswith("box")
                return self._obs("You put the key in the " + action.rsplit(" ", 1)[1] + ".")
            return self._obs("Nothing special.")

        def expert_actions(self):
            return ["take key", "put key in box"]

        def close(self):
            pass
''')


@pytest.fixture(scope="module", autouse=True)
def toy_kind(tmp_path_factory):
    """Register the toy environment kind, importable by worker subprocesses."""
    folder = tmp_path_factory.mktemp("toyenv")
    (folder / "toy_env_module.py").write_text(TOY_ENV)
    old_path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(folder), old_path) if p)
    register_env("toy", "toy_env_module:ToyEnv")
    yield "toy"
    ENV_KINDS.pop("toy", None)
    if old_path is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = old_path


def expert_transcript(variant: int) -> str:
    return render_transcript("Tidy up the room.",
                             f"Room {variant}. You see a key, a box and a bag.",
                             [("take key", "You take the key."),
                              ("put key in box", "You put the key in the box.")])


def toy_item(variant: int, **options) -> EvalItem:
    return EvalItem(
        id=f"toy-{variant}", question=f"Your task is to: Tidy up the room.\nRoom {variant}.",
        gold="key in box", category="toy", evidence=(expert_transcript(variant),),
        meta={"env": "toy", "env_options": options, "reset": {"variant": variant},
              "max_steps": 6, "step_timeout": 2.0})


class ToyTask:
    name = "toy"
    mode = "interactive"
    category_names = {"toy": "toy"}

    def __init__(self, items, episodes=()):
        self._group = Group("g", tuple(episodes), tuple(items))

    def groups(self, split):
        return [self._group]

    def score(self, item, answer):
        return score_outcome(answer)

    def describe(self):
        return {"name": self.name}


RECORDER = textwrap.dedent('''
    from dataclasses import dataclass

    INSTRUCTION_KNOWLEDGE_ITEM = "Summarise the episode."
    INSTRUCTION_QUERY = "Copy the task."
    INSTRUCTION_RESPONSE = "Follow the tips."
    ALWAYS_ON_KNOWLEDGE = "ALWAYS-ON"

    @dataclass
    class KnowledgeItem:
        summary: str = ""

    @dataclass
    class Query:
        question: str = ""

    class KnowledgeBase:
        def __init__(self, toolkit):
            self.texts, self.outcomes, self.reads = [], [], 0

        def write(self, item, raw_text):
            self.texts.append(raw_text)

        def observe(self, outcome):
            self.outcomes.append(outcome.get("success"))

        def read(self, query):
            self.reads += 1
            head = f"reads={self.reads} writes={len(self.texts)} outcomes={self.outcomes}"
            return (head + "\\n" + "\\n\\n".join(self.texts))[:3000]
''')


@pytest.fixture(scope="module")
def hub():
    return build_hub(model="offline", embedder="hashing")


# -------------------------------------------------------------------------- pure functions


def test_map_action_exact_then_substring_then_first():
    actions = ["look", "put key in box", "take key"]
    assert map_action("Take Key.", actions) == "take key"
    assert map_action("> put key in box", actions) == "put key in box"
    assert map_action("I will now put key in box because it belongs there", actions) == \
        "put key in box"
    assert map_action("key in", actions) == "put key in box"  # reply inside an action
    assert map_action("dance", actions) == "look"
    assert map_action("anything", []) == ""


def test_tips_are_parsed_into_ordered_steps():
    blocks = parse_tips("Your task is to: tidy\n> take key\n> put key in box\n\n"
                        "## Workflow: tidy\n1. take {object}\n2. put {object} in {box}")
    assert [b.steps for b in blocks] == [["take key", "put key in box"],
                                         ["take {object}", "put {object} in {box}"]]


def _prompt(tips: str, history: str, actions: list[str], goal: str = "Tidy up the room.") -> str:
    return (f"<goal>\n{goal}\n</goal>\n<tips>\n{tips}\n</tips>\n<history>\n{history}\n"
            f"</history>\n<admissible_actions>\n" + "\n".join(actions) +
            "\n</admissible_actions>")


def test_picker_follows_tips_and_placeholders():
    actions = ["look", "put key 2 in bag 1", "put key 2 in box 1"]
    with_tips = _prompt("> take key 2\n> put key 2 in box 1", "> take key 2\nYou take it.",
                        actions)
    assert pick_action(with_tips) == "put key 2 in box 1"
    workflow = _prompt("## Workflow: tidy\n1. take {key}\n2. put {key} in {box}",
                       "> take key 2\nYou take it.", actions)
    assert pick_action(workflow) == "put key 2 in box 1"
    # without tips the generic policy puts the key somewhere (the first receptacle)
    assert pick_action(_prompt("", "> take key 2\nYou take it.", actions)) == \
        "put key 2 in bag 1"


def test_picker_generalises_receptacles_by_object_words():
    actions = ["put dirty red dress in bench", "put dirty red dress in laundry basket"]
    tips = "> put dirty white shirt in laundry basket\n> put clean plate in dishwasher"
    assert pick_action(_prompt(tips, "> take dirty red dress", actions)) == \
        "put dirty red dress in laundry basket"


def test_picker_follows_a_recipe_with_learned_appliances():
    history = ("> read cookbook\nIngredients: red apple Directions: chop the red apple "
               "roast the red apple prepare meal\n> take red apple\nYou take it.\n"
               "> take knife\nYou take it.\n> chop red apple\nDone.")
    actions = ["cook red apple in oven", "cook red apple in stove", "prepare meal"]
    tips = "Directions: fry the carrot\n> cook carrot in stove\nroast the egg\n> cook egg in oven"
    goal = "Check the cookbook for the recipe."
    assert pick_action(_prompt(tips, history, actions, goal)) == "cook red apple in oven"
    done = history + "\n> cook red apple in oven\nYou roast it."
    assert pick_action(_prompt(tips, done, ["prepare meal", "take red apple"], goal)) == \
        "prepare meal"


def test_offline_model_dispatches_action_and_transcript_prompts():
    model = OfflineModel()
    reply = model.reply([{"role": "user", "content": _prompt("> take key", "", ["look",
                                                                                "take key"])}])
    assert reply == "take key"
    text = expert_transcript(1)
    assert is_transcript(text)
    fields = [FieldSpec("goal", "str", False, ""), FieldSpec("steps", "list", False, ""),
              FieldSpec("insights", "list", False, ""), FieldSpec("summary", "str", False, "")]
    item = fill_transcript_item(fields, text)
    assert item["steps"] == ["take key", "put key in box"]
    assert item["insights"] == ["take key", "put key in box"]
    assert item["goal"].startswith("Tidy up the room.")
    assert "put key in box" in item["summary"]


def test_items_pickle_and_outcomes_score():
    item = toy_item(1)
    assert pickle.loads(pickle.dumps(item)) == item
    assert score_outcome(json.dumps({"success": True, "steps": 2})).score == 1.0
    assert score_outcome(json.dumps({"success": True, "error": "x"})).score == 0.0
    assert score_outcome("not json").score == 0.0


# -------------------------------------------------------------------------- workers


def test_env_process_plays_and_reports_errors():
    env = EnvProcess("toy", {})
    try:
        first = env.reset({"variant": 3})
        assert first.text.startswith("Room 3") and first.admissible == ("look", "take key")
        assert env.expert_actions() == ["take key", "put key in box"]
        assert env.step("take key").admissible[-1] == "put key in box"
        assert env.step("put key in box").won
        with pytest.raises(EnvFailed):
            env.reset({"nonsense": 1})  # the environment raised: reported, worker lives on
        assert env.alive
    finally:
        env.close()
    assert not env.alive
    with pytest.raises(EnvFailed, match="unknown environment kind"):
        EnvProcess("no-such-kind").reset({})


def test_hung_environment_is_killed_on_timeout():
    env = EnvProcess("toy", {"hang_on": "take key"}, step_timeout=0.5)
    env.reset({})
    started = time.monotonic()
    with pytest.raises(EnvTimeout):
        env.step("take key")
    assert time.monotonic() - started < 5
    assert not env.alive  # killed with its process group
    env.close()


def test_pool_bounds_workers_and_reuses_them():
    with EnvPool(1) as pool:
        with pool.lease("toy", {}) as first:
            first.reset({})
            pid = first._proc.pid
        with pool.lease("toy", {}) as second:
            assert second._proc.pid == pid  # the idle worker was reused
            second.reset({})


# -------------------------------------------------------------------------- evaluation


def test_offline_protocol_reads_once_and_memory_matters(hub):
    items = [toy_item(v) for v in range(3)]
    episodes = [Episode(f"e{v}", expert_transcript(v)) for v in range(10, 12)]
    task = ToyTask(items, episodes)
    result = evaluate_program(RECORDER, task, hub, EvalSettings(concurrency=3))
    assert result.status == "ok", result.error
    assert result.score == 1.0 and result.per_category == {"toy": 1.0}
    trace = result.items[0]
    assert trace.retrieved.startswith("reads=")  # one read per episode, before acting
    assert trace.answer.startswith("Your task is to: Tidy up the room.")
    assert "> put key in box" in trace.answer and "[episode end: success" in trace.answer
    action_prompt = trace.prompts["action"][-1]["content"]
    for tag in ("<goal>", "<tips>", "ALWAYS-ON", "<history>", "<admissible_actions>",
                "Follow the tips."):
        assert tag in action_prompt
    empty = evaluate_program(RECORDER, ToyTask(items), hub, EvalSettings())
    assert empty.score == 0.0  # no experience: the key goes into the bag


def test_hung_episode_scores_zero_without_hanging(hub):
    task = ToyTask([toy_item(0, hang_on="take key"), toy_item(1)],
                   [Episode("e", expert_transcript(9))])
    started = time.monotonic()
    result = evaluate_program(RECORDER, task, hub, EvalSettings(concurrency=2))
    assert time.monotonic() - started < 30
    hung, fine = result.items
    assert hung.score == 0.0 and "did not answer" in (hung.error or "")
    assert fine.score == 1.0
    assert result.score == 0.5


def test_online_protocol_writes_and_observes_each_episode(hub):
    task = ToyTask([toy_item(v) for v in range(3)], [Episode("e", expert_transcript(9))])
    result = evaluate_program(RECORDER, task, hub, EvalSettings(protocol="online"))
    assert result.status == "ok", result.error
    heads = [t.retrieved.splitlines()[0] for t in result.items]
    assert heads == ["reads=1 writes=1 outcomes=[True]",
                     "reads=2 writes=2 outcomes=[True, True]",
                     "reads=3 writes=3 outcomes=[True, True, True]"]
    # a played transcript was written: the second episode sees the first one's actions
    assert "Room 0." in result.items[1].retrieved


def test_subset_task_of_an_interactive_task_runs_unchanged(hub):
    task = ToyTask([toy_item(v) for v in range(2)], [Episode("e", expert_transcript(9))])
    group = task.groups("val")[0]
    subset = SubsetTask(task, {"static": [pickle.loads(pickle.dumps(group))]})
    assert subset.mode == "interactive"
    result = evaluate_program(RECORDER, subset, hub, EvalSettings(split="static"))
    assert result.status == "ok" and result.n_items == 2 and result.score == 1.0


def test_a_failed_action_call_fails_its_episode_only_and_is_not_learnt(tmp_path):
    """Over HTTP: the action prompts of episode 1 get HTTP 400; episodes 0 and 2 play on."""
    from fakes import FakeOpenAIServer
    from fakes.task_replies import TaskReplies, rejected

    task = ToyTask([toy_item(v) for v in range(3)], [Episode("e", expert_transcript(9))])
    replies = TaskReplies([("other", "Room 1.", rejected())])
    with FakeOpenAIServer(responder=replies) as server:
        hub = build_hub(model="fake-chat", base_url=server.url, embedder="hashing",
                        cache_path="off")
        result = evaluate_program(RECORDER, task, hub, EvalSettings(protocol="online"))
    assert replies.fired[0] == 1  # the episode ended at its first failed call
    assert result.status == "ok" and result.failed_items == 1, result.error
    first, failed, last = result.items
    assert failed.score == 0.0 and failed.failure.startswith("action call failed:")
    assert "HTTP 400" in failed.failure and failed.rationale.startswith("item failed:")
    assert first.score == 1.0 and last.score == 1.0
    # the failed episode was neither written nor observed
    assert last.retrieved.splitlines()[0] == "reads=3 writes=2 outcomes=[True, True]"
