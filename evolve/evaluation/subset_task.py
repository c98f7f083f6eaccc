"""A task restricted to fixed item/episode subsets, so every program of a campaign is
evaluated on exactly the same data.

``SubsetTask.groups(name)`` serves named subsets ("static", "reflect:3", "test") that the
campaign set up once and recorded; scoring and category names come from the wrapped task.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..tasks.base import EvalItem, Group, ScoreResult, Task


def restrict(groups: Iterable[Group], item_ids: set[str],
             episode_ids: set[str] | None = None) -> list[Group]:
    """Groups holding only the chosen items (and episodes), original order, empty groups out."""
    kept: list[Group] = []
    for group in groups:
        items = tuple(item for item in group.items if item.id in item_ids)
        if not items:
            continue
        episodes = group.episodes if episode_ids is None else tuple(
            e for e in group.episodes if e.id in episode_ids)
        kept.append(Group(group.id, episodes, items))
    return kept


class SubsetTask:
    """Delegates to ``task`` but serves the campaign's fixed subsets by name."""

    def __init__(self, task: Task, subsets: dict[str, list[Group]]) -> None:
        self._task = task
        self._subsets = dict(subsets)
        self.name = task.name
        self.mode = task.mode
        self.category_names = task.category_names
        # LLM-judged tasks are scored with the evaluation's judge (see evolve.evaluation.evaluate)
        self.needs_judge = bool(getattr(task, "needs_judge", False))

    def add_subset(self, name: str, groups: list[Group]) -> None:
        self._subsets[name] = groups

    def subset_names(self) -> list[str]:
        """Names of the subsets currently served."""
        return list(self._subsets)

    def remove_subset(self, name: str) -> None:
        """Forget a subset that is no longer evaluated (a round's reflection subset)."""
        self._subsets.pop(name, None)

    def groups(self, split: str) -> list[Group]:  # type: ignore[override]
        return list(self._subsets[split])

    def score(self, item: EvalItem, answer: str, **kwargs: Any) -> ScoreResult:
        return self._task.score(item, answer, **kwargs)

    def describe(self) -> dict[str, Any]:
        return self._task.describe()
