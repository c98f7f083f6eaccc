"""A campaign's record and its fixed data: static validation set, episode subset, reflection
pool, test.

The record (config, seed names and sources) is written before any setup work, so a campaign
stopped at any moment can be resumed. The subsets are chosen next (k-means over question
embeddings for the static set, facility location for episodes) and added to the record; a
campaign stopped before that chooses them on resume, deterministically, with the same result;
later resumes rebuild them from the recorded ids, so no embedding or sampling runs again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..config.sections import CampaignConfig
from ..evaluation.subset_task import SubsetTask, restrict
from ..tasks.base import Group, Task

if TYPE_CHECKING:
    from ..llm.hub import ModelHub


@dataclass
class CampaignData:
    """The fixed subsets of one campaign, as recorded."""

    static_items: list[str]
    static_episodes: list[str]
    reflection_pool: list[str]
    test_items: list[str]

    def to_record(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> CampaignData:
        return cls(**{k: list(record[k]) for k in
                      ("static_items", "static_episodes", "reflection_pool", "test_items")})


SEED_SOURCES = "seed_sources"  # state key: [[name, source], ...] of the seeds, in order


def record_campaign(store: Any, campaign_id: str, config: CampaignConfig,
                    seeds: list[tuple[str, str]], task_object_name: str | None = None) -> None:
    """Write a new campaign's record: everything a resume needs before the setup's work
    (a campaign given a task object records that task's name, and no task arguments)."""
    import platform

    from ..config.load import config_to_dict
    from ..version import __version__

    store.add_campaign(
        campaign_id, name=config.campaign.name, task=task_object_name or config.task.name,
        task_args={} if task_object_name else dict(config.task.args),
        protocol=config.campaign.protocol,
        config=config_to_dict(config), seeds=[name for name, _ in seeds], subsets=None,
        versions={"evolve": __version__, "python": platform.python_version()},
        rng_seed=config.campaign.seed)
    store.set_state(campaign_id, SEED_SOURCES, [list(seed) for seed in seeds])


def _all_items(groups: list[Group]) -> list:
    return [item for group in groups for item in group.items]


def choose_data(task: Task, config: CampaignConfig, hub: ModelHub) -> CampaignData:
    """Choose the campaign's subsets (deterministic for the config's seed)."""
    from .strata import category_shares, select_static_val_stratified
    from .subsets import select_episodes, select_static_val

    seed = config.campaign.seed
    val_groups = task.groups("val")
    val_items = _all_items(val_groups)
    if not val_items:
        raise ValueError("the task's validation split is empty")
    vectors = hub.embed([item.question for item in val_items])
    test_groups = task.groups("test")
    if config.data.stratify == "test":
        shares = category_shares(_all_items(test_groups)) or category_shares(val_items)
        static = select_static_val_stratified(val_items, vectors, config.data.val_size, seed,
                                              shares)
    else:
        static = select_static_val(val_items, vectors, config.data.val_size, seed)
    static_set = set(static)
    episodes = [e for g in val_groups for e in g.episodes]
    episode_vectors = hub.embed([e.text for e in episodes]) if episodes else np.zeros((0, 1))
    vectors_by_id = {e.id: episode_vectors[i] for i, e in enumerate(episodes)}
    kept = select_episodes(val_groups, static, vectors_by_id, config.data.episode_ratio, seed)
    train_items = [item.id for item in _all_items(task.groups("train"))]
    pool = [item.id for item in val_items if item.id not in static_set] + train_items
    test_items = [item.id for item in _all_items(test_groups)]
    if config.data.test_size and len(test_items) > config.data.test_size:
        rng = np.random.default_rng([seed, 7])
        picked = set(rng.choice(len(test_items), config.data.test_size, replace=False).tolist())
        test_items = [item for i, item in enumerate(test_items) if i in picked]
    return CampaignData(static_items=list(static),
                        static_episodes=[e.id for e in episodes if e.id in set(kept)],
                        reflection_pool=pool, test_items=test_items)


def build_subset_task(task: Task, data: CampaignData) -> tuple[SubsetTask, dict[str, list[str]]]:
    """The campaign's task view with the "static" and "test" subsets registered."""
    static_groups = restrict(task.groups("val"), set(data.static_items), set(data.static_episodes))
    test_groups = restrict(task.groups("test"), set(data.test_items))
    subset_task = SubsetTask(task, {"static": static_groups, "test": test_groups})
    return subset_task, {"static": list(data.static_items), "test": list(data.test_items)}


def reflection_groups(task: Task, item_ids: list[str]) -> list[Group]:
    """Groups for a reflection subset: its items, with every episode of their groups."""
    wanted = set(item_ids)
    groups = [*task.groups("val"), *task.groups("train")]
    return restrict(groups, wanted)
