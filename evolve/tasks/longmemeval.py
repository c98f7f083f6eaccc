"""The LongMemEval task: one memory per question, scored by a type-specific LLM judge.

File format (``longmemeval_s.json``, ``_m`` or ``_oracle``; users bring their own copy): a JSON
list of questions ``{question_id, question_type, question, answer, question_date,
haystack_session_ids, haystack_dates, haystack_sessions, answer_session_ids}``.
``haystack_sessions`` is a list of sessions, each a list of turns ``{role, content,
has_answer?}``, parallel to ``haystack_session_ids`` and ``haystack_dates``. A ``question_id``
ending in ``_abs`` marks an abstention question (its ``answer`` explains why it cannot be
answered). Answers may be numbers (cast to str). Anything else that is wrong (not JSON, missing
keys, wrong types, lists of different lengths, empty) raises ``UsageError`` with one line
naming the file, the entry and the field.

Mapping to the task contract: Group = one question with its own haystack; Episode = one
session rendered like a LoCoMo session: a ``[date]`` line then ``User: ...`` / ``Assistant:
...`` lines (dates like "2023/05/30 (Tue) 23:40" become "Tuesday, 30 May, 2023, 23:40");
EvalItem = the question with " (asked on DATE)" appended, category = ``question_type``;
evidence = the turns marked ``has_answer`` (else the answer sessions), for ``--oracle`` only.
Scoring: one judge call with the prompt for the question's type (``judge_longmemeval.j2``):
temporal questions tolerate off-by-one day counts, knowledge-update questions accept earlier
values next to the latest, preference questions are checked against the rubric in ``answer``,
and abstention questions ask whether the response declined to answer. Score 1 for "yes".
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .answer_judge import judge_answer
from .base import AgentMode, Episode, EvalItem, Group, Judge, ScoreResult, Split
from .locomo import load_locomo_json
from .splits import Size, assign_splits, check_split

QUESTION_TYPES: dict[str, str] = {
    "single-session-user": "single-session-user",
    "single-session-assistant": "single-session-assistant",
    "single-session-preference": "single-session-preference",
    "temporal-reasoning": "temporal-reasoning",
    "knowledge-update": "knowledge-update",
    "multi-session": "multi-session",
}
ABSTENTION_MODES = ("include", "exclude", "only")
_JUDGE_KINDS = ("temporal-reasoning", "knowledge-update", "single-session-preference")
_DATE = re.compile(r"^\s*(\d{4})/(\d{1,2})/(\d{1,2})(?:\s*\(\w+\))?(?:\s+(\d{1,2}):(\d{2}))?\s*$")


def render_date(value: str) -> str:
    """"2023/05/30 (Tue) 23:40" -> "Tuesday, 30 May, 2023, 23:40"; other text unchanged."""
    m = _DATE.match(value)
    if not m:
        return value.strip()
    try:
        day = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return value.strip()
    text = f"{day:%A}, {day.day} {day:%B}, {day.year}"
    return f"{text}, {int(m.group(4)):02d}:{m.group(5)}" if m.group(4) else text


def is_abstention_id(question_id: str) -> bool:
    return question_id.endswith("_abs")


@dataclass(frozen=True)
class _Question:
    raw: dict[str, Any]
    group: Group
    abstention: bool


def _fail(where: str, message: str) -> UsageError:
    return UsageError(f"{where}: {message}")


def _text_field(entry: dict[str, Any], key: str, where: str, *, numbers: bool = False) -> str:
    if key not in entry:
        raise _fail(where, f"missing field '{key}'")
    value = entry[key]
    allowed = (str, int, float) if numbers else (str,)
    if isinstance(value, bool) or not isinstance(value, allowed):
        kind = "a string or a number" if numbers else "a string"
        raise _fail(where, f"field '{key}' must be {kind}, got {type(value).__name__}")
    return str(value)


def _list_field(entry: dict[str, Any], key: str, where: str) -> list[Any]:
    if key not in entry:
        raise _fail(where, f"missing field '{key}'")
    if not isinstance(entry[key], list):
        raise _fail(where, f"field '{key}' must be a list, got {type(entry[key]).__name__}")
    return entry[key]


def _render_session(turns: list[Any], date: str, where: str) -> tuple[str, list[str]]:
    """Session text and its has_answer turns (rendered with the date)."""
    lines = [f"[{date}]"] if date else []
    marked: list[str] = []
    for k, turn in enumerate(turns):
        if not isinstance(turn, dict):
            raise _fail(where, f"turn {k} must be an object with 'role' and 'content'")
        for key in ("role", "content"):
            if not isinstance(turn.get(key), str):
                raise _fail(where, f"turn {k}: field '{key}' missing or not a string")
        line = f"{turn['role'].strip().capitalize()}: {turn['content'].strip()}"
        lines.append(line)
        if turn.get("has_answer") is True:
            marked.append(f"[{date}] {line}" if date else line)
    return "\n".join(lines), marked


def _parse_question(entry: Any, index: int, source: str) -> _Question:
    where = f"{source}: entry {index}"
    if not isinstance(entry, dict):
        raise _fail(where, f"expected an object, got {type(entry).__name__}")
    qid = _text_field(entry, "question_id", where)
    where = f"{source}: entry {index} (question_id {qid!r})"
    qtype = _text_field(entry, "question_type", where).strip()
    question = _text_field(entry, "question", where).strip()
    if not question:
        raise _fail(where, "field 'question' is empty")
    answer = _text_field(entry, "answer", where, numbers=True)
    asked = _text_field(entry, "question_date", where)
    ids = _list_field(entry, "haystack_session_ids", where)
    dates = _list_field(entry, "haystack_dates", where)
    sessions = _list_field(entry, "haystack_sessions", where)
    if not (len(ids) == len(dates) == len(sessions)):
        raise _fail(where, f"'haystack_session_ids', 'haystack_dates' and 'haystack_sessions' "
                           f"must have the same length (got {len(ids)}, {len(dates)}, "
                           f"{len(sessions)})")
    answer_ids = entry.get("answer_session_ids", [])
    if not isinstance(answer_ids, list):
        raise _fail(where, "field 'answer_session_ids' must be a list")
    episodes: list[Episode] = []
    marked: list[str] = []
    by_session: dict[str, str] = {}
    for k, (sid, date, turns) in enumerate(zip(ids, dates, sessions, strict=True)):
        if not isinstance(sid, (str, int)) or isinstance(sid, bool):
            raise _fail(where, f"'haystack_session_ids[{k}]' must be a string")
        if not isinstance(date, str):
            raise _fail(where, f"'haystack_dates[{k}]' must be a string")
        if not isinstance(turns, list):
            raise _fail(where, f"'haystack_sessions[{k}]' must be a list of turns")
        shown = render_date(date)
        text, hits = _render_session(turns, shown, f"{where} haystack_sessions[{k}]")
        marked.extend(hits)
        by_session[str(sid)] = text
        if turns:  # an empty session carries nothing to remember
            episodes.append(Episode(id=f"{qid}:{sid}:{k}", text=text,
                                    meta={"session_id": str(sid), "date_time": shown,
                                          "question_id": qid}))
    evidence = marked or [by_session[str(s)] for s in answer_ids if str(s) in by_session]
    abstention = is_abstention_id(qid)
    item = EvalItem(
        id=qid, question=f"{question} (asked on {render_date(asked)})", gold=answer,
        category=qtype, evidence=tuple(dict.fromkeys(evidence)),
        meta={"question": question, "question_date": asked, "abstention": abstention,
              "answer_session_ids": [str(s) for s in answer_ids]})
    return _Question(entry, Group(id=qid, episodes=tuple(episodes), items=(item,)), abstention)


def parse_questions(data: Any, source: str) -> list[_Question]:
    """Validate decoded LongMemEval data; ``source`` names the file in error messages."""
    if not isinstance(data, list):
        raise UsageError(f"{source}: expected a JSON list of questions, got "
                         f"{type(data).__name__}")
    if not data:
        raise UsageError(f"{source}: the file holds no questions")
    questions = [_parse_question(e, i, source) for i, e in enumerate(data)]
    seen: set[str] = set()
    for q in questions:
        if q.group.id in seen:
            raise UsageError(f"{source}: duplicate question_id {q.group.id!r}")
        seen.add(q.group.id)
    return questions


def judge_kind(item: EvalItem) -> str:
    """Which judge prompt an item gets (``judge_longmemeval.j2``'s ``kind``)."""
    if item.meta.get("abstention"):
        return "abstention"
    return item.category if item.category in _JUDGE_KINDS else "default"


class LongMemEvalTask:
    """LongMemEval QA (see the module docstring).

    ``questions``: None (all), a count (the first N) or a list of question ids. ``types``:
    question types to keep (None: all). ``abstention``: include | exclude | only the ``_abs``
    questions. ``test``/``train``: split sizes (fraction or count), stratified by type.
    """

    mode: AgentMode = "qa"
    needs_judge = True

    def __init__(self, data: Any, *, source: str, questions: int | Sequence[str] | None = None,
                 types: Sequence[str] | None = None, abstention: str = "include",
                 seed: int = 0, test: Size = 0.2, train: Size = 0) -> None:
        self.name = "longmemeval"
        self.source = source
        if abstention not in ABSTENTION_MODES:
            raise UsageError(f"bad value for abstention: {abstention!r} (choose from "
                             f"{', '.join(ABSTENTION_MODES)})")
        parsed = parse_questions(data, source)
        if isinstance(questions, int):
            parsed = parsed[:questions]
        elif questions is not None:
            by_id = {q.group.id: q for q in parsed}
            missing = [q for q in questions if q not in by_id]
            if missing:
                raise UsageError(f"{source}: unknown question id {missing[0]!r}")
            parsed = [by_id[q] for q in dict.fromkeys(questions)]
        if types:
            present = {q.group.items[0].category for q in parsed}
            unknown = [t for t in types if t not in present]
            if unknown:
                raise UsageError(f"bad value for types: {unknown[0]!r} (types in {source}: "
                                 f"{', '.join(sorted(present))})")
            parsed = [q for q in parsed if q.group.items[0].category in types]
        if abstention != "include":
            parsed = [q for q in parsed if q.abstention == (abstention == "only")]
        if not parsed:
            raise UsageError(f"{source}: no questions left after the filters")
        self._questions = parsed
        self._types, self._abstention = list(types or ()), abstention
        self._seed, self._test, self._train = seed, test, train
        cats = sorted({q.group.items[0].category for q in parsed})
        self.category_names = {c: QUESTION_TYPES.get(c, c) for c in cats}
        self._split_of = assign_splits([(q.group.id, q.group.items[0].category) for q in parsed],
                                       seed=seed, test=test, train=train)

    @classmethod
    def from_file(cls, path: str | Path, **options: Any) -> LongMemEvalTask:
        """Load a LongMemEval JSON file (see the module docstring)."""
        return cls(load_locomo_json(path), source=str(path), **options)

    def groups(self, split: Split) -> list[Group]:
        check_split(split)
        return [q.group for q in self._questions
                if split == "all" or self._split_of[q.group.id] == split]

    def score(self, item: EvalItem, answer: str, judge: Judge | None = None) -> ScoreResult:
        question = str(item.meta.get("question") or item.question)
        return judge_answer(judge_kind(item), question, item.gold, answer, judge)

    def describe(self) -> dict[str, Any]:
        counts = {s: sum(1 for v in self._split_of.values() if v == s)
                  for s in ("train", "val", "test")}
        return {"task": self.name, "source": self.source,
                "scorer": "LLM judge, type-specific yes/no prompts",
                "questions": len(self._questions),
                "abstention_questions": sum(q.abstention for q in self._questions),
                "types": self._types or "all", "abstention": self._abstention,
                "category_names": self.category_names, "split_seed": self._seed,
                "test": self._test, "train": self._train, "n_items": counts,
                "n_episodes": sum(len(q.group.episodes) for q in self._questions)}
