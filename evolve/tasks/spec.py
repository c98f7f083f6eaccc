"""The task table: ``TaskSpec`` (a name's documented arguments and factory) and ``TASKS``.

Its own module so that the built-in tasks (``evolve.tasks.registry``) and the plugins
(``evolve.tasks.plugins``) both add to the one table without importing each other's module:
the registry imports the plugins to register them, the plugins import only this table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .base import Task, TaskArg

Factory = Callable[[dict[str, str]], Task]
REQUIRED = None  # a TaskArg default of None means the argument is required


@dataclass(frozen=True)
class TaskSpec:
    """One registered task: name, one-line description, arguments, factory and agent mode."""

    name: str
    description: str
    args: tuple[TaskArg, ...]
    factory: Factory
    mode: str = "qa"  # the AgentMode of the tasks it builds: "qa" | "interactive"

    def arg(self, name: str) -> TaskArg | None:
        return next((a for a in self.args if a.name == name), None)


TASKS: dict[str, TaskSpec] = {}


def register(spec: TaskSpec) -> TaskSpec:
    """Add (or replace) a task in the registry."""
    TASKS[spec.name] = spec
    return spec
