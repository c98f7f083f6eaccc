"""Named factories of each extension point: the single list of the names it accepts.

Config validation (``evolve.config.load``), the factories that build a part from its name
(``make_selector``, ``make_executor``), their error messages and the docs test all read the
registries defined here, so a name added here is accepted everywhere at once.

A built-in factory is named by ``"module:attribute"`` and imported only when it is built, as
installed ones are: validating a config does not import the implementations, and this module
stays at the bottom of the package tree. A registry with an entry-point group also offers the
factories installed distributions declare there (``[project.entry-points."evolve.selectors"]``
or ``."evolve.meta_agents"`` in their ``pyproject.toml``); a built-in name always wins over an
installed one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

from .errors import UsageError

Factory = Callable[..., Any]


def load_reference(reference: str) -> Any:
    """The object ``"package.module:attribute"`` names (imported now)."""
    module, _, attribute = reference.partition(":")
    return getattr(import_module(module), attribute)


class Registry:
    """Built-in factories by name, in the order they are listed to users, plus (when
    ``entry_point_group`` is set) the installed ones, read on first use. ``adapt`` turns an
    installed entry point's object into a factory of the built-ins' signature."""

    def __init__(self, kind: str, builtins: Mapping[str, str], *,
                 entry_point_group: str | None = None,
                 adapt: Callable[[Any], Factory] | None = None) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._builtins = dict(builtins)
        self._adapt = adapt
        self._installed: dict[str, Callable[[], Any]] | None = None

    @property
    def builtin_names(self) -> tuple[str, ...]:
        return tuple(self._builtins)

    def names(self) -> tuple[str, ...]:
        """Every accepted name: built-ins first, then installed entry points (sorted)."""
        return self.builtin_names + tuple(sorted(self._entry_points()))

    def get(self, name: str) -> Factory:
        """The factory called ``name``; a one-line UsageError listing the names otherwise."""
        if name in self._builtins:
            factory: Factory = load_reference(self._builtins[name])
            return factory
        loader = self._entry_points().get(name)
        if loader is None or self._adapt is None:
            raise UsageError(f"unknown {self.kind} {name!r}; choose one of "
                             f"{', '.join(self.names())}")
        try:
            loaded = loader()
        except Exception as exc:  # noqa: BLE001 - a broken plugin is the user's to see
            raise UsageError(f"{self.kind} {name!r} (entry point in {self.entry_point_group}) "
                             f"cannot be loaded: {type(exc).__name__}: {exc}") from None
        return self._adapt(loaded)

    def _entry_points(self) -> dict[str, Callable[[], Any]]:
        if self.entry_point_group is None:
            return {}
        if self._installed is None:
            from importlib.metadata import entry_points

            self._installed = {ep.name: ep.load
                               for ep in entry_points(group=self.entry_point_group)
                               if ep.name not in self._builtins}
        return self._installed

    def refresh(self) -> None:
        """Forget the installed entry points (read again on next use; for tests)."""
        self._installed = None


def _installed_selector(loaded: Callable[[], Any]) -> Factory:
    """An installed selector's entry point names a class or a factory taking no arguments;
    as a factory of this registry it ignores the softmax temperature."""
    def factory(_temperature: float) -> Any:
        from .objects import require

        return require(loaded(), "selector")
    return factory


# ``search.selector``: factories taking the softmax temperature.
SELECTORS = Registry("parent selector", {
    "softmax": "evolve.strategies.selectors:SoftmaxSelector",
    "argmax": "evolve.strategies.selectors:argmax_selector",
    "novelty": "evolve.strategies.selectors:novelty_selector",
    "pareto": "evolve.strategies.selectors:pareto_selector",
    "lineage": "evolve.strategies.selectors:lineage_selector",
}, entry_point_group="evolve.selectors", adapt=_installed_selector)

# ``parallel.executor``: factories taking (workers, hub, cluster address).
EXECUTORS = Registry("executor", {
    "threads": "evolve.evaluation.executors:thread_executor",
    "processes": "evolve.evaluation.executors:process_executor",
    "dask": "evolve.evaluation.executors:dask_executor",
    "ray": "evolve.evaluation.executors:ray_executor",
})


def _installed_meta_agent(loaded: Callable[[], Any]) -> Factory:
    """An installed meta-agent's entry point names a class or a factory taking no arguments;
    as a factory of this registry it ignores the campaign config and the model hub."""
    def factory(_config: Any, _hub: Any, _reflector_object: bool = False) -> Any:
        from .objects import require

        return require(loaded(), "meta_agent")
    return factory


# ``search.meta_agent``: factories taking (campaign config, model hub, whether the hub's
# reflector role is a caller's model object). ``auto`` picks ``offline`` or ``llm``.
META_AGENTS = Registry("meta-agent", {
    "auto": "evolve.meta.factory:auto_meta_agent",
    "offline": "evolve.meta.factory:offline_meta_agent",
    "llm": "evolve.meta.factory:llm_meta_agent",
}, entry_point_group="evolve.meta_agents", adapt=_installed_meta_agent)
