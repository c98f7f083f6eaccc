"""One evaluation as picklable data (``EvalJob``), what comes back (a ``NewEvaluation``, the
lineage store's write record), and ``run_job``, which runs a job wherever an executor sends it.

A job carries the program source, the subset's groups, the task's name and arguments and the
typed ``[models]`` section, so a remote worker rebuilds the task and a model hub locally; the
executors (``executors``, ``clusters``) only decide where ``run_job`` is called.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..config.sections import ModelsSection
from ..lineage.writes import NewEvaluation
from ..tasks.base import Group
from .evaluate import EvalSettings, evaluate_program
from .subset_task import SubsetTask

if TYPE_CHECKING:
    from ..llm.hub import ModelHub


@dataclass(frozen=True)
class EvalJob:
    """One evaluation to run: everything a worker needs, as picklable data."""

    program_id: str
    source: str
    subset: str
    groups: tuple[Group, ...]
    task_name: str
    task_args: tuple[tuple[str, str], ...]
    settings: EvalSettings
    models: ModelsSection = field(default_factory=ModelsSection)  # the config's [models]
    # a caller's task and model objects (Python API), used instead of the names above
    task_object: Any = None
    model_objects: dict[str, Any] = field(default_factory=dict)


# the name executors' results had before they became the store's write record
JobResult = NewEvaluation


@functools.lru_cache(maxsize=8)
def _task(name: str, args: tuple[tuple[str, str], ...]) -> Any:
    from ..tasks.registry import make_task

    return make_task(name, dict(args))


_WORKER_HUBS: dict[str, Any] = {}


def _worker_hub(models: ModelsSection) -> Any:
    """One model hub per worker process and model settings (built on first use)."""
    import json
    from dataclasses import asdict

    from ..llm.hub_setup import hub_from_models, response_cache_path

    key = json.dumps(asdict(models), sort_keys=True)
    if key not in _WORKER_HUBS:
        _WORKER_HUBS[key] = hub_from_models(models, response_cache_path(models.cache, None))
    return _WORKER_HUBS[key]


def run_job(job: EvalJob, hub: ModelHub | None = None) -> NewEvaluation:
    """Run one evaluation (in this process; ``hub`` defaults to a worker-local one)."""
    from .records import new_evaluation

    base = job.task_object if job.task_object is not None else _task(job.task_name,
                                                                     job.task_args)
    task = SubsetTask(base, {job.subset: list(job.groups)})
    settings = replace(job.settings, split=job.subset)  # keeps protocol, env workers, ...
    if hub is None:
        from ..llm.hub_setup import with_model_objects

        models = job.models
        hub = with_model_objects(_worker_hub(models), job.model_objects, toolkit=models.toolkit,
                                 judge=models.judge, reflector=models.reflector)
    return new_evaluation(evaluate_program(job.source, task, hub, settings))
