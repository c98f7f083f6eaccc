"""Objects a Python caller gives a campaign in place of the config's names.

``Campaign(config, run_dir, task=..., selector=..., ...)`` (and ``evolve.run_campaign``) take a
task, a parent selector, a meta-agent, model objects per role, extra stoppers and an executor.
Names stay what the config holds; a model given by name is folded into the config's
``[models]`` section, so it is recorded and resumed like one written in the TOML file.

Resume exactness: a config records names, not objects. A campaign run with objects records
each object's class path in its state (key ``python_objects``), and resuming it requires the
same kinds of objects again, of the same classes -- from Python, since the command line has
none to give. The executor is left out of that check: where evaluations run never changes
what they give (``evolve.config.resume``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config.sections import CampaignConfig
from ..errors import UsageError
from ..objects import check_picklable, class_path, require

STATE_KEY = "python_objects"
CHAT_ROLES = ("task", "toolkit", "judge", "reflector")
MODEL_ROLES = (*CHAT_ROLES, "embedder")
REMOTE_EXECUTORS = ("processes", "dask", "ray")


@dataclass(frozen=True)
class UserParts:
    """The caller's objects (None / empty: built from the config as usual)."""

    task: Any = None
    selector: Any = None
    meta_agent: Any = None
    models: Mapping[str, Any] = field(default_factory=dict)  # role -> model object
    stoppers: tuple[Any, ...] = ()
    executor: Any = None

    def class_paths(self) -> dict[str, Any]:
        """What the campaign records of them: ``{part: class path}`` (stoppers: a list)."""
        paths: dict[str, Any] = {}
        for name in ("task", "selector", "meta_agent", "executor"):
            value = getattr(self, name)
            if value is not None:
                paths[name] = class_path(value)
        paths.update({f"models.{role}": class_path(obj) for role, obj in self.models.items()})
        if self.stoppers:
            paths["stoppers"] = [class_path(s) for s in self.stoppers]
        return paths

    def check_sendable(self, executor: str) -> None:
        """The task and model objects travel with every evaluation job: an executor that runs
        jobs in other processes needs them picklable (TypeError naming the object if not)."""
        if self.executor is not None or executor not in REMOTE_EXECUTORS:
            return
        if self.task is not None:
            check_picklable(self.task, "task", executor)
        for role, obj in self.models.items():
            check_picklable(obj, f"{role} model", executor)


def user_parts(config: CampaignConfig, *, task: Any = None, selector: Any = None,
               meta_agent: Any = None, models: Mapping[str, Any] | None = None,
               stoppers: Iterable[Any] | None = None, executor: Any = None
               ) -> tuple[CampaignConfig, UserParts]:
    """The config with every *name* given here folded in (``task``, ``selector``,
    ``meta_agent``, ``executor``, ``models`` entries that are strings; validated as in a TOML
    file), and the
    *objects*, each checked against its Protocol (TypeError naming what is missing) and, for
    an executor running jobs in other processes, for being picklable."""
    models = dict(models or {})
    unknown = sorted(set(models) - set(MODEL_ROLES))
    if unknown:
        raise TypeError(f"unknown model role(s) {', '.join(unknown)}; roles: "
                        f"{', '.join(MODEL_ROLES)}")
    names: dict[str, dict[str, Any]] = {}
    for section, key, value in (("task", "name", task), ("search", "selector", selector),
                                ("search", "meta_agent", meta_agent),
                                ("parallel", "executor", executor),
                                *(("models", role, value) for role, value in models.items())):
        if isinstance(value, str):
            names.setdefault(section, {})[key] = value
    if names:
        from ..config.load import _build, config_to_dict

        raw = config_to_dict(config)
        for section, values in names.items():
            if section == "task" and values["name"] != config.task.name:
                raw["task"]["args"] = {}  # the config's arguments were for its own task
            raw[section].update(values)
        config = _build(raw, lambda _key: "Python arguments")
    listed = tuple(stoppers or ())
    parts = UserParts(
        task=None if task is None or isinstance(task, str) else require(task, "task"),
        selector=None if selector is None or isinstance(selector, str)
        else require(selector, "selector"),
        meta_agent=None if meta_agent is None or isinstance(meta_agent, str)
        else require(meta_agent, "meta_agent"),
        models={role: require(obj, "embedder" if role == "embedder" else "chat model")
                for role, obj in models.items() if not isinstance(obj, str)},
        stoppers=tuple(require(stopper, "stopper") for stopper in listed),
        executor=None if executor is None or isinstance(executor, str)
        else require(executor, "executor"))
    parts.check_sendable(config.parallel.executor)
    return config, parts


def record_parts(store: Any, campaign_id: str, parts: UserParts) -> None:
    """Keep the class paths of the caller's objects with the campaign (nothing if none)."""
    paths = parts.class_paths()
    if paths:
        store.set_state(campaign_id, STATE_KEY, paths)


def _listing(paths: Mapping[str, Any]) -> str:
    return ", ".join(f"{key}={', '.join(value) if isinstance(value, list) else value}"
                     for key, value in paths.items())


def check_resumed_parts(recorded: Mapping[str, Any] | None, parts: UserParts,
                        run_dir: Path) -> None:
    """UsageError unless ``parts`` has an object of the recorded class for every part the
    campaign was run with, and none it was run without (the executor may differ)."""
    wanted = {k: v for k, v in dict(recorded or {}).items() if k != "executor"}
    given = {k: v for k, v in parts.class_paths().items() if k != "executor"}
    if wanted == given:
        return
    if not given:
        raise UsageError(
            f"the campaign in {run_dir} was run with Python objects ({_listing(wanted)}); "
            f"resume it from Python with the same objects: evolve.resume_campaign("
            f"{str(run_dir)!r}, {', '.join(sorted({k.split('.')[0] + '=...' for k in wanted}))})")
    if not wanted:
        raise UsageError(f"the campaign in {run_dir} was run from its config alone; resuming "
                         f"it with objects ({_listing(given)}) would change its results")
    differ = sorted(set(wanted) ^ set(given) | {k for k in wanted if given.get(k) != wanted[k]})
    raise UsageError(
        f"the campaign in {run_dir} was run with {_listing({k: wanted.get(k, '(none)') for k in differ})}"
        f"; resuming it with {_listing({k: given.get(k, '(none)') for k in differ})} would "
        f"change its results")
