"""Evaluate one program from Python (``evolve.evaluate_program``): what ``evolve eval`` does."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import UsageError
from .evaluation.evaluate import EvalResult
from .program.contract import READ_CHAR_CAP

MODEL_ROLES = ("task", "toolkit", "judge", "reflector", "embedder")


def program_source(program: str | os.PathLike[str]) -> str:
    """A program's source from its text (anything with a line break), a ``.py`` path or the
    name of a shipped seed (``evolve seeds``)."""
    if isinstance(program, str) and "\n" in program:
        return program
    from .seeds import resolve_program

    return resolve_program(str(Path(program)))[0]


def evaluate_program(program: str | os.PathLike[str], task: Any,
                     task_args: Mapping[str, str] | None = None, *, split: str = "val",
                     model: Any = "offline", models: Mapping[str, Any] | None = None,
                     embedder: Any = "offline", base_url: str | None = None,
                     cache: str | None = None, concurrency: int = 8, limit: int | None = None,
                     sandbox: str = "auto", protocol: str = "offline", oracle: bool = False,
                     read_cap: int = READ_CHAR_CAP, call_timeout_s: float = 60.0,
                     llm_budget_per_call: int = 1, max_failed_share: float = 0.5) -> EvalResult:
    """Gate and evaluate ``program`` on ``task``; the ``EvalResult`` (``.score``,
    ``.per_category``, ``.items`` traces, ``.summary()`` = ``evolve eval --json``).

    ``program``: source text, a path or a seed name. ``task``: a task name (with
    ``task_args`` as for ``--task-arg``) or an ``evolve.Task`` object. ``model``: the model
    of every role, a name (``"offline"``: the deterministic stand-in) or an
    ``evolve.ChatModel``; ``models`` overrides it per role (``task``, ``toolkit``, ``judge``),
    ``embedder`` is a name or an ``evolve.Embedder``. The other keywords are the options of
    ``evolve eval`` (``cache`` None: in memory offline, the user cache otherwise; "off").
    """
    from .evaluation.evaluate import EvalSettings
    from .evaluation.evaluate import evaluate_program as evaluate
    from .jail import SandboxLimits, resolve_mode
    from .llm.factory import build_hub, preflight
    from .llm.hub_setup import with_model_objects
    from .objects import require
    from .tasks.registry import make_task

    source = program_source(program)
    built_task = make_task(task, dict(task_args or {})) if isinstance(task, str) \
        else make_task(task)
    roles = {"task": model, **dict(models or {}), "embedder": embedder}
    unknown = sorted(set(roles) - set(MODEL_ROLES))
    if unknown:
        raise TypeError(f"unknown model role(s) {', '.join(unknown)}; roles: "
                        f"{', '.join(MODEL_ROLES)}")
    names = {role: value for role, value in roles.items() if isinstance(value, str)}
    objects = {role: require(value, "embedder" if role == "embedder" else "chat model")
               for role, value in roles.items() if not isinstance(value, str)}
    if concurrency < 1 or (limit is not None and limit < 1):
        raise UsageError("concurrency and limit must be >= 1")
    try:
        mode = resolve_mode(sandbox)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    hub = build_hub(model=names.pop("task", "offline"), base_url=base_url,
                    embedder=names.pop("embedder", "offline"), concurrency=concurrency,
                    cache_path=cache, role_models=names)
    if objects:
        hub = with_model_objects(hub, objects, toolkit=names.get("toolkit", ""),
                                 judge=names.get("judge", ""))
    preflight(hub)
    limits = SandboxLimits(call_timeout_s=call_timeout_s, read_char_cap=read_cap,
                           llm_budget_per_call=llm_budget_per_call)
    settings = EvalSettings(split=split, limits=limits, sandbox_mode=mode, oracle=oracle,
                            concurrency=concurrency, max_items=limit, protocol=protocol,
                            max_failed_share=max_failed_share)
    return evaluate(source, built_task, hub, settings)
