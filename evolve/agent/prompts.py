"""Prompt rendering for the fixed task agent (templates in ``evolve/templates``).

The templates wrap each variable part in a tag (``<instruction>``, ``<schema>``, ``<text>``,
``<question>``, ``<retrieved_memory>``) so that any model, including the offline stand-in, can
find the parts. The message layout follows DESIGN section 5.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import jinja2

from ..llm.base import Message

FieldSpec = dict[str, Any]  # {"name", "type", "description", "default"?}

_TYPE_PLACEHOLDER = {
    "str": '"<string>"',
    "int": "<integer>",
    "float": "<number>",
    "bool": "<true|false>",
    "list[str]": '["<string>", ...]',
}


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("evolve", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,  # prompts are plain text, not HTML
        auto_reload=False,  # templates ship with the package: no stat() per prompt
    )


def render(template: str, **context: Any) -> str:
    """Render ``evolve/templates/<template>`` with ``context``."""
    return _env().get_template(template).render(**context).strip()


def _placeholder(type_name: str) -> str:
    base = type_name
    optional = False
    if base.startswith("Optional[") and base.endswith("]"):
        base, optional = base[len("Optional["):-1], True
    elif base.endswith(" | None"):
        base, optional = base[: -len(" | None")], True
    text = _TYPE_PLACEHOLDER.get(base.replace("List[", "list[").replace(" ", ""), '"<string>"')
    return f"{text} or null" if optional else text


def render_schema(fields: Sequence[FieldSpec]) -> str:
    """Render dataclass fields as commented JSON, one field per line."""
    if not fields:
        return "{}"
    lines = ["{"]
    for index, spec in enumerate(fields):
        comma = "," if index < len(fields) - 1 else ""
        line = f"  {json.dumps(spec['name'])}: {_placeholder(str(spec.get('type', 'str')))}{comma}"
        description = str(spec.get("description") or "").strip().replace("\n", " ")
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
