"""Find the JSON object in a model's reply, as real models write replies.

Small and local models wrap the object they were asked for: code fences (also mid-reply, or
never closed), prose before and after, the prompt's own tags echoed around it
(``<schema name="Query"> ... </schema>``), the schema's ``// comments`` and trailing commas
copied along, single-quoted Python dicts, or a list holding the object. None of that changes
what the object says, so it is tolerated without a note; what the object holds is then fitted
to the schema by ``reply_shape`` and ``coerce``, which record every guess.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

MAX_STARTS = 32  # "{" positions tried per candidate text: bounded work on long rambling replies

_FENCED = re.compile(r"```[ \t]*[A-Za-z]*[ \t]*\n?(.*?)```", re.DOTALL)
_OPEN_FENCE = re.compile(r"^```[ \t]*[A-Za-z]*[ \t]*\n?|\n?```\s*$")
# prompt sections a model may echo before its answer (their contents are not the answer)
# (on lines of their own: a tag inside a JSON string value is left to ``coerce``)
_ECHOED = re.compile(r"^[ \t]*<(schema|instruction|text|question|goal|retrieved_memory|tips|"
                     r"history|admissible_actions)\b[^>\n]*>.*?</\1>[ \t]*$",
                     re.DOTALL | re.IGNORECASE | re.MULTILINE)


class ReplyParseError(ValueError):
    """The reply holds no JSON object."""


@dataclass
class FoundObject:
    """The object found in a reply, and what was done to get it (for the trace)."""

    value: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def _candidates(text: str) -> Iterator[str]:
    stripped = text.strip()
    without_echo = _ECHOED.sub(" ", stripped).strip()
    if without_echo != stripped and "{" in without_echo:
        yield without_echo  # the answer after an echoed prompt section, not the echo
    yield stripped
    for match in _FENCED.finditer(stripped):
        yield match.group(1).strip()
    yield _OPEN_FENCE.sub("", stripped).strip()  # a fence opened and never closed


def _balanced(text: str, start: int) -> str | None:
    """The bracketed span opening at ``text[start]``, strings (either quote) respected."""
    pairs = {"{": "}", "[": "]"}
    stack: list[str] = []
    quote: str | None = None
    escaped = False
    i = start - 1
    while i + 1 < len(text):
        i += 1
        ch = text[i]
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif text.startswith("//", i):  # a copied schema comment may hold an apostrophe
            skip_to = text.find("\n", i)
            if skip_to < 0:
                return None
            i = skip_to
            continue
        elif ch in pairs:
            stack.append(pairs[ch])
        elif stack and ch == stack[-1]:
            stack.pop()
            if not stack:
                return text[start:i + 1]
    return None


def _relaxed(span: str) -> str:
    """``span`` without ``//`` / ``/* */`` comments and trailing commas (outside strings)."""
    out: list[str] = []
    i, quote = 0, None
    while i < len(span):
        ch = span[i]
        if quote:
            out.append(ch)
            if ch == "\\" and i + 1 < len(span):
                out.append(span[i + 1])
                i += 1
            elif ch == quote:
                quote = None
        elif ch == '"':
            quote = ch
            out.append(ch)
        elif span.startswith("//", i):
            end = span.find("\n", i)
            i = len(span) if end < 0 else end
            continue
        elif span.startswith("/*", i):
            end = span.find("*/", i + 2)
            i = len(span) if end < 0 else end + 2
            continue
        else:
            out.append(ch)
        i += 1
    return re.sub(r",(\s*[}\]])", r"\1", "".join(out))


def _decode(span: str) -> Any:
    """``span`` as JSON, relaxed JSON, or a Python literal (``{'a': True}``); raises ValueError."""
    for attempt in (span, _relaxed(span)):
        try:
            return json.loads(attempt)
        except json.JSONDecodeError:
            continue
    try:
        return ast.literal_eval(span)
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError) as exc:
        raise ValueError(str(exc)) from None


def _object_of(value: Any) -> FoundObject | None:
    if isinstance(value, dict):
        return FoundObject({str(k): v for k, v in value.items()})
    if isinstance(value, list) and value and isinstance(value[0], dict):
        notes = ["took the first object of a JSON list"]
        if len(value) > 1:
            notes = [f"took the first of {len(value)} objects in a JSON list (the rest dropped)"]
        return FoundObject({str(k): v for k, v in value[0].items()}, notes)
    return None


def find_objects(text: str) -> Iterator[FoundObject]:
    """Every JSON object the reply holds, best candidates first (may repeat one)."""
    for candidate in _candidates(str(text)):
        try:
            found = _object_of(json.loads(candidate))
        except json.JSONDecodeError:
            found = None
        if found is not None:
            yield found
        starts = [m.start() for m in re.finditer(r"[{\[]", candidate)][:MAX_STARTS]
        for start in starts:
            span = _balanced(candidate, start)
            if span is None:
                continue
            try:
                found = _object_of(_decode(span))
            except ValueError:
                continue
            if found is not None:
                yield found


def parse_reply(text: str) -> FoundObject:
    """The first JSON object in ``text`` (raises ``ReplyParseError`` when there is none)."""
    for found in find_objects(text):
        return found
    stripped = str(text).strip()
    if "{" not in stripped:
        raise ReplyParseError("reply holds no JSON object")
    raise ReplyParseError("reply is not valid JSON")


def parse_json_object(text: str) -> dict[str, Any]:
    """The first JSON object in ``text`` (code fences and surrounding prose tolerated)."""
    return parse_reply(text).value
