"""Load, validate and serialise campaign configurations (TOML -> ``CampaignConfig``).

Contract:
- ``load_config(path, overrides)`` returns a fully validated ``CampaignConfig`` or raises
  ``UsageError`` with ONE line that names the file (or the override), the ``section.key`` and,
  for unknown keys, the closest valid key. Nothing else is raised for bad input.
- Validation is driven by the dataclasses in ``evolve.config.sections``: a field added there is
  loadable at once (its type is checked from the annotation); value rules live in
  ``evolve.config.rules.RULES``.
- ``config_to_dict`` / ``config_from_dict`` round-trip exactly (JSON-able, for the campaign
  record and ``evolve resume``).
- Seeds are names of shipped seeds (``evolve seeds``) or paths to ``.py`` files, relative paths
  being resolved against the config file's directory (``resolve_seeds``).
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import math
import tomllib
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from evolve.errors import UsageError
from evolve.seeds import list_seeds, program_file_source, seed_path

from .rules import RULES
from .sections import CampaignConfig

SECTIONS: dict[str, type] = {f.name: typing.get_type_hints(CampaignConfig)[f.name]
                             for f in dataclasses.fields(CampaignConfig)}


def _hints(section: str) -> dict[str, Any]:
    return typing.get_type_hints(SECTIONS[section])


def _field_names(section: str) -> list[str]:
    return [f.name for f in dataclasses.fields(SECTIONS[section])]


# -- type checking ------------------------------------------------------------------------------

def _describe(value: Any) -> str:
    kinds = {bool: "a boolean", int: "an integer", float: "a float", str: "a string",
             list: "a list", dict: "a table"}
    for kind, name in kinds.items():
        if type(value) is kind:
            return name
    if isinstance(value, (datetime.date, datetime.time)):
        return "a date/time"
    return type(value).__name__


def _type_name(tp: Any) -> str:
    names = {bool: "a boolean (true/false)", int: "an integer", float: "a number",
             str: "a string"}
    if tp in names:
        return names[tp]
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is list:
        plural = {str: "strings", float: "numbers", int: "integers"}.get(args[0], str(args[0]))
        return f"a list of {plural}"
    if origin is dict:
        return "a table"
    return str(tp)


def _coerce(value: Any, tp: Any) -> tuple[Any, str | None]:
    """(converted value, None) or (None, error text) for a TOML value and a field type."""
    if tp is Any:  # a pass-through table (request fields): any TOML value but dates
        if isinstance(value, (datetime.date, datetime.time)):
            return None, f"dates and times are not allowed here, got {value!r}"
        return value, None
    if tp is bool:
        return (value, None) if isinstance(value, bool) else (None, "")
    if tp is int:
        return (value, None) if isinstance(value, int) and not isinstance(value, bool) else (None, "")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                return None, f"must be a finite number, got {value!r}"
            return float(value), None
        return None, ""
    if tp is str:
        return (value, None) if isinstance(value, str) else (None, "")
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is list:
        if not isinstance(value, list):
            return None, ""
        out = []
        for index, element in enumerate(value):
            converted, error = _coerce(element, args[0])
            if error is not None:
                return None, (error or f"element {index}: expected {_type_name(args[0])}, "
                                       f"got {element!r} ({_describe(element)})")
            out.append(converted)
        return out, None
    if origin is dict:
        if not isinstance(value, dict):
            return None, ""
        result: dict[str, Any] = {}
        for key, element in value.items():
            if args[1] is str and isinstance(element, (int, float, bool)):
                # task arguments are strings on the command line; accept TOML scalars too
                element = str(element).lower() if isinstance(element, bool) else str(element)
            converted, error = _coerce(element, args[1])
            if error is not None:
                return None, (error or f"{key!r}: expected {_type_name(args[1])}, "
                                       f"got {element!r} ({_describe(element)})")
            result[str(key)] = converted
        return result, None
    raise TypeError(f"config field type {tp!r} is not supported by the loader")


# -- unknown keys -------------------------------------------------------------------------------

def _all_keys() -> list[str]:
    return [f"{s}.{k}" for s in SECTIONS for k in _field_names(s)]


def _suggest(key: str, section: str | None) -> str:
    """'; did you mean X?' for an unknown key, or '' when nothing is close."""
    if section is not None:
        elsewhere = [full for full in _all_keys() if full.split(".", 1)[1] == key]
        if elsewhere:
            return f"; did you mean {elsewhere[0]}?"
        close = difflib.get_close_matches(key, _field_names(section), n=1, cutoff=0.6)
        if close:
            return f"; did you mean {section}.{close[0]}?"
    candidates = list(SECTIONS) if section is None else _all_keys()
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
    if not close and section is None:  # a bare field name written at the top level
        close = [full for full in _all_keys() if full.split(".", 1)[1] == key][:1]
    return f"; did you mean {close[0]}?" if close else ""


# -- building -----------------------------------------------------------------------------------

def _build(raw: Mapping[str, Any], label: Callable[[str], str]) -> CampaignConfig:
    """Validate a {section: {key: value}} mapping; ``label(dotted_key)`` prefixes errors."""
    sections: dict[str, Any] = {}
    for name, table in raw.items():
        if name not in SECTIONS:
            kind = "section" if isinstance(table, dict) else "top-level key"
            raise UsageError(f"{label(name)}: {name}: unknown {kind}{_suggest(name, None)} "
                             f"(valid sections: {', '.join(SECTIONS)})")
        if not isinstance(table, dict):
            raise UsageError(f"{label(name)}: [{name}] must be a table, got {_describe(table)}")
        hints = _hints(name)
        values: dict[str, Any] = {}
        for key, value in table.items():
            dotted = f"{name}.{key}"
            if key not in hints:
                raise UsageError(f"{label(dotted)}: {dotted}: unknown key{_suggest(key, name)}")
            converted, error = _coerce(value, hints[key])
            if error is not None:
                raise UsageError(f"{label(dotted)}: {dotted}: "
                                 + (error or f"expected {_type_name(hints[key])}, "
                                             f"got {value!r} ({_describe(value)})"))
            rule = RULES.get(dotted)
            problem = rule(converted) if rule else None
            if problem:
                raise UsageError(f"{label(dotted)}: {dotted}: {problem}")
            values[key] = converted
        sections[name] = SECTIONS[name](**values)
    config = CampaignConfig(**sections)
    _check_task(config, label)
    return config


def _check_task(config: CampaignConfig, label: Callable[[str], str]) -> None:
    """Task name and argument names/choices, so mistakes surface with the file name."""
    from evolve.tasks.registry import TASKS

    name = config.task.name
    spec = TASKS.get(name)
    if spec is None:
        close = difflib.get_close_matches(name, list(TASKS), n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UsageError(f"{label('task.name')}: task.name: unknown task {name!r}{hint} "
                         f"(valid: {', '.join(sorted(TASKS))})")
    valid = [a.name for a in spec.args]
    for key, value in config.task.args.items():
        arg = spec.arg(key)
        where = f"{label('task.args.' + key)}: task.args.{key}"
        if arg is None:
            close = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
            hint = f"; did you mean task.args.{close[0]}?" if close else ""
            raise UsageError(f"{where}: unknown argument of task {name}{hint} "
                             f"(valid: {', '.join(valid)})")
        if arg.choices and value not in arg.choices:
            raise UsageError(f"{where}: expected one of {', '.join(arg.choices)}, got {value!r}")


def _parse_override(text: str) -> tuple[list[str], Any]:
    key, sep, value = text.partition("=")
    parts = [p.strip() for p in key.strip().split(".")]
    if not sep or len(parts) < 2 or not all(parts):
        raise UsageError(f"override {text!r}: expected section.key=value, e.g. search.iterations=5")
    try:
        parsed: Any = tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value.strip()  # a bare word: take it as a string
    return parts, parsed


def _apply_override(raw: dict[str, Any], text: str) -> str:
    """Apply one override to the raw mapping; returns the dotted key it set."""
    parts, value = _parse_override(text)
    section, key = parts[0], parts[1]
    field_type = _hints(section).get(key) if section in SECTIONS else None
    if len(parts) > 2:  # task.args.size=small sets one entry of a table field
        if field_type is None or typing.get_origin(field_type) is not dict:
            raise UsageError(f"override {text!r}: {section}.{key} is not a table")
        entry_type = typing.get_args(field_type)[1]
        if entry_type is str and not isinstance(value, str):
            value = text.partition("=")[2].strip()
        table = raw.setdefault(section, {}).setdefault(key, {})
        inner = parts[2:]
        if typing.get_origin(entry_type) is dict and len(inner) > 1 and isinstance(table, dict):
            # a table of tables: models.extra_body.task.top_k=40
            table, inner = table.setdefault(inner[0], {}), inner[1:]
        if not isinstance(table, dict):
            raise UsageError(f"override {text!r}: {section}.{key} is not a table")
        table[".".join(inner)] = value
        return f"{section}.{key}.{'.'.join(parts[2:])}"
    raw_text = text.partition("=")[2].strip()
    if field_type is str and not isinstance(value, str):
        value = raw_text  # campaign.name=2024 means the string "2024"
    elif typing.get_origin(field_type) is list and isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]  # seeds=a,b
    target = raw.setdefault(section, {})
    if not isinstance(target, dict):
        raise UsageError(f"override {text!r}: {section} is not a table")
    target[key] = value
    return f"{section}.{key}"


def load_config(path: str | Path, overrides: Iterable[str] = ()) -> CampaignConfig:
    """Read, override and validate a campaign TOML file (see the module contract)."""
    path = Path(path)
    name = str(path)
    if not path.is_file():
        raise UsageError(f"{name}: config file not found" if not path.exists()
                         else f"{name}: not a file")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{name}: invalid TOML: {' '.join(str(exc).split())}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{name}: cannot read: {exc}") from None
    origins: dict[str, str] = {}
    for text in overrides:
        origins[_apply_override(raw, text)] = f"{name}: override {text!r}"

    def label(dotted: str) -> str:
        for key, where in origins.items():
            if dotted == key or dotted.startswith(key + ".") or key.startswith(dotted + "."):
                return where
        return name

    config = _build(raw, label)
    try:
        resolve_seeds(config, path.parent)
    except UsageError as exc:
        raise UsageError(f"{label('search.seeds')}: {exc}") from None
    return config


# -- seeds --------------------------------------------------------------------------------------

def _looks_like_path(entry: str) -> bool:
    return entry.endswith(".py") or "/" in entry or "\\" in entry or entry.startswith("~")


def resolve_seeds(config: CampaignConfig, config_dir: str | Path) -> list[tuple[str, str]]:
    """[(name, source)] for ``search.seeds``, in the given order.

    An entry that looks like a path (ends in .py or holds a separator) is a file, relative to
    ``config_dir``; a bare ``name.py`` that is no file but a shipped seed is that seed. Other
    entries are seed names. The name of a file seed is its stem. Raises UsageError starting
    with "search.seeds:" for a missing file, an unknown name or two seeds with the same name.
    """
    out: list[tuple[str, str]] = []
    for entry in config.search.seeds:
        entry = entry.strip()
        if _looks_like_path(entry):
            candidate = Path(entry).expanduser()
            if not candidate.is_absolute():
                candidate = Path(config_dir) / candidate
            known = {info.name for info in list_seeds()}
            if candidate.is_file():
                file = candidate
            elif "/" not in entry and "\\" not in entry and entry[:-3] in known:
                file = seed_path(entry)
            else:
                raise UsageError(f"search.seeds: seed file not found: {entry}")
            name = file.stem
        else:
            valid = [info.name for info in list_seeds()]
            if entry not in valid:
                close = difflib.get_close_matches(entry, valid, n=1, cutoff=0.5)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise UsageError(f"search.seeds: unknown seed {entry!r}{hint} (see `evolve seeds`, "
                                 "or give a path to a .py file)")
            file, name = seed_path(entry), entry
        try:
            source = program_file_source(file)  # a seed file (or copy): its helpers inlined
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"search.seeds: cannot read {entry}: {exc}") from None
        except UsageError as exc:  # SeedBuildError: its shared helpers cannot be inlined
            raise UsageError(f"search.seeds: {exc}") from None
        if any(name == seen for seen, _ in out):
            raise UsageError(f"search.seeds: two seeds are named {name!r}; rename one file")
        out.append((name, source))
    return out


# -- serialisation ------------------------------------------------------------------------------

def config_to_dict(config: CampaignConfig) -> dict[str, Any]:
    """A JSON-able {section: {key: value}} copy of ``config``."""
    return dataclasses.asdict(config)


def config_from_dict(data: Mapping[str, Any]) -> CampaignConfig:
    """Inverse of ``config_to_dict`` (validated the same way; missing keys take defaults)."""
    if not isinstance(data, Mapping):
        raise UsageError(f"campaign record: config must be an object, got {_describe(data)}")
    return _build(dict(data), lambda _key: "campaign record")
