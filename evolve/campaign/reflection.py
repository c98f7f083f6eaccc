"""What the meta-agent sees for one child: the parent, its lineage, sampled failed and
successful cases of its reflection evaluation, and the ablation switches."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..config.sections import CampaignConfig
from ..lineage import LineageStore
from ..lineage.records import EvaluationRecord, read_traces
from ..meta.base import ReflectionContext
from ..tasks.base import Task
from .pool import lineage_log, snapshot
from .subsets import pick_failed_cases


def reflection_context(store: LineageStore, config: CampaignConfig, task: Task,
                       iteration: int, rng: np.random.Generator, parent: Any, other: Any,
                       reflection: EvaluationRecord, history_before: int | None = None
                       ) -> ReflectionContext:
    """The context of one child; its draws come from ``rng`` (the slot's seeded generator).
    The parent's lineage lists the children tried before round ``history_before`` (default:
    this round; a steady schedule passes the round its pool is read at) and, unscored, those
    first proposed in the rounds from ``history_before`` up to this one (still in flight; the
    steady schedule builds the context only once those rounds' proposals are all stored).
    The reflection's traces are read back from the store, so a fresh evaluation and one a
    resumed campaign finds give the same cases."""
    history = iteration if history_before is None else history_before
    case_seed = int(rng.integers(2**31))
    failed, success = pick_failed_cases(read_traces(store, reflection.id), config.data.failed_cases,
                                        config.data.success_cases, case_seed)
    return ReflectionContext(
        parent=snapshot(store, parent.program_id),
        lineage=lineage_log(store, parent.program_id, history, pending=range(history, iteration)),
        failed_cases=tuple(failed), success_cases=tuple(success),
        write_example=reflection.write_example,
        category_names=dict(task.category_names), iteration=iteration,
        seed=int(rng.integers(2**31)),
        freeze_instructions=config.search.freeze_instructions,
        freeze_code=config.search.freeze_code,
        other=snapshot(store, other.program_id) if other else None)
