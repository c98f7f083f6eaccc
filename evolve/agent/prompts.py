"""Prompt rendering for the fixed task agent (templates in ``evolve/templates``).

The templates wrap each variable part in a tag (``<instruction>``, ``<schema>``, ``<text>``,
``<question>``, ``<retrieved_memory>``) so that any model, including the offline stand-in, can
find the parts. The message layout is described in docs/architecture.md, "One evaluation".
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..llm.base import Message
from ..program.contract import normalise_type
from ..templating import render
from .schema_examples import example_value

FieldSpec = dict[str, Any]  # {"name", "type", "description", "default"?}


OPTIONAL_NOTE = "may be null"


def render_schema(fields: Sequence[FieldSpec]) -> str:
    """Render dataclass fields as commented JSON, one field per line.

    Each field shows an example value of its type (``schema_examples``), never a type
    placeholder such as ``"<string>"``, which small models copy into their replies; an
    Optional field's comment starts with "may be null".
    """
    if not fields:
        return "{}"
    lines = ["{"]
    for index, spec in enumerate(fields):
        comma = "," if index < len(fields) - 1 else ""
        value = json.dumps(example_value(spec), ensure_ascii=False)
        line = f"  {json.dumps(spec['name'])}: {value}{comma}"
        description = str(spec.get("description") or "").strip().replace("\n", " ")
        if normalise_type(str(spec.get("type", "str"))).startswith("Optional["):
            description = f"{OPTIONAL_NOTE}; {description}" if description else OPTIONAL_NOTE
        if description:
            line += f"  // {description}"
        lines.append(line)
    lines.append("}")
    return "\n".join(lines)


def system_message() -> Message:
    return {"role": "system", "content": render("system.j2")}


def extraction_messages(instruction: str, fields: Sequence[FieldSpec], raw_text: str) -> list[Message]:
    """Ingest step: episode text -> KnowledgeItem JSON."""
    user = render("extract_item.j2", instruction=instruction, schema=render_schema(fields),
                  raw_text=raw_text)
    return [system_message(), {"role": "user", "content": user}]


def query_messages(instruction: str, fields: Sequence[FieldSpec], question: str) -> list[Message]:
    """Query step: question -> Query JSON."""
    user = render("make_query.j2", instruction=instruction, schema=render_schema(fields),
                  question=question)
    return [system_message(), {"role": "user", "content": user}]


def answer_messages(query_prompt: list[Message], query_json: str, *, always_on: str,
                    retrieved: str, instruction: str, question: str) -> list[Message]:
    """Answer step: [query prompt][query JSON][retrieved memory + response instruction]."""
    final = render("answer.j2", always_on=always_on.strip(), retrieved=retrieved,
                   instruction=instruction, question=question)
    return [*query_prompt, {"role": "assistant", "content": query_json},
            {"role": "user", "content": final}]
