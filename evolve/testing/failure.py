"""What a conformance check raises, and the small helpers every check uses to raise it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ..objects import class_path, require

T = TypeVar("T")


class ConformanceError(AssertionError):
    """A part breaks a rule of its Protocol's contract.

    ``kind`` ("task", "selector", "meta-agent"), ``rule`` (the rule as the checks word it) and
    ``detail`` (what was seen) are also attributes, for tests that assert on them.
    """

    def __init__(self, kind: str, part: object, rule: str, detail: str) -> None:
        self.kind = kind
        self.rule = rule
        self.detail = detail
        super().__init__(f"{kind} {class_path(part)} breaks the rule {rule!r}: {detail}")


class Rules:
    """The rules one check has verified so far, and the way it fails on one."""

    def __init__(self, kind: str, part: object) -> None:
        self.kind = kind
        self.part = part
        self.checked: list[str] = []

    def require(self, ok: bool, rule: str, detail: str | Callable[[], str]) -> None:
        """Fail on ``rule`` unless ``ok``; ``detail`` may be a callable, built only then."""
        if not ok:
            raise ConformanceError(self.kind, self.part, rule,
                                   detail() if callable(detail) else detail)
        if rule not in self.checked:
            self.checked.append(rule)

    def call(self, rule: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``function(*args, **kwargs)``; an exception it raises breaks ``rule``."""
        try:
            return function(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - any exception is the broken rule to report
            raise ConformanceError(self.kind, self.part, rule,
                                   f"raised {type(exc).__name__}: {exc}") from exc

    def members(self, protocol_kind: str) -> None:
        """The methods and attributes the Protocol asks for are there (``evolve.objects``)."""
        try:
            require(self.part, protocol_kind)
        except TypeError as exc:
            raise ConformanceError(self.kind, self.part, "has the Protocol's methods and "
                                   "attributes", str(exc)) from None
        self.checked.append("has the Protocol's methods and attributes")
