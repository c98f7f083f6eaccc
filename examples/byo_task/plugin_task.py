"""Example task plugin: a warehouse delivery log, with its own data generator and scorer.

A plugin is any Python file (or installed entry point, group ``evolve.tasks``) that defines a
factory ``make_task(args) -> Task``; see docs/tasks.md for the contract. Try it with::

    evolve tasks                              # (entry points are listed; files are not)
    evolve eval vector_search --task plugin:examples/byo_task/plugin_task.py --task-arg days=8
    evolve eval vector_search --task plugin \
        --task-arg plugin=examples/byo_task/plugin_task.py --task-arg options="days=8;seed=1"

In a campaign TOML: ``[task] name = "plugin"`` and
``args = { plugin = "examples/byo_task/plugin_task.py", options = "days=8" }``.
"""

from __future__ import annotations

import random
import re
from typing import Any

from evolve import Episode, EvalItem, Group, ScoreResult, TaskArg, assign_splits, check_split

TASK_DESCRIPTION = "warehouse delivery log (example plugin): how many boxes arrived when"
TASK_ARGS = (
    TaskArg("days", "days of log to generate (one episode per day, 2..12)", "8"),
    TaskArg("seed", "data seed: same seed, same log and questions", "0"),
)

GOODS = ("apples", "pears", "lemons", "melons", "plums", "onions", "carrots", "cherries",
         "peaches", "potatoes", "cabbages", "mangoes")
CLERKS = ("Nora", "Omar", "Lise")
NUMBER_WORDS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
                "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}


def first_number(text: str) -> int | None:
    """The first number in ``text`` (digits or a small number word)."""
    for token in re.findall(r"\d+|[a-z]+", text.lower()):
        if token.isdigit():
            return int(token)
        if token in NUMBER_WORDS:
            return NUMBER_WORDS[token]
    return None


class DeliveryLogTask:
    """One memory (the log); one question per delivery; scored by exact number match."""

    mode = "qa"

    def __init__(self, days: int, seed: int) -> None:
        rng = random.Random(seed)
        self.name = "warehouse-log"
        self.category_names = {"count": "boxes delivered on a day"}
        episodes: list[Episode] = []
        items: list[EvalItem] = []
        goods = rng.sample(GOODS, days)  # one kind of goods per day: each question has one answer
        for day, good in enumerate(goods, start=1):
            date = f"{day} June, 2024"
            clerk = rng.choice(CLERKS)
            boxes = rng.randint(2, 40)
            text = (f"[{date}]\n{clerk}: This morning we received {boxes} boxes of {good}.\n"
                    f"{clerk}: The truck was late because of the rain.")
            episodes.append(Episode(id=f"day{day}", text=text))
            items.append(EvalItem(id=f"q{day}", question=f"How many boxes of {good} did "
                                  f"{clerk} receive?", gold=str(boxes), category="count",
                                  evidence=(text,)))
        self._group_episodes = tuple(episodes)
        self._items = items
        self._split = assign_splits([(i.id, i.category) for i in items], seed=seed, test=0.25)

    def groups(self, split: str) -> list[Group]:
        check_split(split)
        items = tuple(i for i in self._items if split == "all" or self._split[i.id] == split)
        return [Group("log", self._group_episodes, items)] if items else []

    def score(self, item: EvalItem, answer: str) -> ScoreResult:
        got = first_number(answer)
        ok = got is not None and got == int(item.gold)
        return ScoreResult(1.0 if ok else 0.0, f"number {got} vs gold {item.gold}")

    def describe(self) -> dict[str, Any]:
        return {"task": self.name, "days": len(self._items)}


def make_task(args: dict[str, str]) -> DeliveryLogTask:
    """Factory called by evolve with the declared TASK_ARGS (strings, defaults filled in)."""
    try:
        days, seed = int(args["days"]), int(args["seed"])
    except ValueError:
        raise ValueError(f"days and seed must be integers, got {args}") from None
    if not 2 <= days <= len(GOODS):
        raise ValueError(f"days must be between 2 and {len(GOODS)}, got {days}")
    return DeliveryLogTask(days, seed)
