"""Turn a model's reply into keyword arguments for a program's dataclass.

Models return almost-right JSON: wrapped in fences, prose or echoed prompt tags
(``reply_json``), nested one level or under near-miss keys (``reply_shape``), strings for
numbers, a string where a list is expected. Coercion is forgiving so one sloppy reply does not
lose an episode, but it never invents content and never defaults silently: every fix that
loses or guesses something (a mapped or dropped key, an unparsable number, a missing field
given its type's empty value) is a note in ``Coerced.notes``, which the task agent keeps in
the trace and the evaluation counts (``coercions``). Fields the reply leaves out that have a
declared default (or are Optional) take it without a note: the program said that is fine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..program.contract import normalise_type
from .reply_json import ReplyParseError, parse_json_object, parse_reply
from .reply_shape import base_type, fit_keys

__all__ = ["Coerced", "ReplyParseError", "coerce_fields", "coerce_object", "coerce_reply",
           "fallback_values", "parse_json_object"]

_TRUE = frozenset({"true", "yes", "y", "1", "t", "on"})
_FALSE = frozenset({"false", "no", "n", "0", "f", "off", "", "none", "null"})
_PROMPT_TAG = re.compile(r"^\s*<(question|text|answer|query|goal)>\s*(.*?)\s*</\1>\s*$",
                         re.DOTALL | re.IGNORECASE)


@dataclass
class Coerced:
    """Keyword arguments for the dataclass, and a note per lossy or guessed fix."""

    values: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def _empty(base: str) -> Any:
    return {"str": "", "int": 0, "float": 0.0, "bool": False, "list[str]": []}.get(base, "")


def _text(value: Any, name: str, notes: list[str]) -> str:
    if isinstance(value, str):
        match = _PROMPT_TAG.match(value)  # an echoed <question>...</question> around the value
        return match.group(2) if match else value
    if isinstance(value, (list, tuple)):
        return "; ".join(_text(v, name, notes) for v in value)
    if isinstance(value, dict):
        notes.append(f"field {name!r}: an object given, kept as its JSON text")
        return json.dumps(value)
    return str(value)


def _number(value: Any, base: str, name: str, notes: list[str]) -> int | float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        match = re.search(r"-?\d+(?:\.\d+)?", str(value))
        if match is None:
            notes.append(f"field {name!r}: no number in {str(value)[:40]!r}, used 0")
            return 0 if base == "int" else 0.0
        number = float(match.group())
    if base == "float":
        return number
    if number != int(number):
        notes.append(f"field {name!r}: {number:g} cut to the integer {int(number)}")
    return int(number)


def _bool(value: Any, name: str, notes: list[str]) -> bool:
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        notes.append(f"field {name!r}: {value[:40]!r} is not true/false, read as false")
        return False
    return bool(value)


def _list(value: Any, name: str, notes: list[str]) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, (list, tuple)):
        out = []
        for element in value:
            if isinstance(element, dict):
                notes.append(f"field {name!r}: an object in the list, kept as its JSON text")
                out.append(json.dumps(element))
            elif element is not None:
                out.append(_text(element, name, notes))
        return out
    return [_text(value, name, notes)]


def _coerce_value(value: Any, base: str, name: str, notes: list[str]) -> Any:
    if base == "str":
        return _text(value, name, notes)
    if base == "bool":
        return _bool(value, name, notes)
    if base in ("int", "float"):
        return _number(value, base, name, notes)
    if base == "list[str]":
        return _list(value, name, notes)
    return value


def coerce_object(reply: dict[str, Any], fields: Sequence[dict[str, Any]]) -> Coerced:
    """Keyword arguments for the dataclass described by ``fields`` (see ``ProgramInfo``)."""
    given, notes = fit_keys(reply, fields)
    values: dict[str, Any] = {}
    for spec in fields:
        name = str(spec["name"])
        base = base_type(spec)
        optional = normalise_type(str(spec.get("type", "str"))).startswith("Optional[")
        if given.get(name) is not None:
            values[name] = _coerce_value(given[name], base, name, notes)
        elif optional:
            values[name] = None
        elif "default" in spec:
            values[name] = spec["default"]
        else:
            values[name] = _empty(base)
            notes.append(f"missing field {name!r}: used {values[name]!r}")
    if fields and not given:
        notes.append("no field of the schema in the reply: every field took its default")
    return Coerced(values, notes)


def coerce_reply(text: str, fields: Sequence[dict[str, Any]]) -> Coerced:
    """Parse a reply and coerce it (raises ``ReplyParseError`` when it holds no object)."""
    found = parse_reply(text)
    coerced = coerce_object(found.value, fields)
    coerced.notes[:0] = found.notes
    return coerced


def coerce_fields(reply: dict[str, Any], fields: list[dict[str, Any]]) -> dict[str, Any]:
    """``coerce_object(reply, fields).values`` (for callers that keep no notes)."""
    return coerce_object(reply, fields).values


def fallback_values(fields: Sequence[dict[str, Any]], text: str) -> Coerced:
    """Values for an unusable reply: defaults, and ``text`` (the question itself) in the one
    text field when the schema has exactly one -- an empty query would retrieve nothing."""
    coerced = Coerced(coerce_object({}, fields).values)  # counted as a fallback, not notes
    text_fields = [str(f["name"]) for f in fields if base_type(f) == "str"]
    if len(text_fields) == 1 and text.strip():
        coerced.values[text_fields[0]] = text.strip()
        coerced.notes.append(f"used the question itself as {text_fields[0]!r}")
    return coerced
