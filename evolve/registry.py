"""Named factories of one extension point: the single list of the names it accepts.

Config validation (``evolve.campaign.config_load``), the factories that build a part from its
name, error messages and the docs test all read the same ``Registry``, so a name added here is
accepted everywhere at once and a name removed is refused everywhere at once.

A registry with an entry-point group also offers the factories installed distributions
declare in that group (``[project.entry-points."evolve.selectors"]`` in their
``pyproject.toml``); a built-in name always wins over an installed one of the same name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from .errors import UsageError

F = TypeVar("F", bound=Callable[..., object])


class Registry(Generic[F]):
    """Built-in factories by name, in the order they are listed to users, plus (when
    ``entry_point_group`` is set) the installed ones, loaded on first use."""

    def __init__(self, kind: str, entry_point_group: str | None = None,
                 adapt: Callable[[Callable[..., object]], F] | None = None) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._builtins: dict[str, F] = {}
        self._installed: dict[str, Callable[[], Callable[..., object]]] | None = None
        # how an installed object becomes a factory of this registry's signature
        self._adapt = adapt

    def add(self, name: str) -> Callable[[F], F]:
        """Decorator registering a built-in factory under ``name``."""
        def register(factory: F) -> F:
            self._builtins[name] = factory
            return factory
        return register

    @property
    def builtin_names(self) -> tuple[str, ...]:
        return tuple(self._builtins)

    def names(self) -> tuple[str, ...]:
        """Every accepted name: built-ins first, then installed entry points (sorted)."""
        return self.builtin_names + tuple(sorted(self._entry_points()))

    def get(self, name: str) -> F:
        """The factory called ``name``; a one-line UsageError listing the names otherwise."""
        if name in self._builtins:
            return self._builtins[name]
        loader = self._entry_points().get(name)
        if loader is None:
            raise UsageError(f"unknown {self.kind} {name!r}; choose one of "
                             f"{', '.join(self.names())}")
        try:
            loaded = loader()
        except Exception as exc:  # noqa: BLE001 - a broken plugin is the user's to see
            raise UsageError(f"{self.kind} {name!r} (entry point in "
                             f"{self.entry_point_group}) cannot be loaded: "
                             f"{type(exc).__name__}: {exc}") from None
        if self._adapt is None:
            raise UsageError(f"{self.kind} {name!r}: this registry takes no entry points")
        return self._adapt(loaded)

    def _entry_points(self) -> dict[str, Callable[[], Callable[..., object]]]:
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
