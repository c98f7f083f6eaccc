"""Rubric scoring and the shared "expert reasoning" task (HealthBench, PRBench, JSONL rubrics).

Scoring contract (docs/tasks.md, "Rubric scoring and experience"):
- one judge call per criterion, made in parallel (a small thread pool), each asking for a JSON
  object ``{"explanation": str, "criteria_met": bool}`` (template ``judge_rubric.j2``);
- replies are parsed leniently (code fences, surrounding prose, "true"/"yes" strings); a reply
  that says nothing parseable counts as *not met* and is flagged in the rationale;
- score = clip(sum of the points of met criteria / sum of the positive points, 0, 1): a met
  negative-point criterion (a pitfall) subtracts. A rubric without positive points scores 1
  when no pitfall is met, else 0.
Identical judge requests are answered from the model hub's response cache, so re-scoring the
same answer costs nothing (the hub logs such calls as cache hits).

The expert task shape (``RubricTask``): every record is one prompt with its rubric. Records are
split train/val/test by seed (category-stratified); the items of the requested split are the
prompts, and the *train* records become the episodes, rendered with their ideal response when
the data has one and the rubric criteria (what an expert answer contains). This follows M*,
which used the train split's items as the experience to remember. ``experience="none"`` drops
the episodes (pure reasoning, empty memory); ``experience="ideal"`` keeps only the prompt and
ideal response. All splits share the one memory, so train items asked against it see their own
record: train scores are optimistic by design (they only feed reflection, never selection).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..templating import render
from .base import AgentMode, Episode, EvalItem, Group, Judge, ScoreResult, Split
from .readers import read_records
from .splits import Size, assign_splits, check_split

RUBRIC_WORKERS = 4  # judge calls in flight per answer (the hub bounds the total as well)
EXPERIENCE_MODES = ("rubric", "ideal", "none")
_CRITERION_CHARS = 90  # per criterion in a rationale


@dataclass(frozen=True)
class Criterion:
    """One rubric item: what to check and its points (negative = a pitfall)."""

    text: str
    points: float
    tags: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"criterion": self.text, "points": self.points, "tags": list(self.tags)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Criterion:
        return cls(str(data["criterion"]), float(data["points"]), tuple(data.get("tags") or ()))


@dataclass(frozen=True)
class Verdict:
    """The judge's decision on one criterion."""

    criterion: Criterion
    met: bool
    explanation: str
    parsed: bool = True


def format_points(points: float) -> str:
    """"+5", "-2", "+2.5": points as shown to judges and in rationales."""
    return f"{points:+g}"


def judge_messages(conversation: str, response: str, criterion: Criterion) -> list[dict[str, str]]:
    """The chat messages of one rubric judge call (``judge_rubric.j2``)."""
    prompt = render("judge_rubric.j2", conversation=conversation.strip(),
                    response=response.strip() or "(empty response)",
                    criterion=criterion.text.strip(), points=format_points(criterion.points))
    return [{"role": "user", "content": prompt}]


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.I)
_MET_FIELD = re.compile(r'"?criteria_met"?\s*[:=]\s*"?(true|false|yes|no)\b', re.I)
_BARE = re.compile(r"^\W*(true|false|yes|no|met|not met)\b", re.I)


def _truthy(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("true", "yes", "met", "1"):
            return True
        if low in ("false", "no", "not met", "0"):
            return False
    return None


def parse_verdict(text: str) -> tuple[bool | None, str]:
    """``(criteria_met, explanation)`` from a judge reply; ``None`` when nothing parses."""
    raw = _FENCE.sub("", str(text).strip())
    candidates = [raw]
    start, end = raw.find("{"), raw.rfind("}")
    if 0 <= start < end:
        candidates.append(raw[start:end + 1])
    for candidate in candidates:
        try:
            data = json.loads(candidate)
        except (json.JSONDecodeError, ValueError):
            continue
        if isinstance(data, dict) and "criteria_met" in data:
            met = _truthy(data["criteria_met"])
            if met is not None:
                return met, str(data.get("explanation") or "").strip()
    if m := _MET_FIELD.search(raw):
        return _truthy(m.group(1)), raw[:200]
    if m := _BARE.match(raw):
        return _truthy(m.group(1)), raw[:200]
    return None, raw[:200]


def rubric_score(verdicts: Sequence[Verdict]) -> float:
    """clip(sum of met points / sum of positive points, 0, 1) (see the module docstring)."""
    positive = sum(v.criterion.points for v in verdicts if v.criterion.points > 0)
    earned = sum(v.criterion.points for v in verdicts if v.met)
    if positive <= 0:
        return 0.0 if any(v.met and v.criterion.points < 0 for v in verdicts) else 1.0
    return min(1.0, max(0.0, earned / positive))


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _CRITERION_CHARS else text[:_CRITERION_CHARS - 1] + "…"


def rubric_rationale(verdicts: Sequence[Verdict], score: float) -> str:
    """One line per criterion: [met]/[miss]/[???] points criterion — what the judge said."""
    positive = sum(v.criterion.points for v in verdicts if v.criterion.points > 0)
    earned = sum(v.criterion.points for v in verdicts if v.met)
    lines = [f"rubric {earned:g}/{positive:g} points -> {score:.2f}"]
    for v in verdicts:
        mark = "met" if v.met else ("???" if not v.parsed else "miss")
        why = f" -- {_short(v.explanation)}" if v.explanation else ""
        lines.append(f"[{mark}] {format_points(v.criterion.points)} "
                     f"{_short(v.criterion.text)}{why}")
    return "\n".join(lines)


def judge_criteria(criteria: Sequence[Criterion], conversation: str, response: str,
                   judge: Judge, *, workers: int = RUBRIC_WORKERS) -> list[Verdict]:
    """One judge call per criterion, in parallel; verdicts in rubric order."""

    def one(criterion: Criterion) -> Verdict:
        reply = judge(judge_messages(conversation, response, criterion), json_mode=True)
        met, explanation = parse_verdict(reply)
        return Verdict(criterion, bool(met), explanation, parsed=met is not None)

    if len(criteria) <= 1:
        return [one(c) for c in criteria]
    with ThreadPoolExecutor(max(1, min(workers, len(criteria)))) as pool:
        return list(pool.map(one, criteria))


def score_rubric(criteria: Sequence[Criterion], conversation: str, response: str,
                 judge: Judge | None, *, workers: int = RUBRIC_WORKERS) -> ScoreResult:
    """Score ``response`` to ``conversation`` against ``criteria`` with ``judge``."""
    if judge is None:
        raise RuntimeError("rubric scoring needs a judge: call score(item, answer, judge=...) "
                           "(tasks with needs_judge=True get the hub's judge role)")
    verdicts = judge_criteria(criteria, conversation, response, judge, workers=workers)
    value = rubric_score(verdicts)
    return ScoreResult(score=value, rationale=rubric_rationale(verdicts, value))


def rubric_text(criteria: Iterable[Criterion]) -> str:
    """Criteria as ``+5 text`` lines (episode text and the ``gold`` shown in traces)."""
    return "\n".join(f"{format_points(c.points)} {c.text.strip()}" for c in criteria)


# -- the expert-reasoning task shape ------------------------------------------------------------

@dataclass(frozen=True)
class ExpertRecord:
    """One prompt with its rubric, as loaded by the HealthBench/PRBench readers."""

    id: str
    conversation: str                 # what the agent is asked (a rendered conversation)
    criteria: tuple[Criterion, ...]
    category: str
    reference: str = ""               # ideal response or expert notes, when the data has one
    meta: dict[str, Any] = field(default_factory=dict)


def _episode_text(record: ExpertRecord, experience: str, label: str) -> str:
    parts = [f"[{label} example {record.id}; {record.category}]",
             "Request:", record.conversation.strip()]
    if record.reference.strip():
        parts += ["Ideal response:", record.reference.strip()]
    notes = str(record.meta.get("notes") or "").strip()
    if notes and experience != "none":
        parts += ["Expert notes:", notes]
    if experience == "rubric" and record.criteria:
        parts += ["What an expert answer was graded on (points; negative = pitfall):",
                  rubric_text(record.criteria)]
    return "\n".join(parts)


# -- loading rubric data files ------------------------------------------------------------------

DATA_SUFFIXES = (".jsonl", ".ndjson", ".json", ".parquet")
HARD_MODES = ("exclude", "include", "only")
RowParser = Callable[[str, Any], ExpertRecord]


def expand_paths(value: str, arg: str = "path") -> list[Path]:
    """Files named by a comma-separated list of files and directories (their data files)."""
    parts = [p.strip() for p in str(value).split(",") if p.strip()]
    if not parts:
        raise UsageError(f"bad value for {arg}: empty (a file, a directory or a comma list)")
    files: list[Path] = []
    for part in parts:
        path = Path(part).expanduser()
        if path.is_dir():
            found = sorted(f for f in path.iterdir()
                           if f.is_file() and f.suffix.lower() in DATA_SUFFIXES)
            if not found:
                raise UsageError(f"{path}: the directory holds no {', '.join(DATA_SUFFIXES)} "
                                 "files")
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            raise UsageError(f"{path}: file not found")
    return list(dict.fromkeys(files))


def is_hard_file(path: Path) -> bool:
    """Files of a benchmark's ``hard`` subset are recognised by "hard" in their name."""
    return "hard" in path.name.lower()


def load_rubric_files(paths: Sequence[Path], parse: RowParser, hard: str
                      ) -> tuple[list[ExpertRecord], dict[str, Any]]:
    """Parse every record of ``paths``; keep or drop the hard subset (``hard`` mode).

    A record is *hard* when it comes from a hard file or another file holds the same id in a
    hard file (the hard subsets are subsets of the main files). Duplicate ids across files
    keep their first copy. Returns the records and provenance for ``describe()``.
    """
    if hard not in HARD_MODES:
        raise UsageError(f"bad value for hard: {hard!r} (choose from {', '.join(HARD_MODES)})")
    records: dict[str, ExpertRecord] = {}
    hard_ids: set[str] = set()
    for path in paths:
        for where, value in read_records(path):
            record = parse(where, value)
            if is_hard_file(path) or record.meta.get("hard"):
                hard_ids.add(record.id)
            records.setdefault(record.id, record)
    kept = [r for r in records.values() if hard == "include" or
            (r.id in hard_ids) == (hard == "only")]
    info = {"files": [str(p) for p in paths], "hard": hard, "hard_items_seen": len(hard_ids),
            "hard_files": [str(p) for p in paths if is_hard_file(p)]}
    return [replace(r, meta={**r.meta, "hard": r.id in hard_ids}) for r in kept], info


def parse_list_arg(value: str) -> list[str] | None:
    """"all" or "" -> None; "a, b" -> ["a", "b"]."""
    parts = [p.strip() for p in str(value).split(",") if p.strip()]
    return None if not parts or parts == ["all"] else parts


def render_messages(messages: Sequence[tuple[str, str]]) -> str:
    """A lone user message as its text; a longer conversation as "Role: text" paragraphs."""
    if len(messages) == 1 and messages[0][0] == "user":
        return messages[0][1].strip()
    return "\n\n".join(f"{role.strip().capitalize()}: {text.strip()}" for role, text in messages)


class RubricTask:
    """Prompts scored by rubric; the train records are the memory's episodes.

    ``records`` must have unique ids. ``experience``: ``rubric`` | ``ideal`` | ``none`` (see
    the module docstring). ``experience_limit``: at most this many train records become
    episodes (seeded order), ``None`` for all.
    """

    mode: AgentMode = "qa"
    needs_judge = True

    def __init__(self, records: Sequence[ExpertRecord], *, name: str, source: str,
                 category_names: dict[str, str] | None = None, seed: int = 0,
                 test: Size = 0.2, train: Size = 0.3, experience: str = "rubric",
                 experience_limit: int | None = None,
                 extra_description: dict[str, Any] | None = None) -> None:
        if experience not in EXPERIENCE_MODES:
            raise UsageError(f"bad value for experience: {experience!r} (choose from "
                             f"{', '.join(EXPERIENCE_MODES)})")
        if not records:
            raise UsageError(f"{source}: no items left after the filters")
        self.name, self.source = name, source
        self._records = list(records)
        self._by_id = {r.id: r for r in self._records}
        cats = sorted({r.category for r in self._records})
        self.category_names = {c: (category_names or {}).get(c, c) for c in cats}
        self._seed, self._test, self._train = seed, test, train
        self._experience = experience
        self._extra = dict(extra_description or {})
        self._split_of = assign_splits([(r.id, r.category) for r in self._records],
                                       seed=seed, test=test, train=train)
        train_records = [r for r in self._records if self._split_of[r.id] == "train"]
        if experience_limit is not None:  # a seeded choice, kept in data order
            def rank(r: ExpertRecord) -> str:
                return hashlib.sha256(f"{seed}\x1fexperience\x1f{r.id}".encode()).hexdigest()

            chosen = {r.id for r in sorted(train_records, key=rank)[:experience_limit]}
            train_records = [r for r in train_records if r.id in chosen]
        self._episodes = () if experience == "none" else tuple(
            Episode(id=f"{name}:{r.id}", text=_episode_text(r, experience, name),
                    meta={"record": r.id, "category": r.category}) for r in train_records)
        self._items = [self._item(r) for r in self._records]

    def _item(self, record: ExpertRecord) -> EvalItem:
        gold = record.reference.strip() or rubric_text(record.criteria)
        return EvalItem(id=record.id, question=record.conversation, gold=gold,
                        category=record.category,
                        meta={"rubric": [c.to_dict() for c in record.criteria], **record.meta})

    def groups(self, split: Split) -> list[Group]:
        check_split(split)
        items = tuple(it for it in self._items
                      if split == "all" or self._split_of[it.id] == split)
        return [Group(id=self.name, episodes=self._episodes, items=items)] if items else []

    def score(self, item: EvalItem, answer: str, judge: Judge | None = None) -> ScoreResult:
        criteria = [Criterion.from_dict(c) for c in item.meta.get("rubric") or ()]
        return score_rubric(criteria, item.question, answer, judge)

    def describe(self) -> dict[str, Any]:
        counts = {s: sum(1 for v in self._split_of.values() if v == s)
                  for s in ("train", "val", "test")}
        return {"task": self.name, "source": self.source, "scorer": "rubric (LLM judge, one "
                "call per criterion)", "split_seed": self._seed, "test": self._test,
                "train": self._train, "experience": self._experience,
                "n_items": counts, "n_episodes": len(self._episodes),
                "category_names": self.category_names, **self._extra}
