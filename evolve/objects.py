"""Check objects a Python caller passes in place of a configured name.

Every extension point (task, parent selector, meta-agent, stopper, executor, chat model,
embedder) is a Protocol. The factories that build one from a name also take an object that
satisfies it; ``require`` checks the object's methods and attributes up front, so a missing
``select`` is a one-line ``TypeError`` naming it when the campaign is built, not an
``AttributeError`` in the middle of iteration 7.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

T = TypeVar("T")

# kind -> (methods, attributes) each Protocol asks for (the Protocols' own docstrings say what
# they must do; this only says what must be there)
REQUIRED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "task": (("groups", "score", "describe"), ("name", "mode", "category_names")),
    "selector": (("select",), ()),
    "meta_agent": (("propose", "fix", "repair"), ("name",)),
    "stopper": (("check",), ()),
    "executor": (("map", "close"), ()),
    "chat model": (("complete",), ("name",)),
    "embedder": (("embed",), ("name", "dim")),
}

PROTOCOL_NAMES = {"task": "Task", "selector": "ParentSelector", "meta_agent": "MetaAgent",
                  "stopper": "Stopper", "executor": "Executor", "chat model": "ChatModel",
                  "embedder": "Embedder"}


def class_path(obj: object) -> str:
    """``module.QualifiedName`` of ``obj``'s class (what a campaign records of it)."""
    kind = type(obj)
    return f"{kind.__module__}.{kind.__qualname__}"


def require(obj: T, kind: str) -> T:
    """``obj`` itself when it has what the ``kind`` Protocol asks for, else a TypeError that
    names the missing methods or attributes."""
    methods, attributes = REQUIRED[kind]
    missing = [f"{name}()" for name in methods if not callable(getattr(obj, name, None))]
    missing += [name for name in attributes if not hasattr(obj, name)]
    if missing:
        protocol = PROTOCOL_NAMES[kind]
        raise TypeError(f"{kind.replace('_', '-')} object {class_path(obj)} is not a "
                        f"{protocol}: it lacks {', '.join(missing)} (see evolve.{protocol})")
    return obj


def require_all(objs: Iterable[Any], kind: str) -> list[Any]:
    return [require(obj, kind) for obj in objs]


def check_picklable(obj: object, what: str, executor: str) -> None:
    """TypeError unless ``obj`` can be sent to the worker processes of ``executor``.

    Uses cloudpickle (what joblib's loky, Dask and Ray send with), so classes defined in a
    notebook or a test function pass; objects holding locks, connections or open files do not.
    """
    try:
        import cloudpickle as pickler  # what joblib >= 1.5 sends with
    except ImportError:  # pragma: no cover - older joblib ships its own copy
        try:
            from joblib.externals import cloudpickle as pickler  # type: ignore[no-redef]
        except ImportError:
            import pickle as pickler  # type: ignore[no-redef]
    try:
        pickler.dumps(obj)
    except Exception as exc:  # noqa: BLE001 - any pickling failure is the user's to see
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
        raise TypeError(f"the {what} object {class_path(obj)} cannot be pickled, which "
                        f"parallel.executor = {executor!r} needs to send it to its workers "
                        f"({reason}); make it picklable or use the 'threads' executor") from None
