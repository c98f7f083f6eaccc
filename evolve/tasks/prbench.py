"""PRBench (professional reasoning: finance and legal, rubric-scored) from user-supplied files.

File format (the released Parquet splits, or the same rows as ``.jsonl`` / a ``.json`` list)::

    {"task": "id", "field": "Finance" | "Legal", "topic": "...",
     "prompt_0": "...", "response_0": "...", "reference_texts_0": ["..."], "prompt_1": ...,
     "rubric": [{"id": "...", "title": "criterion text",
                 "annotations": {"weight_class": "critically important", ...,
                                 "criteria_category": "...", "criteria_description": "..."}}],
     "scratchpad": "expert notes (optional)"}

A conversation has up to N turns: ``prompt_i`` (user), ``response_i`` (an earlier assistant
reply, absent for the last turn) and ``reference_texts_i`` (documents placed before that
prompt). Extra keys are ignored. Criterion points come from ``weight_class`` (docs/tasks.md,
"Rubric scoring": critically important 10, important 5, slightly important 2, slightly
detrimental -2, detrimental -5, critically detrimental -10); a numeric ``<class>_weight``
annotation is used only for a class outside that table. The hard subsets (``finance_hard``, ``legal_hard``) are
the records of files whose name contains "hard"; they are left out by default as in M*.
Category = ``topic`` (``category=field`` for the field); ``fields=finance`` keeps one field.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import UsageError
from .jsonl_task import expect_object, field_of, id_of
from .rubric import (
    Criterion,
    ExpertRecord,
    RubricTask,
    expand_paths,
    load_rubric_files,
    parse_list_arg,
    render_messages,
)
from .splits import Size

WEIGHTS: dict[str, float] = {
    "critically important": 10, "important": 5, "slightly important": 2,
    "slightly detrimental": -2, "detrimental": -5, "critically detrimental": -10,
}
FIELD_ALIASES = {"law": "legal"}
CATEGORY_BY = ("topic", "field")
_TURN_KEY = re.compile(r"^(?:prompt|response|reference_texts)_(\d+)$")


def _scalar(value: Any) -> Any:
    """Some exports wrap scalars in one-element lists: unwrap them."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _weight(where: str, label: str, annotations: dict[str, Any]) -> float:
    raw = _scalar(annotations.get("weight_class"))
    if not isinstance(raw, str):
        raise UsageError(f"{where}: field '{label}.annotations.weight_class' missing or not a "
                         "string")
    name = " ".join(raw.replace("_", " ").lower().split())
    if name in WEIGHTS:
        return float(WEIGHTS[name])
    number = _scalar(annotations.get(f"{name.replace(' ', '_')}_weight"))
    if isinstance(number, (int, float)) and not isinstance(number, bool):
        return float(number)
    raise UsageError(f"{where}: field '{label}.annotations.weight_class' must be one of "
                     f"{', '.join(WEIGHTS)}, got {raw!r}")


def _criteria(where: str, rubric: list[Any]) -> tuple[Criterion, ...]:
    if not rubric:
        raise UsageError(f"{where}: field 'rubric' is an empty list")
    out: list[Criterion] = []
    for k, entry in enumerate(rubric):
        label = f"rubric[{k}]"
        if not isinstance(entry, dict):
            raise UsageError(f"{where}: field '{label}' must be an object")
        annotations = field_of(where, entry, "annotations", dict, label=f"{label}.annotations")
        title = _scalar(entry.get("title"))
        if not isinstance(title, str) or not title.strip():
            title = _scalar(annotations.get("criteria_description"))
        if not isinstance(title, str) or not title.strip():
            raise UsageError(f"{where}: field '{label}.title' missing or not a string")
        category = _scalar(annotations.get("criteria_category"))
        tags = (f"category:{category}",) if isinstance(category, str) and category else ()
        out.append(Criterion(title.strip(), _weight(where, label, annotations), tags))
    return tuple(out)


def _conversation(where: str, obj: dict[str, Any]) -> list[tuple[str, str]]:
    turns = sorted({int(m.group(1)) for k in obj if (m := _TURN_KEY.match(k))})
    messages: list[tuple[str, str]] = []
    for turn in turns:
        refs = obj.get(f"reference_texts_{turn}") or []
        if isinstance(refs, str):
            refs = [refs]
        if not isinstance(refs, list):
            raise UsageError(f"{where}: field 'reference_texts_{turn}' must be a list of strings")
        prompt = obj.get(f"prompt_{turn}")
        if prompt is not None and not isinstance(prompt, str):
            raise UsageError(f"{where}: field 'prompt_{turn}' must be a string")
        if prompt and prompt.strip():
            docs = [f"Reference text {i + 1}:\n{str(r).strip()}" for i, r in enumerate(refs)
                    if str(r).strip()]
            messages.append(("user", "\n\n".join([*docs, prompt.strip()])))
        response = obj.get(f"response_{turn}")
        if isinstance(response, str) and response.strip():
            messages.append(("assistant", response.strip()))
    if not messages or messages[-1][0] != "user":
        raise UsageError(f"{where}: missing field 'prompt_0' (no user prompt to answer)" if
                         not messages else f"{where}: the conversation must end with a prompt")
    return messages


def parse_prbench_row(where: str, value: Any, category_by: str = "topic") -> ExpertRecord:
    """One PRBench row -> ``ExpertRecord`` (errors name ``where`` and the field)."""
    obj = expect_object(where, value)
    record_id = id_of(where, obj, "task")
    field_name = _scalar(obj.get("field"))
    field_name = field_name.strip() if isinstance(field_name, str) and field_name.strip() \
        else "unknown"
    topic = _scalar(obj.get("topic"))
    topic = topic.strip() if isinstance(topic, str) and topic.strip() else ""
    rubric = field_of(where, obj, "rubric", list)
    criteria = _criteria(where, rubric)
    messages = _conversation(where, obj)
    notes = obj.get("scratchpad")
    category = topic if category_by == "topic" and topic else field_name.lower()
    return ExpertRecord(id=record_id, conversation=render_messages(messages),
                        criteria=criteria, category=category,
                        meta={"field": field_name.lower(), "topic": topic,
                              "notes": notes if isinstance(notes, str) else ""})


def make_prbench(path: str, *, fields: str = "all", topics: str = "all",
                 category_by: str = "topic", hard: str = "exclude",
                 experience: str = "rubric", experience_limit: int | None = None,
                 seed: int = 0, test: Size = 0.2, train: Size = 0.3) -> RubricTask:
    """Build the task from ``path`` (files, directories, comma-separated; module docstring)."""
    if category_by not in CATEGORY_BY:
        raise UsageError(f"bad value for category: {category_by!r} (choose from "
                         f"{', '.join(CATEGORY_BY)})")
    files = expand_paths(path)
    records, info = load_rubric_files(
        files, lambda where, value: parse_prbench_row(where, value, category_by), hard)
    wanted = parse_list_arg(fields)
    if wanted:
        wanted = [FIELD_ALIASES.get(f.lower(), f.lower()) for f in wanted]
        present = {r.meta["field"] for r in records}
        unknown = [f for f in wanted if f not in present]
        if unknown:
            raise UsageError(f"bad value for fields: {unknown[0]!r} (fields in the data: "
                             f"{', '.join(sorted(present)) or 'none'})")
        records = [r for r in records if r.meta["field"] in wanted]
    wanted_topics = parse_list_arg(topics)
    if wanted_topics:
        topic_names = {r.meta["topic"].lower(): r.meta["topic"] for r in records}
        unknown = [t for t in wanted_topics if t.lower() not in topic_names]
        if unknown:
            raise UsageError(f"bad value for topics: {unknown[0]!r} (topics in the data: "
                             f"{', '.join(sorted(topic_names.values())) or 'none'})")
        low = {t.lower() for t in wanted_topics}
        records = [r for r in records if r.meta["topic"].lower() in low]
    return RubricTask(records, name="prbench", source=",".join(map(str, files)), seed=seed,
                      test=test, train=train, experience=experience,
                      experience_limit=experience_limit,
                      extra_description={**info, "fields": wanted or "all",
                                         "topics": wanted_topics or "all",
                                         "weights": WEIGHTS})
