"""The load + smoke gate: one ``write`` and one ``read`` with filler values in the sandbox."""

from __future__ import annotations

from typing import Any

from ..agent.coerce import coerce_fields

FILLER_TEXT = "[9:00 am on 1 January, 2024]\nAlex: This is a filler episode for the smoke test."


def filler_values(fields: list[dict[str, Any]]) -> dict[str, Any]:
    """Plausible non-empty values for every field (strings say "filler", lists hold one)."""
    raw: dict[str, Any] = {}
    for spec in fields:
        type_name = str(spec.get("type", "str")).replace(" ", "")
        if "list[" in type_name.lower():
            raw[spec["name"]] = ["filler"]
        elif "bool" in type_name:
            raw[spec["name"]] = False
        elif "int" in type_name or "float" in type_name:
            raw[spec["name"]] = 0
        else:
            raw[spec["name"]] = "filler"
    return coerce_fields(raw, fields)


def run_smoke(session: Any, info: Any) -> str:
    """Write one filler item and read one filler query; returns what ``read`` gave.

    ``session`` is a started ``evolve.jail.SandboxSession``; its exceptions
    (``ProgramRaised``, ``RuntimeViolation``) propagate to the caller, which records them
    as a gate failure of stage "smoke".
    """
    session.write(filler_values(info.item_fields), FILLER_TEXT)
    result = session.read(filler_values(info.query_fields))
    if not isinstance(result, str):
        raise TypeError(f"read() must return str, got {type(result).__name__}")
    return result
