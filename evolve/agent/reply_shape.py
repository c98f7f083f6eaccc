"""Fit the keys of a reply object to the schema's fields, where the match is unambiguous.

Real models answer ``{"query": "Which jobs has Vera had?"}`` for a Query whose only text
field is ``question``, nest the object one level (``{"Query": {"question": ...}}``), or
write ``Keywords``. In order:

1. one extra nesting level is unwrapped (a single key holding an object);
2. keys equal to a field name up to case and separators (``Question``, ``key-words``) are
   taken as that field, silently;
3. a singular or plural of a field name (``keyword`` -> ``keywords``) and a near-synonym
   (query/question/q, text/content, answer/response, ...) map onto the one unfilled field of
   that meaning;
4. when the schema has exactly one text field (or one list field) and the reply exactly one
   unknown text (list) value, that value is the field;
5. the other unknown keys are dropped.
Every step after 2 is a guess or a loss and leaves a note; ``coerce`` counts the notes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ..program.contract import normalise_type

# Near-synonyms: a key of one group may stand for a field whose name is in the same group.
SYNONYMS: tuple[frozenset[str], ...] = tuple(frozenset(group.split()) for group in (
    "question query q search search_query query_text question_text lookup request",
    "text content body raw raw_text passage",
    "answer response reply result output",
    "keywords keyword key_words tags tag terms topics cues search_terms",
    "summary gist abstract overview synopsis",
    "date time timestamp datetime when",
))


def norm_key(key: str) -> str:
    """``"Key-Words "`` -> ``"key_words"``; ``"searchQuery"`` -> ``"search_query"``."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(key).strip())
    return re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")


def base_type(spec: dict[str, Any]) -> str:
    """``str``, ``int``, ``float``, ``bool`` or ``list[str]`` (``Optional`` removed)."""
    type_name = normalise_type(str(spec.get("type", "str")))
    if type_name.startswith("Optional["):
        return type_name[len("Optional["):-1]
    return type_name


def _number_variants(name: str) -> set[str]:
    variants = {name + "s", name + "es"}
    if name.endswith("ies"):
        variants.add(name[:-3] + "y")
    if name.endswith("es"):
        variants.add(name[:-2])
    if name.endswith("s"):
        variants.add(name[:-1])
    if name.endswith("y"):
        variants.add(name[:-1] + "ies")
    return variants - {name}


def unwrap(reply: dict[str, Any], fields: Sequence[dict[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    """``{"Query": {...}}`` -> ``{...}`` (one level), when the key is no field name or the
    inner object names one."""
    if len(reply) != 1:
        return reply, []
    ((key, inner),) = reply.items()
    if not isinstance(inner, dict) or not inner:
        return reply, []
    names = {norm_key(f["name"]) for f in fields}
    if norm_key(key) in names and not names & {norm_key(k) for k in inner}:
        return reply, []  # a field that holds an object: coerce turns it into text
    return dict(inner), [f"unwrapped the object under {key!r}"]


def fit_keys(reply: dict[str, Any], fields: Sequence[dict[str, Any]]
             ) -> tuple[dict[str, Any], list[str]]:
    """Reply values by field name (only fields the reply gave), and the notes of the guesses."""
    reply, notes = unwrap(reply, fields)
    by_norm = {norm_key(f["name"]): str(f["name"]) for f in fields}
    fitted: dict[str, Any] = {}
    unknown: dict[str, Any] = {}
    for key, value in reply.items():  # step 2: exact up to case and separators
        name = by_norm.get(norm_key(key))
        if name is None:
            unknown[key] = value
        elif name in fitted:
            notes.append(f"dropped key {key!r}: field {name!r} was already given")
        else:
            fitted[name] = value
    for key in list(unknown):  # step 3: singular/plural, then near-synonyms
        name = _match(norm_key(key), by_norm, fitted)
        if name is not None:
            fitted[name] = unknown.pop(key)
            notes.append(f"mapped key {key!r} to field {name!r}")
    for kind in ("str", "list[str]"):  # step 4: the one field of a kind takes the one value
        of_kind = [str(f["name"]) for f in fields if base_type(f) == kind]
        values = [k for k, v in unknown.items() if _is_kind(v, kind)]
        if len(of_kind) == 1 and of_kind[0] not in fitted and len(values) == 1:
            fitted[of_kind[0]] = unknown.pop(values[0])
            what = "text" if kind == "str" else "list"
            notes.append(f"mapped key {values[0]!r} onto the only {what} field {of_kind[0]!r}")
    notes.extend(f"dropped unknown key {key!r}" for key in unknown)  # step 5
    return fitted, notes


def _is_kind(value: Any, kind: str) -> bool:
    if kind == "str":
        return isinstance(value, str) and bool(value.strip())
    return isinstance(value, list) and bool(value)


def _match(key: str, by_norm: dict[str, str], fitted: dict[str, Any]) -> str | None:
    """The one unfilled field ``key`` stands for, by number variant, then synonym group."""
    open_fields = {n: name for n, name in by_norm.items() if name not in fitted}
    variants = [n for n in open_fields if n in _number_variants(key)]
    if len(variants) == 1:
        return open_fields[variants[0]]
    groups = [g for g in SYNONYMS if key in g]
    candidates = {open_fields[n] for n in open_fields for g in groups if n in g}
    return candidates.pop() if len(candidates) == 1 else None
