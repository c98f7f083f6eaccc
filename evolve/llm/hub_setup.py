"""Build the model hub a campaign config describes (response cache inside the run dir).

The settings come typed (``evolve.config.sections.ModelsSection``), described here by the
``ModelSettings`` Protocol so that the model layer does not import the config layer above it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .hub import ModelHub


class ModelSettings(Protocol):
    """What a hub is built from: a campaign config's ``[models]`` section (read-only)."""

    @property
    def task(self) -> str: ...
    @property
    def toolkit(self) -> str: ...
    @property
    def judge(self) -> str: ...
    @property
    def reflector(self) -> str: ...
    @property
    def embedder(self) -> str: ...
    @property
    def base_url(self) -> str: ...
    @property
    def api_key_env(self) -> str: ...
    @property
    def concurrency(self) -> int: ...
    @property
    def timeout_s(self) -> float: ...
    @property
    def max_retries(self) -> int: ...
    @property
    def context_window(self) -> int: ...
    @property
    def revision(self) -> str: ...
    @property
    def max_tokens(self) -> Mapping[str, int]: ...
    @property
    def extra_body(self) -> Mapping[str, Mapping[str, Any]]: ...
    @property
    def cache(self) -> str: ...
    @property
    def prices(self) -> Mapping[str, list[float]]: ...


class CampaignSettings(Protocol):
    """A campaign config, as far as its hub is concerned."""

    @property
    def models(self) -> ModelSettings: ...


def build_campaign_hub(config: CampaignSettings, run_dir: Path,
                       objects: Mapping[str, Any] | None = None) -> Any:
    """The campaign process's hub (its response cache in the run dir unless configured), with
    the roles in ``objects`` served by those model objects (see ``with_model_objects``)."""
    models = config.models
    hub = hub_from_models(models, response_cache_path(models.cache, run_dir))
    return with_model_objects(hub, objects or {}, toolkit=models.toolkit, judge=models.judge,
                              reflector=models.reflector)


def with_model_objects(hub: ModelHub, objects: Mapping[str, Any], *, toolkit: str = "",
                       judge: str = "", reflector: str = "offline") -> Any:
    """``hub`` with some roles served by a caller's objects: ``objects`` maps chat roles to
    ``ChatModel``s and ``"embedder"`` to an ``Embedder``. A role the config leaves to the task
    model (``toolkit`` or ``judge`` ``""``, ``reflector`` ``"offline"``) follows a task model
    object, as it follows a task model name. The cache, prices, limits and concurrency bound
    stay ``hub``'s.
    """
    if not objects:
        return hub
    from .hub import CHAT_ROLES, ModelHub

    follows_task = {"toolkit": not toolkit, "judge": not judge,
                    "reflector": (reflector or "offline") == "offline"}
    chat = {}
    for role in CHAT_ROLES:
        if role in objects:
            chat[role] = objects[role]
        elif follows_task.get(role) and "task" in objects:
            chat[role] = objects["task"]
        else:
            chat[role] = hub.model_for(role)
    return ModelHub(chat, objects.get("embedder", hub.embedder), cache=hub.cache,
                    prices=hub.prices, concurrency=hub.concurrency, on_record=hub.on_record,
                    limits=hub.limits)


def hub_from_models(models: ModelSettings, cache_path: str | None) -> Any:
    """A hub from a config's typed ``[models]`` section (what evaluation jobs carry); its
    defaults are the section's own.

    ``cache_path`` None is the default shared cache (``~/.cache/evolve``); ``"off"`` none.
    """
    from .factory import build_hub
    from .limits import RoleLimits
    from .openai_chat import RetryPolicy
    from .pricing import DEFAULT_PRICES, Price, PriceTable

    role_models = {role: name for role, name in (("toolkit", models.toolkit),
                                                 ("judge", models.judge)) if name}
    # The reflector role is only an LLM when a model other than "offline" is named.
    role_models["reflector"] = models.reflector if models.reflector != "offline" \
        else models.task
    prices = dict(DEFAULT_PRICES)
    # [input, output] per 1M tokens, or [input] alone for embedding models (config rules)
    prices.update({name: Price(*(float(v) for v in value))
                   for name, value in models.prices.items()})
    return build_hub(model=models.task, base_url=models.base_url or None,
                     api_key=os.environ.get(models.api_key_env) or None,
                     embedder=models.embedder, concurrency=models.concurrency,
                     cache_path=cache_path, role_models=role_models, prices=PriceTable(prices),
                     timeout=float(models.timeout_s),
                     retry=RetryPolicy(max_retries=models.max_retries),
                     limits=RoleLimits(max_tokens=dict(models.max_tokens),
                                       extra_body=dict(models.extra_body),
                                       context_window=models.context_window),
                     revision=models.revision)


def response_cache_path(setting: str, run_dir: Path | None) -> str | None:
    """Where a hub caches responses for ``models.cache = setting``: ``"off"`` -> none, an
    explicit file -> that (shared) file, ``""`` -> the run's own cache file, or, for a worker
    process or cluster worker (``run_dir`` None: the run dir may not exist there), the
    worker's default cache."""
    if setting == "off":
        return "off"
    if setting:
        return str(Path(setting).expanduser())
    return str(run_dir / "cache.sqlite") if run_dir is not None else None
