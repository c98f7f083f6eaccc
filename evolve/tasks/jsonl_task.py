"""Bring your own task: episodes and items as JSON-lines files (format in docs/tasks.md).

Episodes file (optional), one object per line::

    {"id": "e1", "text": "raw text to remember", "group": "g1", "meta": {...}}

``id`` and ``text`` are required; an episode without ``group`` belongs to every group.

Items file (required), one object per line::

    {"id": "q1", "question": "...", "answer": "gold" | "rubric": [{"criterion": "...",
     "points": 5}, ...], "category": "...", "evidence": ["e1", "or any text"],
     "group": "g1", "split": "train" | "val" | "test", "meta": {...}}

``id``, ``question`` and one of ``answer`` / ``rubric`` are required (with both, the rubric
scores and the answer is the reference shown in traces). Items without ``group`` go to the
group "main". Items without ``split`` are split by seed (category-stratified) with the
``test`` / ``train`` sizes, the rest being ``val``. ``evidence`` entries naming an episode id
stand for that episode's text (used by ``--oracle`` only). Unknown keys are errors (put extra
data under ``meta``). Blank lines are skipped.

Every problem is one ``UsageError`` line naming the file, the line and the field, e.g.
``items.jsonl:7: field 'question' must be a string, got int`` (exit code 2 in the CLI).

Files are read by ``evolve.tasks.readers`` (JSON lines, a JSON list, or Parquet read with
DuckDB), as the HealthBench and PRBench loaders read theirs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .answer_judge import judge_answer
from .base import AgentMode, Episode, EvalItem, Group, Judge, ScoreResult, Split
from .readers import read_jsonl
from .rubric import Criterion, rubric_text, score_rubric
from .scoring import is_abstention, normalize_locomo, squad_f1, stemmed_f1
from .splits import SPLITS, Size, assign_splits, check_split

DEFAULT_GROUP = "main"
DEFAULT_CATEGORY = "all"
ITEM_FIELDS = ("id", "question", "answer", "rubric", "category", "evidence", "group", "split",
               "meta")
EPISODE_FIELDS = ("id", "text", "group", "meta")
_ABSTAIN_GOLD = ("not mentioned", "no information available")


# -- field checks -------------------------------------------------------------------------------

_KIND_NAMES: dict[type, str] = {str: "a string", list: "a list", dict: "an object"}


def _type_name(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "list",
            dict: "object", type(None): "null"}.get(type(value), type(value).__name__)


def expect_object(where: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UsageError(f"{where}: expected a JSON object, got {_type_name(value)}")
    return value


def field_of(where: str, obj: dict[str, Any], key: str, kind: type, *,
             required: bool = True, label: str | None = None) -> Any:
    """``obj[key]`` checked to be of ``kind`` (None when optional and absent)."""
    name = label or key
    if key not in obj or obj[key] is None:
        if required:
            raise UsageError(f"{where}: missing field '{name}'")
        return None
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, kind):
        raise UsageError(f"{where}: field '{name}' must be {_KIND_NAMES.get(kind, kind.__name__)}"
                         f", got {_type_name(value)}")
    return value


def id_of(where: str, obj: dict[str, Any], key: str = "id") -> str:
    """The record's id field ``key``: a non-empty string or an integer, as a string."""
    if key not in obj or obj[key] is None:
        raise UsageError(f"{where}: missing field '{key}'")
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        got = "an empty string" if isinstance(value, str) else _type_name(value)
        raise UsageError(f"{where}: field '{key}' must be a non-empty string, got {got}")
    return str(value).strip()


def text_of(where: str, obj: dict[str, Any], key: str) -> str:
    value = field_of(where, obj, key, str)
    if not value.strip():
        raise UsageError(f"{where}: field '{key}' is empty")
    return value


def criteria_of(where: str, value: Any, key: str = "rubric") -> tuple[Criterion, ...]:
    """A rubric: a non-empty list of ``{"criterion": str, "points": number}``."""
    if not isinstance(value, list):
        raise UsageError(f"{where}: field '{key}' must be a list of {{criterion, points}} "
                         f"objects, got {_type_name(value)}")
    if not value:
        raise UsageError(f"{where}: field '{key}' is an empty list")
    out: list[Criterion] = []
    for k, entry in enumerate(value):
        label = f"{key}[{k}]"
        if not isinstance(entry, dict):
            raise UsageError(f"{where}: field '{label}' must be an object, got "
                             f"{_type_name(entry)}")
        text = field_of(where, entry, "criterion", str, label=f"{label}.criterion")
        if not text.strip():
            raise UsageError(f"{where}: field '{label}.criterion' is empty")
        points = entry.get("points")
        if isinstance(points, bool) or not isinstance(points, (int, float)):
            raise UsageError(f"{where}: field '{label}.points' must be a number, got "
                             f"{'nothing' if 'points' not in entry else _type_name(points)}")
        tags = entry.get("tags") or []
        out.append(Criterion(text.strip(), float(points),
                             tuple(str(t) for t in tags) if isinstance(tags, list) else ()))
    return tuple(out)


def _check_keys(where: str, obj: dict[str, Any], allowed: tuple[str, ...]) -> None:
    for key in obj:
        if key not in allowed:
            raise UsageError(f"{where}: unknown field '{key}' (valid: {', '.join(allowed)}; "
                             "put extra data under 'meta')")


# -- the task -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Row:
    where: str
    item: EvalItem
    group: str
    split: str | None
    criteria: tuple[Criterion, ...]


def _parse_episode(where: str, value: Any) -> tuple[str, Episode, str | None]:
    obj = expect_object(where, value)
    _check_keys(where, obj, EPISODE_FIELDS)
    episode_id = id_of(where, obj)
    text = text_of(where, obj, "text")
    group = field_of(where, obj, "group", str, required=False)
    meta = field_of(where, obj, "meta", dict, required=False) or {}
    return where, Episode(id=episode_id, text=text, meta=dict(meta)), group


def _parse_item(where: str, value: Any, episode_text: dict[str, str]) -> _Row:
    obj = expect_object(where, value)
    _check_keys(where, obj, ITEM_FIELDS)
    item_id = id_of(where, obj)
    question = text_of(where, obj, "question")
    has_answer = obj.get("answer") is not None
    if not has_answer and obj.get("rubric") is None:
        raise UsageError(f"{where}: missing field 'answer' (or 'rubric')")
    answer = ""
    if has_answer:
        raw = obj["answer"]
        if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
            raise UsageError(f"{where}: field 'answer' must be a string or a number, got "
                             f"{_type_name(raw)}")
        answer = str(raw)
    criteria = criteria_of(where, obj["rubric"]) if obj.get("rubric") is not None else ()
    category = obj.get("category")
    if category is not None and (isinstance(category, bool) or
                                 not isinstance(category, (str, int))):
        raise UsageError(f"{where}: field 'category' must be a string, got "
                         f"{_type_name(category)}")
    group = field_of(where, obj, "group", str, required=False)
    split = field_of(where, obj, "split", str, required=False)
    if split is not None and split not in SPLITS[:3]:
        raise UsageError(f"{where}: field 'split' must be one of train, val, test, got "
                         f"{split!r}")
    evidence = field_of(where, obj, "evidence", list, required=False) or []
    for k, entry in enumerate(evidence):
        if not isinstance(entry, str):
            raise UsageError(f"{where}: field 'evidence[{k}]' must be a string (an episode id "
                             f"or text), got {_type_name(entry)}")
    meta = field_of(where, obj, "meta", dict, required=False) or {}
    gold = answer if has_answer else rubric_text(criteria)
    item = EvalItem(
        id=item_id, question=question.strip(), gold=gold,
        category=str(category).strip() if category is not None else DEFAULT_CATEGORY,
        evidence=tuple(episode_text.get(e, e) for e in evidence),
        meta={**meta, "rubric": [c.to_dict() for c in criteria]} if criteria else dict(meta))
    return _Row(where, item, group or DEFAULT_GROUP, split, criteria)


def _unique(rows: list[tuple[str, str]], kind: str) -> None:
    first: dict[str, str] = {}
    for where, key in rows:
        if key in first:
            raise UsageError(f"{where}: duplicate {kind} id {key!r} (first at {first[key]})")
        first[key] = where


def _f1(prediction: str, gold: str) -> float:
    return stemmed_f1(prediction, gold)


SCORERS: dict[str, Callable[[str, str], float]] = {
    "f1": _f1,
    "squad": lambda p, g: squad_f1(p, g, 1),
    "exact": lambda p, g: float(normalize_locomo(p) == normalize_locomo(g)),
    "contains": lambda p, g: float(bool(normalize_locomo(g)) and
                                   normalize_locomo(g) in normalize_locomo(p)),
}
SCORER_NAMES = (*SCORERS, "judge")


class JsonlTask:
    """A user task from an items file and an optional episodes file (module docstring)."""

    mode: AgentMode = "qa"

    def __init__(self, items_path: str | Path, episodes_path: str | Path | None = None, *,
                 scorer: str = "f1", seed: int = 0, test: Size = 0.2, train: Size = 0,
                 name: str = "jsonl") -> None:
        if scorer not in SCORER_NAMES:
            raise UsageError(f"bad value for scorer: {scorer!r} (choose from "
                             f"{', '.join(SCORER_NAMES)})")
        self.name, self._scorer = name, scorer
        self._paths = (str(items_path), str(episodes_path) if episodes_path else None)
        self._seed, self._test, self._train = seed, test, train
        parsed = [_parse_episode(w, v) for w, v in read_jsonl(episodes_path)] \
            if episodes_path else []
        _unique([(w, e.id) for w, e, _ in parsed], "episode")
        episodes = [(e, g) for _, e, g in parsed]
        texts = {e.id: e.text for e, _ in episodes}
        rows = [_parse_item(w, v, texts) for w, v in read_jsonl(items_path)]
        _unique([(r.where, r.item.id) for r in rows], "item")
        self._rows = rows
        self._episodes = episodes
        self.needs_judge = scorer == "judge" or any(r.criteria for r in rows)
        self.category_names = {c: c for c in dict.fromkeys(r.item.category for r in rows)}
        fixed = {r.item.id: r.split for r in rows if r.split}
        free = [(r.item.id, r.item.category) for r in rows if not r.split]
        self._split_of = {**assign_splits(free, seed=seed, test=test, train=train), **fixed}
        self._order = list(dict.fromkeys(
            [g for _, g in episodes if g] + [r.group for r in rows]))

    def _episodes_of(self, group: str) -> tuple[Episode, ...]:
        return tuple(e for e, g in self._episodes if g is None or g == group)

    def groups(self, split: Split) -> list[Group]:
        check_split(split)
        out: list[Group] = []
        for group in self._order:
            items = tuple(r.item for r in self._rows if r.group == group and
                          (split == "all" or self._split_of[r.item.id] == split))
            if items:
                out.append(Group(id=group, episodes=self._episodes_of(group), items=items))
        return out

    def score(self, item: EvalItem, answer: str, judge: Judge | None = None) -> ScoreResult:
        rubric = item.meta.get("rubric")
        if rubric:
            criteria = [Criterion.from_dict(c) for c in rubric]
            return score_rubric(criteria, item.question, answer, judge)
        gold = item.gold
        abstain_gold = normalize_locomo(gold) in _ABSTAIN_GOLD
        if self._scorer == "judge":
            return judge_answer("abstention" if abstain_gold else "default", item.question,
                                gold, answer, judge)
        if abstain_gold:
            value = 1.0 if is_abstention(answer) else 0.0
            return ScoreResult(value, "abstained (correct)" if value else
                               "answered a question whose gold is 'not mentioned'")
        value = SCORERS[self._scorer](answer, gold)
        return ScoreResult(value, f"{self._scorer} {value:.2f} vs gold {gold!r}")

    def describe(self) -> dict[str, Any]:
        counts = {s: sum(1 for v in self._split_of.values() if v == s)
                  for s in ("train", "val", "test")}
        return {"task": self.name, "items": self._paths[0], "episodes": self._paths[1],
                "scorer": self._scorer, "rubric_items": sum(1 for r in self._rows if r.criteria),
                "split_seed": self._seed, "test": self._test, "train": self._train,
                "n_items": counts, "n_episodes": len(self._episodes), "groups": self._order,
                "category_names": self.category_names}
