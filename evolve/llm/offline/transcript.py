"""Offline model for interactive tasks: the transcript schema filler.

Extraction of a transcript ("Your task is to:" line and "> action" lines): goal-like fields
get the goal and the object-level actions, step-like fields every action in order, lesson-
like fields the object-level actions, summaries a one-line account, keywords the objects.
"""

from __future__ import annotations

import re
from typing import Any

from .action import ACTION_LINE, GOAL_LINE, PROGRESS_SKIP, has_prefix
from .fill import FieldSpec, field_role


def is_transcript(text: str) -> bool:
    """True for an interactive transcript: a goal line and at least one "> action" line."""
    lines = text.splitlines()
    return any(GOAL_LINE.search(ln) for ln in lines[:3]) and \
        any(ACTION_LINE.match(ln) for ln in lines)


_ROLE_NAMES: tuple[tuple[str, frozenset[str]], ...] = (
    ("goal", frozenset("goal goals task objective scenario title name intent".split())),
    ("steps", frozenset("steps step actions action workflow procedure plan trajectory "
                        "subtasks patterns pattern sequence".split())),
    ("none", frozenset("failure failures triggers mistakes errors pitfalls".split())),
    ("lessons", frozenset("insights insight lessons lesson facts fact notes note memories "
                          "memory rules rule tips knowledge updates archival".split())),
    ("keywords", frozenset("keywords keyword tags tag cues cue objects entities".split())),
    ("summary", frozenset("summary description context gist overview core".split())),
)


def _transcript_role(spec: FieldSpec) -> str | None:
    parts = [w.lower() for w in re.split(r"[_\-\s]+", spec.name) if w]
    for group in (parts[-1:], parts):
        for role, vocab in _ROLE_NAMES:
            if any(w in vocab for w in group):
                return role
    return field_role(spec)


def fill_transcript_item(fields: list[FieldSpec], text: str) -> dict[str, Any]:
    """KnowledgeItem JSON for a transcript (see the module docstring)."""
    lines = text.splitlines()
    goal = next((m.group(1).strip() for ln in lines[:3] if (m := GOAL_LINE.search(ln))), "")
    actions = [m.group(1) for ln in lines if (m := ACTION_LINE.match(ln))]
    progress = [a for a in actions if not has_prefix(a, PROGRESS_SKIP)]
    objects = list(dict.fromkeys(
        m.group(1) for a in actions if (m := re.match(r"(?:take|pick up|get)\s+(.+?)"
                                                      r"(?:\s+from\s.+)?$", a, re.I))))
    headline = f"{goal} ({'; '.join(progress)})" if progress else goal
    summary = f"Goal: {goal}. Actions: {'; '.join(actions)}."
    out: dict[str, Any] = {}
    for spec in fields:
        role = _transcript_role(spec)
        value: Any = {"goal": headline, "question": headline, "steps": actions,
                      "lessons": progress, "keywords": objects, "summary": summary,
                      "raw": text, "none": [], "date": "", "speakers": [],
                      "entities": objects, "type": "task", "facts": progress}.get(
            role or "", summary if spec.type == "str" else progress)
        if spec.type == "bool":
            out[spec.name] = False
        elif spec.type in ("int", "float"):
            out[spec.name] = 0.0 if spec.type == "float" else 0
        elif spec.type == "list":
            out[spec.name] = [str(v) for v in (value if isinstance(value, list) else [value])
                              if str(v).strip()]
        else:
            text_value = "\n".join(map(str, value)) if isinstance(value, list) else str(value)
            out[spec.name] = None if spec.optional and not text_value else text_value
    return out
