"""Example values for the schema shown to the task model, and echoed placeholders in replies.

A schema written with type placeholders (``"keywords": ["<string>", ...]``) gets the
placeholder copied back by small models (``"keywords": ["<string>", "Nora"]``). The prompt
therefore shows a concrete value of the field's type, made from its name
(``"keywords": ["example keyword"]``, ``"question": "example question"``, ``"top_k": 3``), and
the coercion drops a reply value that is a type placeholder or the example shown for its
field -- as a recorded coercion, since the model said nothing there.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from .reply_shape import base_type

EXAMPLE_INT = 3
EXAMPLE_FLOAT = 0.5
EXAMPLE_BOOL = False

_PLACEHOLDER = re.compile(
    r"^\s*(?:<\s*(?:string|str|text|integer|int|number|float|bool|boolean|true\s*\|\s*false|"
    r"value|list|array|date|name|[a-z_ ]{1,24}\s*(?:here)?)\s*>|\.\.\.|…)\s*$", re.IGNORECASE)


def _words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(name))
    return [w.lower() for w in re.split(r"[_\-\s]+", spaced) if w]


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


def example_value(spec: dict[str, Any]) -> Any:
    """The value shown for ``spec`` in the schema prompt (its type, words from its name)."""
    base = base_type(spec)
    words = _words(str(spec["name"])) or ["value"]
    if base == "int":
        return EXAMPLE_INT
    if base == "float":
        return EXAMPLE_FLOAT
    if base == "bool":
        return EXAMPLE_BOOL
    if base == "list[str]":
        return ["example " + " ".join([*words[:-1], _singular(words[-1])])]
    return "example " + " ".join(words)


def _example_texts(fields: Sequence[dict[str, Any]]) -> frozenset[str]:
    texts: set[str] = set()
    for spec in fields:
        value = example_value(spec)
        for text in (value if isinstance(value, list) else [value]):
            if isinstance(text, str):
                texts.add(text.lower())
    return frozenset(texts)


class PlaceholderFilter:
    """Recognises echoed placeholders in the values of one schema's replies."""

    def __init__(self, fields: Sequence[dict[str, Any]]) -> None:
        self._examples = _example_texts(fields)

    def is_placeholder(self, value: Any) -> bool:
        """A type placeholder (``<string>``, ``<integer>``, ``...``) or a shown example."""
        if not isinstance(value, str):
            return False
        return bool(_PLACEHOLDER.match(value)) or value.strip().lower() in self._examples

    def clean(self, name: str, value: Any, notes: list[str]) -> Any:
        """``value`` without echoed placeholders (None when nothing else was said)."""
        if isinstance(value, list):
            dropped = [v for v in value if self.is_placeholder(v)]
            if not dropped:
                return value
            notes.append(f"dropped echoed placeholder {_shown(dropped)} from {name!r}")
            return [v for v in value if not self.is_placeholder(v)]
        if self.is_placeholder(value):
            notes.append(f"dropped echoed placeholder {_shown([value])} from {name!r}")
            return None
        return value


def _shown(values: list[Any]) -> str:
    return ", ".join(repr(v) for v in values[:3]) + (" ..." if len(values) > 3 else "")
