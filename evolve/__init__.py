"""evolve: evolutionary search over memory programs for LLM agents.

The trusted side of the system: command line, tasks, models, the task agent, gates and the
sandbox supervisor. Code that runs inside the jail lives in the separate ``evolve_sandbox``
package (the repository's ``sandbox/`` directory) and never imports this package.

The public Python API is what ``__all__`` lists (docs/api.md): run, resume and read campaigns,
evaluate a program, and the Protocols a task, parent selector, meta-agent, stopper, executor
or model implements to be passed in place of a configured name. Names are imported on first
use, so ``import evolve`` (and the command line's start) stays cheap.
"""

from __future__ import annotations

from .version import __version__

# not typing.TYPE_CHECKING: importing typing would add ~5 ms to every command's start
TYPE_CHECKING = False

# public name -> module defining it
_EXPORTS: dict[str, str] = {
    # running, resuming, reading, evaluating
    "run_campaign": "evolve.api_campaign",
    "resume_campaign": "evolve.api_campaign",
    "load_config": "evolve.api_campaign",
    "open_run": "evolve.api_runs",
    "Run": "evolve.api_runs",
    "evaluate_program": "evolve.api_evaluate",
    "Campaign": "evolve.campaign.loop",
    "CampaignOutcome": "evolve.campaign.loop",
    "CampaignConfig": "evolve.config.sections",
    "EvalResult": "evolve.evaluation.evaluate",
    "UsageError": "evolve.errors",
    # typed records of a run
    "CampaignRecord": "evolve.lineage.records",
    "ProgramRecord": "evolve.lineage.records",
    "EvaluationRecord": "evolve.lineage.records",
    "ItemRecord": "evolve.lineage.records",
    "EventRecord": "evolve.lineage.records",
    # extension points (Protocols) and what their methods take and return
    "Task": "evolve.tasks.base",
    "Episode": "evolve.tasks.base",
    "EvalItem": "evolve.tasks.base",
    "Group": "evolve.tasks.base",
    "ScoreResult": "evolve.tasks.base",
    "TaskArg": "evolve.tasks.base",
    "assign_splits": "evolve.tasks.splits",
    "check_split": "evolve.tasks.splits",
    "ParentSelector": "evolve.strategies.selectors",
    "PoolEntry": "evolve.strategies.selectors",
    "MetaAgent": "evolve.meta.base",
    "ReflectionContext": "evolve.meta.base",
    "ProgramSnapshot": "evolve.meta.base",
    "Proposal": "evolve.meta.base",
    "Stopper": "evolve.strategies.stoppers",
    "CampaignStatus": "evolve.strategies.stoppers",
    "Executor": "evolve.evaluation.executors",
    "EvalJob": "evolve.evaluation.executors",
    "JobResult": "evolve.evaluation.executors",
    "run_job": "evolve.evaluation.executors",
    "ChatModel": "evolve.llm.base",
    "Completion": "evolve.llm.base",
    "Embedder": "evolve.llm.base",
    "ProgressCallback": "evolve.campaign.progress",
    "ProgressEvent": "evolve.campaign.progress",
}

# kept equal to _EXPORTS by tests/api/test_api.py; a literal so that tools can read it
__all__ = [
    "__version__", "run_campaign", "resume_campaign", "load_config", "open_run", "Run",
    "evaluate_program", "Campaign", "CampaignOutcome", "CampaignConfig", "EvalResult",
    "UsageError", "CampaignRecord", "ProgramRecord", "EvaluationRecord", "ItemRecord",
    "EventRecord", "Task", "Episode", "EvalItem", "Group", "ScoreResult", "TaskArg",
    "assign_splits", "check_split", "ParentSelector", "PoolEntry", "MetaAgent",
    "ReflectionContext", "ProgramSnapshot", "Proposal", "Stopper", "CampaignStatus", "Executor",
    "EvalJob", "JobResult", "run_job", "ChatModel", "Completion", "Embedder",
    "ProgressCallback", "ProgressEvent",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'evolve' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # what type checkers and IDEs see; at run time names load on first use
    from typing import Any

    from .api_campaign import load_config, resume_campaign, run_campaign
    from .api_evaluate import evaluate_program
    from .api_runs import Run, open_run
    from .campaign.loop import Campaign, CampaignOutcome
    from .campaign.progress import ProgressCallback, ProgressEvent
    from .config.sections import CampaignConfig
    from .errors import UsageError
    from .evaluation.evaluate import EvalResult
    from .evaluation.executors import EvalJob, Executor, JobResult, run_job
    from .lineage.records import (
        CampaignRecord,
        EvaluationRecord,
        EventRecord,
        ItemRecord,
        ProgramRecord,
    )
    from .llm.base import ChatModel, Completion, Embedder
    from .meta.base import MetaAgent, ProgramSnapshot, Proposal, ReflectionContext
    from .strategies.selectors import ParentSelector, PoolEntry
    from .strategies.stoppers import CampaignStatus, Stopper
    from .tasks.base import Episode, EvalItem, Group, ScoreResult, Task, TaskArg
    from .tasks.splits import assign_splits, check_split
