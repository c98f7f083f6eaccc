"""Run and resume campaigns from Python (``evolve.run_campaign``, ``evolve.resume_campaign``).

What ``evolve run`` / ``evolve resume`` do, as functions: the config comes from a TOML file, a
``{section: {key: value}}`` dict or a ``CampaignConfig``; any part the config names (task,
parent selector, meta-agent, models per role, executor) can be an object instead, and
stopper objects are added to the config's. Nothing process-wide is left behind: no signal
handler is installed (Ctrl-C raises ``KeyboardInterrupt`` inside the campaign, which records
it and returns an unfinished outcome), and progress goes to a callback, or nowhere.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .campaign.loop import Campaign, CampaignOutcome
from .campaign.progress import ProgressCallback
from .config.sections import CampaignConfig
from .errors import UsageError

ConfigSource = CampaignConfig | Mapping[str, Any] | str | os.PathLike[str]


def load_config(config: ConfigSource, overrides: Iterable[str] = ()) -> CampaignConfig:
    """A validated ``CampaignConfig`` from a TOML path, a ``{section: {key: value}}`` dict
    (the TOML file's tables) or a ``CampaignConfig``, with ``overrides`` applied
    (``"section.key=value"``, as ``evolve run --set``). Bad keys or values raise
    ``UsageError`` with one line naming them (and the file)."""
    from .config import load as config_load

    overrides = list(overrides)
    if isinstance(config, (str, os.PathLike)):
        return config_load.load_config(Path(config), overrides)
    if isinstance(config, CampaignConfig):
        if not overrides:
            return config
        raw: dict[str, Any] = config_load.config_to_dict(config)
    elif isinstance(config, Mapping):
        raw = copy.deepcopy(dict(config))
    else:
        raise TypeError(f"config must be a TOML path, a dict or a CampaignConfig, got "
                        f"{type(config).__name__}")
    origins = {config_load._apply_override(raw, text): f"override {text!r}" for text in overrides}

    def label(dotted: str) -> str:
        for key, where in origins.items():
            if dotted == key or dotted.startswith(key + ".") or key.startswith(dotted + "."):
                return where
        return "config"

    return config_load._build(raw, label)


def run_campaign(config: ConfigSource, run_dir: str | os.PathLike[str] | None = None, *,
                 overrides: Iterable[str] = (), task: Any = None, selector: Any = None,
                 meta_agent: Any = None, models: Mapping[str, Any] | None = None,
                 stoppers: Iterable[Any] | None = None, executor: Any = None,
                 progress: bool | ProgressCallback = False) -> CampaignOutcome:
    """Run a new campaign to its end; what ``evolve run CONFIG`` does.

    ``run_dir`` defaults as for the command line (``campaign.run_dir``, else
    ``runs/<campaign.name>``) and must not hold a campaign yet. Seed paths in a TOML file are
    relative to the file, otherwise to the working directory.

    Objects in place of names (each checked against its Protocol, TypeError if it falls short):
    ``task`` (``evolve.Task``; the config's ``[task]`` is then not used), ``selector``
    (``evolve.ParentSelector``), ``meta_agent`` (``evolve.MetaAgent``), ``models`` (role ->
    ``evolve.ChatModel`` or model name, for roles ``task``, ``toolkit``, ``judge``,
    ``reflector``; ``"embedder"`` -> ``evolve.Embedder`` or name), ``stoppers`` (more
    ``evolve.Stopper``s, checked after the config's), ``executor`` (``evolve.Executor``). A
    string for ``task``, ``selector``, ``executor`` or a model role is a name, as in the config.
    With ``parallel.executor`` processes, dask or ray the task and model objects must be
    picklable. ``progress``: True prints to stderr like the CLI, a callable receives every
    ``evolve.ProgressEvent``, False (default) is quiet.
    """
    source = config
    config = load_config(config, overrides)
    config_dir = (Path(source).resolve().parent if isinstance(source, (str, os.PathLike))
                  else Path.cwd())
    target = Path(run_dir or config.campaign.run_dir or Path("runs") / config.campaign.name)
    campaign = Campaign(config, target, config_dir=config_dir, progress=progress, task=task,
                        selector=selector, meta_agent=meta_agent, models=models,
                        stoppers=stoppers, executor=executor)
    return campaign.run()


def resume_campaign(run_dir: str | os.PathLike[str], *, overrides: Iterable[str] = (),
                    task: Any = None, selector: Any = None, meta_agent: Any = None,
                    models: Mapping[str, Any] | None = None,
                    stoppers: Iterable[Any] | None = None, executor: Any = None,
                    progress: bool | ProgressCallback = False) -> CampaignOutcome:
    """Continue an unfinished campaign exactly where it stopped; what ``evolve resume`` does.

    ``overrides`` may change only settings that leave results unchanged (executor, workers,
    concurrency, timeouts). A campaign run with objects needs objects of the same classes
    again (the executor may differ); one run from its config alone takes none. UsageError
    otherwise, and for a finished campaign.
    """
    import json

    from .config.resume import resume_config
    from .lineage.queries import open_run

    target = Path(run_dir)
    store = open_run(target)
    try:
        record = store.campaign() or {}
    finally:
        store.close()
    if record.get("finished_at") is not None:
        raise UsageError(f"the campaign in {target} already finished "
                         f"({record.get('stop_reason')}); nothing to resume")
    config = resume_config(json.loads(record["config"]), list(overrides))
    campaign = Campaign(config, target, resume=True, progress=progress, task=task,
                        selector=selector, meta_agent=meta_agent, models=models,
                        stoppers=stoppers, executor=executor)
    return campaign.run()
