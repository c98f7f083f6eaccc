"""Task plugins: tasks with their own environment and scorer, from outside this package.

Two ways to provide one:

1. An installed distribution declares an entry point in the group ``evolve.tasks``::

       [project.entry-points."evolve.tasks"]
       my-task = "my_package.tasks:make_task"

   The entry point's name is the task name (shown by ``evolve tasks``; a built-in task of the
   same name wins and the entry point is skipped).
2. A Python file: ``--task plugin --task-arg plugin=path/to/file.py[:factory]`` (plugin
   arguments as ``--task-arg options="k=v;k2=v2"``), or the task name
   ``plugin:path/to/file.py[:factory]`` with plugin arguments as plain ``--task-arg k=v``.
   ``factory`` defaults to ``make_task``.

The object named is a ``TaskSpec``, or a *factory*: a callable ``factory(args) -> Task`` that
receives the plugin's declared arguments as a ``dict[str, str]`` (defaults filled in, unknown
names rejected). Declarations are read from attributes of the factory, else of its module:
``TASK_ARGS`` (a sequence of ``TaskArg``, or of ``(name, help, default)`` tuples; default
``None`` = required), ``TASK_DESCRIPTION`` (else the docstring's first line) and ``TASK_MODE``
(``"qa"`` or ``"interactive"``).

The returned object must implement the ``Task`` protocol (``evolve.tasks.base``): ``name``,
``mode``, ``category_names``, ``groups(split)``, ``score(item, answer)``, ``describe()``; a
task scored by an LLM judge sets ``needs_judge = True`` and accepts ``score(item, answer,
judge=judge)``. It is checked at once, and ``groups``/``score`` results are checked on use
(``PluginTask``); every failure, including exceptions raised by the plugin's own factory, is
one ``UsageError`` line naming the plugin.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import re
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import UsageError
from .base import Episode, EvalItem, Group, ScoreResult, TaskArg
from .spec import TASKS, TaskSpec, register

ENTRY_POINT_GROUP = "evolve.tasks"
DEFAULT_FACTORY = "make_task"
NAME_PREFIX = "plugin:"
_REQUIRED_ATTRS = ("name", "mode", "category_names", "groups", "score", "describe")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
skipped_entry_points: list[str] = []  # names shadowed by built-in tasks (for inspection)


# -- validation ---------------------------------------------------------------------------------

class PluginTask:
    """A plugin's task, with its results checked against the contract on use.

    Attributes not defined here (e.g. an interactive task's environment hooks) are passed
    through to the plugin's object unchanged.
    """

    def __init__(self, task: Any, origin: str) -> None:
        self._task, self.origin = task, origin
        self.name = task.name
        self.mode = task.mode
        self.category_names = dict(task.category_names)
        self.needs_judge = bool(getattr(task, "needs_judge", False))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_task":  # copy/pickle probe before __init__ ran
            raise AttributeError(name)
        return getattr(self._task, name)

    def _fail(self, message: str) -> UsageError:
        return UsageError(f"plugin {self.origin}: {message}")

    def groups(self, split: str) -> list[Group]:
        try:
            groups = self._task.groups(split)
        except UsageError:
            raise
        except Exception as exc:  # the plugin's own bug: report it as bad input, one line
            raise self._fail(f"groups({split!r}) raised {type(exc).__name__}: {exc}") from None
        if not isinstance(groups, (list, tuple)):
            raise self._fail(f"groups({split!r}) must return a list of Group, got "
                             f"{type(groups).__name__}")
        seen: set[str] = set()
        for k, group in enumerate(groups):
            if not isinstance(group, Group):
                raise self._fail(f"groups({split!r})[{k}] is a {type(group).__name__}, not a "
                                 "Group")
            if self.mode != "qa":
                continue  # interactive tasks may put their own objects in groups
            for episode in group.episodes:
                if not isinstance(episode, Episode) or not isinstance(episode.text, str):
                    raise self._fail(f"group {group.id!r}: episodes must be Episode objects "
                                     "with a text")
            for item in group.items:
                if not isinstance(item, EvalItem) or not isinstance(item.question, str):
                    raise self._fail(f"group {group.id!r}: items must be EvalItem objects "
                                     "with a question")
                if item.id in seen:
                    raise self._fail(f"item id {item.id!r} appears twice in groups({split!r})")
                seen.add(item.id)
        return list(groups)

    def score(self, item: EvalItem, answer: str, judge: Any = None) -> ScoreResult:
        try:
            result = (self._task.score(item, answer, judge=judge) if self.needs_judge
                      else self._task.score(item, answer))
        except UsageError:
            raise
        except Exception as exc:
            raise self._fail(f"score() raised {type(exc).__name__}: {exc} (item "
                             f"{item.id!r})") from None
        if isinstance(result, (int, float)) and not isinstance(result, bool):
            result = ScoreResult(float(result))
        if not isinstance(result, ScoreResult):
            raise self._fail(f"score() must return a ScoreResult or a number, got "
                             f"{type(result).__name__}")
        if not 0.0 <= float(result.score) <= 1.0:
            raise self._fail(f"score() returned {result.score!r} for item {item.id!r} "
                             "(must be within 0..1)")
        return result

    def describe(self) -> dict[str, Any]:
        info = dict(self._task.describe() or {})
        info.setdefault("task", self.name)
        info["plugin"] = self.origin
        return info


def check_task(task: Any, origin: str) -> PluginTask:
    """Check ``task`` against the Task protocol; a ``PluginTask`` around it."""
    if isinstance(task, PluginTask):
        return task
    missing = [a for a in _REQUIRED_ATTRS if not hasattr(task, a)]
    if missing:
        raise UsageError(f"plugin {origin}: the task object ({type(task).__name__}) lacks "
                         f"{', '.join(repr(m) for m in missing)} (the Task protocol needs "
                         f"{', '.join(_REQUIRED_ATTRS)})")
    for attr in ("groups", "score", "describe"):
        if not callable(getattr(task, attr)):
            raise UsageError(f"plugin {origin}: '{attr}' of the task object must be a method")
    if not isinstance(task.name, str) or not task.name:
        raise UsageError(f"plugin {origin}: the task's 'name' must be a non-empty string")
    if task.mode not in ("qa", "interactive"):
        raise UsageError(f"plugin {origin}: the task's 'mode' must be 'qa' or 'interactive', "
                         f"got {task.mode!r}")
    if not isinstance(task.category_names, dict):
        raise UsageError(f"plugin {origin}: the task's 'category_names' must be a dict")
    return PluginTask(task, origin)


# -- declarations -> TaskSpec -------------------------------------------------------------------

def _declared(obj: Any, module: ModuleType | None, attr: str, default: Any = None) -> Any:
    if hasattr(obj, attr):
        return getattr(obj, attr)
    return getattr(module, attr, default) if module is not None else default


def _task_args(raw: Any, origin: str) -> tuple[TaskArg, ...]:
    out: list[TaskArg] = []
    for entry in raw or ():
        if isinstance(entry, TaskArg):
            out.append(entry)
        elif isinstance(entry, (tuple, list)) and 1 <= len(entry) <= 4 and \
                isinstance(entry[0], str):
            help_text = entry[1] if len(entry) > 1 else ""
            default = entry[2] if len(entry) > 2 else None
            choices = entry[3] if len(entry) > 3 else ()
            out.append(TaskArg(entry[0], str(help_text),
                               None if default is None else str(default),
                               tuple(str(c) for c in choices)))
        else:
            raise UsageError(f"plugin {origin}: TASK_ARGS entries must be TaskArg objects or "
                             f"(name, help, default) tuples, got {entry!r}")
    return tuple(out)


def spec_from_object(name: str, obj: Any, origin: str, module: ModuleType | None = None
                     ) -> TaskSpec:
    """A ``TaskSpec`` named ``name`` for a plugin object (a TaskSpec or a factory)."""
    if isinstance(obj, TaskSpec):
        factory = obj.factory
        return TaskSpec(name=name, description=obj.description, args=obj.args, mode=obj.mode,
                        factory=lambda args: _build(factory, args, origin))
    if not callable(obj):
        raise UsageError(f"plugin {origin}: expected a TaskSpec or a factory callable, got "
                         f"{type(obj).__name__}")
    if module is None:  # entry points name a factory: its module holds the declarations
        module = sys.modules.get(getattr(obj, "__module__", "") or "")
    doc = (getattr(obj, "__doc__", None) or "").strip().splitlines()
    description = str(_declared(obj, module, "TASK_DESCRIPTION", None) or
                      (doc[0] if doc else f"plugin task from {origin}"))
    mode = str(_declared(obj, module, "TASK_MODE", "qa"))
    if mode not in ("qa", "interactive"):
        raise UsageError(f"plugin {origin}: TASK_MODE must be 'qa' or 'interactive', got "
                         f"{mode!r}")
    args = _task_args(_declared(obj, module, "TASK_ARGS", ()), origin)
    return TaskSpec(name=name, description=description, args=args, mode=mode,
                    factory=lambda values: _build(obj, values, origin))


def _build(factory: Callable[[dict[str, str]], Any], args: dict[str, str], origin: str
           ) -> PluginTask:
    try:
        task = factory(dict(args))
    except UsageError:
        raise
    except Exception as exc:
        raise UsageError(f"plugin {origin}: the factory raised {type(exc).__name__}: "
                         f"{exc}") from None
    return check_task(task, origin)


# -- file plugins -------------------------------------------------------------------------------

def split_target(target: str) -> tuple[Path, str]:
    """"dir/file.py:factory" -> (path, factory); the factory part is optional."""
    head, sep, tail = target.strip().rpartition(":")
    if sep and _IDENT.match(tail) and head:
        return Path(head).expanduser(), tail
    return Path(target.strip()).expanduser(), DEFAULT_FACTORY


def load_file(path: Path) -> ModuleType:
    """Import a plugin file under a private module name (re-imported when it changed)."""
    if not path.is_file():
        raise UsageError(f"plugin {path}: file not found")
    resolved = path.resolve()
    stamp = resolved.stat().st_mtime_ns
    name = "evolve_plugin_" + hashlib.sha1(str(resolved).encode()).hexdigest()[:12]
    cached = sys.modules.get(name)
    if cached is not None and getattr(cached, "__evolve_stamp__", None) == stamp:
        return cached
    spec = importlib.util.spec_from_file_location(name, resolved)
    if spec is None or spec.loader is None:
        raise UsageError(f"plugin {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        if exc.lineno is None:  # a NUL byte: CPython names no line
            from ..program.parsing import syntax_error_text

            raise UsageError(f"plugin {path}: syntax error "
                             f"({syntax_error_text(exc, resolved.read_bytes())})") from None
        raise UsageError(f"plugin {path}:{exc.lineno}: syntax error ({exc.msg})") from None
    except Exception as exc:
        sys.modules.pop(name, None)
        raise UsageError(f"plugin {path}: import failed ({type(exc).__name__}: {exc})") from None
    module.__evolve_stamp__ = stamp  # type: ignore[attr-defined]
    return module


def file_spec(target: str, name: str | None = None) -> TaskSpec:
    """The ``TaskSpec`` of a file plugin ``path.py[:factory]``."""
    path, factory_name = split_target(target)
    module = load_file(path)
    obj = getattr(module, factory_name, None)
    if obj is None:
        raise UsageError(f"plugin {path}: defines no '{factory_name}' (define it, or name the "
                         f"factory as {path}:NAME)")
    return spec_from_object(name or f"{NAME_PREFIX}{target}", obj, f"{path}:{factory_name}",
                            module)


def register_named(name: str) -> TaskSpec:
    """Register and return the spec of a task named ``plugin:path.py[:factory]``."""
    return register(file_spec(name[len(NAME_PREFIX):], name))


def parse_options(text: str) -> dict[str, str]:
    """"k=v;k2=v2" -> dict (the ``options`` argument of the ``plugin`` task)."""
    out: dict[str, str] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"bad value for options: {part.strip()!r} (expected k=v pairs "
                             "separated by ';')")
        out[key.strip()] = value.strip()
    return out


# -- entry points -------------------------------------------------------------------------------

def _failed_spec(name: str, message: str) -> TaskSpec:
    def fail(_: dict[str, str]) -> Any:
        raise UsageError(message)

    return TaskSpec(name=name, description=f"(plugin failed to load: {message})", args=(),
                    factory=fail)


def register_entry_points(builtin: set[str] | None = None) -> list[str]:
    """Register every ``evolve.tasks`` entry point; returns the names registered."""
    taken = set(TASKS) if builtin is None else set(builtin)
    added: list[str] = []
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry.name in taken:
            skipped_entry_points.append(entry.name)
            continue
        origin = f"{entry.name} ({entry.value})"
        try:
            spec = spec_from_object(entry.name, entry.load(), origin)
        except UsageError as exc:
            spec = _failed_spec(entry.name, str(exc))
        except Exception as exc:  # a broken third-party package must not break the CLI
            spec = _failed_spec(entry.name, f"plugin {origin}: {type(exc).__name__}: {exc}")
        register(spec)
        added.append(entry.name)
    return added
