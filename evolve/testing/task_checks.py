"""``check_task``: the contract of ``evolve.Task`` (``evolve/tasks/base.py``) on a live task."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import Any

from ..tasks.base import Episode, EvalItem, Group, ScoreResult, needs_judge
from .failure import Rules

SPLITS = ("train", "val", "test")
MODES = ("qa", "interactive")
Judge = Callable[..., str]


def check_task(task: Any, *, judge: Judge | None = None, max_items: int = 12) -> list[str]:
    """Check ``task`` against the ``evolve.Task`` contract; the rules checked, in order.

    Reads every split twice and scores up to ``max_items`` items (of "val" and "test") with
    their gold answer, an empty one and "not mentioned", each twice. A task that sets
    ``needs_judge`` is scored with ``judge`` (``judge(messages, json_mode=False) -> str``),
    by default the deterministic offline stand-in judge. Raises ``ConformanceError`` (an
    ``AssertionError``) naming the first broken rule.
    """
    rules = Rules("task", task)
    rules.members("task")
    _attributes(rules, task)
    by_split = {split: _groups(rules, task, split) for split in SPLITS}
    _splits_are_disjoint(rules, by_split)
    items = [item for split in ("val", "test") for group in by_split[split]
             for item in group.items][:max_items]
    if needs_judge(task) and judge is None:
        judge = _offline_judge()
    for item in items:
        for answer in (item.gold, "", "not mentioned"):
            _scores(rules, task, item, answer, judge)
    return rules.checked


def _attributes(rules: Rules, task: Any) -> None:
    rules.require(isinstance(task.name, str) and bool(task.name.strip()),
                  "name is a non-empty string", f"name = {task.name!r}")
    rules.require(task.mode in MODES, "mode is 'qa' or 'interactive'", f"mode = {task.mode!r}")
    names = task.category_names
    rules.require(isinstance(names, dict) and all(isinstance(k, str) and isinstance(v, str)
                                                  for k, v in names.items()),
                  "category_names maps category keys (str) to names (str)",
                  lambda: f"category_names = {names!r}"[:300])
    described = rules.call("describe() returns a dict for the records", task.describe)
    rules.require(isinstance(described, dict), "describe() returns a dict for the records",
                  f"returned {type(described).__name__}")
    try:
        json.dumps(described)
    except (TypeError, ValueError) as exc:
        rules.require(False, "describe() is JSON (it is stored with the run)", str(exc))
    rules.require(True, "describe() is JSON (it is stored with the run)", "")


def _groups(rules: Rules, task: Any, split: str) -> list[Group]:
    rule = f"groups({split!r}) returns a list of Group"
    first = rules.call(rule, task.groups, split)
    rules.require(isinstance(first, list) and all(isinstance(g, Group) for g in first), rule,
                  lambda: f"returned {_shape(first)}")
    for group in first:
        _group_shape(rules, group, rule)
    again = rules.call(rule, task.groups, split)
    rules.require(again == first, "groups(split) is deterministic (the same groups every call)",
                  lambda: f"two calls of groups({split!r}) differ: {_first_difference(first, again)}")
    if split == "val":
        rules.require(any(group.items for group in first),
                      "the 'val' split has items (a campaign validates programs on them)",
                      "groups('val') holds no item")
    return first


def _group_shape(rules: Rules, group: Group, rule: str) -> None:
    rules.require(isinstance(group.id, str) and bool(group.id), rule,
                  f"a group's id is {group.id!r}, not a non-empty string")
    rules.require(all(isinstance(e, Episode) and isinstance(e.text, str)
                      for e in group.episodes), rule,
                  f"group {group.id!r}: every episode is an Episode with text (str)")
    rules.require(all(isinstance(i, EvalItem) and isinstance(i.question, str)
                      and isinstance(i.gold, str) and isinstance(i.category, str)
                      for i in group.items), rule,
                  f"group {group.id!r}: every item is an EvalItem with str question, gold and "
                  f"category")
    ids = [item.id for item in group.items]
    rules.require(len(ids) == len(set(ids)), "item ids are unique",
                  lambda: f"group {group.id!r} repeats item id(s) "
                          f"{sorted({i for i in ids if ids.count(i) > 1})[:5]}")


def _splits_are_disjoint(rules: Rules, by_split: dict[str, list[Group]]) -> None:
    items = {split: {item.id for group in groups for item in group.items}
             for split, groups in by_split.items()}
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        shared = items[a] & items[b]
        rules.require(not shared, "items of different splits never overlap",
                      lambda a=a, b=b, shared=shared:  # type: ignore[misc]
                      f"{len(shared)} item(s) in both {a!r} and {b!r}, e.g. {sorted(shared)[:3]}")
    episodes: dict[str, tuple[str, tuple[Episode, ...]]] = {}
    for split, groups in by_split.items():
        for group in groups:
            seen = episodes.setdefault(group.id, (split, group.episodes))
            rules.require(seen[1] == group.episodes,
                          "a group keeps all of its episodes in every split",
                          f"group {group.id!r} has {len(seen[1])} episode(s) in {seen[0]!r} "
                          f"but {len(group.episodes)} (or others) in {split!r}")


def _scores(rules: Rules, task: Any, item: EvalItem, answer: str, judge: Judge | None) -> None:
    rule = "score(item, answer) returns a ScoreResult in [0, 1]"

    def score() -> Any:
        if needs_judge(task):
            return task.score(item, answer, judge=judge)
        return task.score(item, answer)

    first = rules.call(rule, score)
    rules.require(isinstance(first, ScoreResult) and isinstance(first.score, (int, float))
                  and math.isfinite(first.score) and 0.0 <= first.score <= 1.0, rule,
                  lambda: f"item {item.id!r}, answer {answer!r}: returned {first!r}"[:300])
    again = rules.call(rule, score)
    rules.require(again == first, "score(item, answer) is pure (the same result every call)",
                  f"item {item.id!r}, answer {answer!r}: {first!r} then {again!r}"[:300])


def _offline_judge() -> Judge:
    from ..llm.offline import OfflineModel

    model = OfflineModel()

    def judge(messages: list[dict[str, str]], json_mode: bool = False) -> str:
        return model.reply(messages, json_mode=json_mode)  # type: ignore[arg-type]
    return judge


def _shape(value: Any) -> str:
    if isinstance(value, Sequence) and not isinstance(value, str):
        kinds = sorted({type(v).__name__ for v in value})
        return f"{type(value).__name__} of {', '.join(kinds) or 'nothing'}"
    return type(value).__name__


def _first_difference(first: list[Group], again: list[Group]) -> str:
    if len(first) != len(again):
        return f"{len(first)} groups, then {len(again)}"
    for a, b in zip(first, again, strict=True):
        if a != b:
            what = "items" if a.items != b.items else "episodes" if a.episodes != b.episodes \
                else "id"
            return f"group {a.id!r}: its {what} changed"
    return "the groups differ"
