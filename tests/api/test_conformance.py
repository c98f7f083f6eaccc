"""``evolve.testing``: the conformance checks pass on every built-in task, selector and
meta-agent, and fail, naming the broken rule, on parts that break their contract."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from evolve.llm.base import Completion
from evolve.llm.hub import ModelHub
from evolve.meta.base import Proposal
from evolve.meta.llm_agent import LLMMetaAgent
from evolve.meta.offline.mutator import OfflineMutator
from evolve.registry import SELECTORS
from evolve.strategies.selectors import make_selector
from evolve.tasks.registry import make_task
from evolve.testing import (
    ConformanceError,
    MetaAgentCases,
    SelectorCases,
    TaskCases,
    check_meta_agent,
    check_selector,
    check_task,
)
from evolve.testing.meta_checks import sample_contexts

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


# -- built-in parts pass ------------------------------------------------------------------------
def _jsonl_task(tmp_path: Path):
    items = tmp_path / "items.jsonl"
    items.write_text("".join(json.dumps(row) + "\n" for row in [
        {"id": f"q{n}", "group": "kim", "question": f"What did Kim buy on day {n}?",
         "answer": f"item {n}", "category": "fact"} for n in range(5)] + [
        {"id": "q5", "group": "kim", "question": "How was Kim's week?", "split": "val",
         "rubric": [{"criterion": "Says Kim bought items", "points": 5}]}]))
    episodes = tmp_path / "episodes.jsonl"
    episodes.write_text("".join(json.dumps(row) + "\n" for row in [
        {"id": f"e{n}", "group": "kim", "text": f"Day {n}: Kim bought item {n}."}
        for n in range(6)]))
    return make_task("jsonl", {"items": str(items), "episodes": str(episodes), "test": "0.34"})


BUILTIN_TASKS = {
    "dialog-synth": lambda tmp: make_task("dialog-synth", {"size": "tiny"}),
    "locomo": lambda tmp: make_task("locomo", {"path": str(FIXTURES / "locomo_mini.json")}),
    "longmemeval": lambda tmp: make_task("longmemeval", {
        "path": str(FIXTURES / "longmemeval_mini.json"), "test": "2"}),
    "healthbench": lambda tmp: make_task("healthbench", {"path": str(FIXTURES / "healthbench")}),
    "prbench": lambda tmp: make_task("prbench", {"path": str(FIXTURES / "prbench"),
                                                 "test": "0.3", "train": "0"}),
    "jsonl": _jsonl_task,
    "plugin (examples/byo_task)": lambda tmp: make_task("plugin", {
        "plugin": str(FIXTURES.parents[1] / "examples" / "byo_task" / "plugin_task.py"),
        "options": "days=6;seed=2"}),
}


@pytest.mark.parametrize("name", sorted(BUILTIN_TASKS))
def test_builtin_tasks_pass(name, tmp_path):
    rules = check_task(BUILTIN_TASKS[name](tmp_path))
    assert "items of different splits never overlap" in rules
    assert "score(item, answer) is pure (the same result every call)" in rules


@pytest.mark.parametrize("name", SELECTORS.builtin_names)
def test_builtin_selectors_pass(name):
    rules = check_selector(make_selector(name))
    assert rules[-1] == "select raises ValueError on an empty pool"
    assert "select draws randomness only from rng" in rules


@pytest.mark.parametrize("policy", ["diagnosis", "random"])
def test_offline_mutator_passes(policy):
    assert "the same context gives the same proposal (deterministic)" in check_meta_agent(
        OfflineMutator(policy=policy))


class ScriptedChat:
    """A reflector model that always gives the same reply."""

    def __init__(self, reply: str) -> None:
        self.name = "scripted"
        self.reply = reply

    def complete(self, messages, *, json_mode=False, temperature=0.0, max_tokens=None):
        return Completion(self.reply)


def _llm_agent(reply: str) -> LLMMetaAgent:
    chat = ScriptedChat(reply)
    return LLMMetaAgent(ModelHub({"reflector": chat, "task": chat}), mode="full")


def test_llm_meta_agent_passes_with_good_and_useless_replies():
    parent = sample_contexts()[0].parent.source
    full = f"COMMIT MESSAGE: Return 7 chunks\n\nPROGRAM:\n```python\n" \
           f"{parent.replace('TOP_K = 5', 'TOP_K = 7')}```\n"
    assert "a proposed program is a whole module, not a diff or a part" in check_meta_agent(
        _llm_agent(full))
    rules = check_meta_agent(_llm_agent("I would rather not."))  # every reply is unusable
    assert "a Proposal without a program says why (error)" in rules


# -- broken parts fail, naming the rule ---------------------------------------------------------
def _fails(check, part, rule: str) -> ConformanceError:
    with pytest.raises(ConformanceError) as caught:
        check(part)
    assert caught.value.rule == rule, str(caught.value)
    assert rule in str(caught.value) and isinstance(caught.value, AssertionError)
    return caught.value


class Wrapped:
    """dialog-synth tiny with one thing changed by a subclass."""

    def __init__(self) -> None:
        self.inner = make_task("dialog-synth", {"size": "tiny"})
        self.name, self.mode = "wrapped", "qa"
        self.category_names = dict(self.inner.category_names)

    def groups(self, split):
        return self.inner.groups(split)

    def score(self, item, answer):
        return self.inner.score(item, answer)

    def describe(self):
        return {"task": self.name}


class ShuffledGroups(Wrapped):
    def groups(self, split):
        groups = list(self.inner.groups(split))
        random.shuffle(groups)  # a different order on every call
        return [replace(g, items=tuple(random.sample(g.items, len(g.items)))) for g in groups]


class LeakyTest(Wrapped):
    def groups(self, split):
        return self.inner.groups("val" if split == "test" else split)


class OutOfRange(Wrapped):
    def score(self, item, answer):
        result = self.inner.score(item, answer)
        return replace(result, score=result.score * 100)


class Impure(Wrapped):
    calls = 0

    def score(self, item, answer):
        self.calls += 1
        return replace(self.inner.score(item, answer), rationale=f"call {self.calls}")


class NotJson(Wrapped):
    def describe(self):
        return {"task": self.name, "loaded": object()}


class Nameless(Wrapped):
    def __init__(self) -> None:
        super().__init__()
        self.name = ""


@pytest.mark.parametrize("task,rule", [
    (ShuffledGroups, "groups(split) is deterministic (the same groups every call)"),
    (LeakyTest, "items of different splits never overlap"),
    (OutOfRange, "score(item, answer) returns a ScoreResult in [0, 1]"),
    (Impure, "score(item, answer) is pure (the same result every call)"),
    (NotJson, "describe() is JSON (it is stored with the run)"),
    (Nameless, "name is a non-empty string"),
])
def test_broken_tasks_fail_on_their_rule(task, rule):
    random.seed(0)
    _fails(check_task, task(), rule)


def test_a_task_without_a_method_fails_naming_it():
    class NoScore:
        name, mode, category_names = "x", "qa", {}

        def groups(self, split):
            return []

        def describe(self):
            return {}

    error = _fails(check_task, NoScore(), "has the Protocol's methods and attributes")
    assert "score()" in error.detail


class CopySelector:
    def select(self, pool, rng):
        return replace(pool[int(rng.integers(len(pool)))])  # an equal copy, not the entry


class GlobalRandom:
    def select(self, pool, rng):
        return pool[random.randrange(len(pool))]


class NumpyGlobal:
    def select(self, pool, rng):
        return pool[int(np.random.randint(len(pool)))]


class Sorter:
    def select(self, pool, rng):
        pool.sort(key=lambda e: -e.score)  # reorders the caller's list
        return pool[0]


class NoEmptyCheck:
    def select(self, pool, rng):
        return pool[0] if pool else None


@pytest.mark.parametrize("selector,rule", [
    (CopySelector, "select(pool, rng) returns an entry of the pool"),
    (GlobalRandom, "select draws randomness only from rng"),
    (NumpyGlobal, "select draws randomness only from rng"),
    (Sorter, "select never mutates the pool"),
    (NoEmptyCheck, "select raises ValueError on an empty pool"),
])
def test_broken_selectors_fail_on_their_rule(selector, rule):
    _fails(check_selector, selector(), rule)


class Agent:
    """Raises TOP_K; subclasses break one rule."""

    name = "agent"

    def propose(self, context):
        return Proposal(context.parent.source.replace("TOP_K = 5", "TOP_K = 6"), "TOP_K 6",
                        self.name)

    def fix(self, context, source, stage, message, attempt):
        return Proposal(None, "", self.name, error=f"cannot fix {stage}")

    def repair(self, context, source, violation):
        return Proposal(None, "", self.name, origin="repair", error=violation)


class Raises(Agent):
    def propose(self, context):
        raise RuntimeError("the model said something odd")


class SilentGiveUp(Agent):
    def fix(self, context, source, stage, message, attempt):
        return Proposal(None, "", self.name)


class Diff(Agent):
    def repair(self, context, source, violation):
        return Proposal("-TOP_K = 5\n+TOP_K = 4\n", "smaller", self.name, origin="repair")


class Moody(Agent):
    def propose(self, context):
        return Proposal(context.parent.source, f"try {random.random()}", self.name)


@pytest.mark.parametrize("agent,rule", [
    (Raises, "propose() returns a Proposal and never raises"),
    (SilentGiveUp, "a Proposal without a program says why (error)"),
    (Diff, "a proposed program is a whole module, not a diff or a part"),
    (Moody, "the same context gives the same proposal (deterministic)"),
])
def test_broken_meta_agents_fail_on_their_rule(agent, rule):
    _fails(check_meta_agent, agent(), rule)


def test_a_sampling_meta_agent_can_skip_the_determinism_rule():
    rules = check_meta_agent(Moody(), deterministic=False)
    assert "the same context gives the same proposal (deterministic)" not in rules
    assert check_meta_agent(Agent())[:2] == ["has the Protocol's methods and attributes",
                                             "name is a non-empty string"]


# -- the pytest base classes: each subclass below is collected and runs its check -------------
class TestSoftmaxThroughTheBaseClass(SelectorCases):
    def make_selector(self):
        return make_selector("softmax")


class TestDialogSynthThroughTheBaseClass(TaskCases):
    def make_task(self):
        return make_task("dialog-synth", {"size": "tiny"})


class TestOfflineMutatorThroughTheBaseClass(MetaAgentCases):
    def make_meta_agent(self):
        return OfflineMutator()


def test_a_base_class_fails_on_a_broken_part():
    class Broken(SelectorCases):
        def make_selector(self):
            return GlobalRandom()

    with pytest.raises(ConformanceError, match="select draws randomness only from rng"):
        Broken().test_selector_contract()
    with pytest.raises(NotImplementedError, match="define make_task"):
        TaskCases().test_task_contract()
