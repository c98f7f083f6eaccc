"""The LoCoMo task: long conversations, one memory per conversation (docs/tasks.md).

File format (``locomo10.json``, users bring their own copy): a JSON list of samples
``{sample_id, conversation, qa, ...}``. ``conversation`` has ``speaker_a``, ``speaker_b``,
``session_<n>_date_time`` and ``session_<n>`` (a list of turns ``{speaker, dia_id "D<n>:<k>",
text, [img_url], [blip_caption], [query]}``). ``qa`` items are ``{question, answer,
evidence: [dia_id], category: 1..5}``; category-5 items usually carry ``adversarial_answer``
instead of ``answer``.

Quirks of the real data that are tolerated: more ``*_date_time`` keys than sessions (the extra
ones are ignored), integer answers (cast to str), evidence ids that are malformed ("D8:6; D9:17",
"D30:05") or point at turns that do not exist (unknown ids are skipped). Anything else that is
wrong (not JSON, missing keys, wrong types, empty) raises ``UsageError`` with one line naming the
file, the sample and the field.

Mapping to the task contract: Group = one conversation; Episode = one session rendered as a
``[date_time]`` line followed by ``speaker: text`` lines (`` [shares a photo: <caption>]``
appended when a turn has a ``blip_caption``); EvalItem.evidence = the evidence turns rendered as
``[date_time] speaker: text`` lines (used by ``--oracle``; never shown to programs).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .base import AgentMode, Episode, EvalItem, Group, ScoreResult, Split
from .scoring import get_scorer
from .splits import Size, assign_splits, check_split

# Category numbering of the released data. The LoCoMo paper's prose and later papers disagree
# on which number is which (e.g. some swap 1/4 or call 3 "commonsense"); these names follow the
# reading of the released file that most memory papers use. Reports always key by the number.
LOCOMO_CATEGORIES: dict[str, str] = {
    "1": "multi-hop", "2": "temporal", "3": "open-domain", "4": "single-hop", "5": "adversarial",
}
NOT_MENTIONED_GOLD = "not mentioned"

_SESSION_KEY = re.compile(r"^session_(\d+)$")
_DIA_ID = re.compile(r"D\s*(\d+)\s*:\s*(\d+)")


@dataclass(frozen=True)
class _Conversation:
    sample_id: str
    episodes: tuple[Episode, ...]
    evidence_lines: dict[tuple[int, int], str]  # (session, turn) -> "[date] speaker: text"
    qa: tuple[dict[str, Any], ...]


def load_locomo_json(path: str | Path) -> list[Any]:
    """Read and JSON-decode a LoCoMo-format file; every failure is a one-line UsageError."""
    file = Path(path)
    try:
        raw = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{file}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{file}: cannot read ({type(exc).__name__}: {exc})") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{file}: not valid JSON ({exc.msg} at line {exc.lineno} "
                         f"column {exc.colno})") from None
    return data


def parse_dia_ids(value: Any) -> list[tuple[int, int]]:
    """Every ``(session, turn)`` pair found in an evidence entry; [] when none parses."""
    return [(int(s), int(t)) for s, t in _DIA_ID.findall(str(value))]


def _render_turn(turn: dict[str, Any]) -> str:
    line = f"{turn['speaker']}: {turn['text']}"
    caption = turn.get("blip_caption")
    if isinstance(caption, str) and caption.strip():
        line += f" [shares a photo: {caption.strip()}]"
    return line


def _parse_conversation(sample: Any, index: int, source: str) -> _Conversation:
    where = f"{source}: sample {index}"
    if not isinstance(sample, dict):
        raise UsageError(f"{where}: expected an object, got {type(sample).__name__}")
    for key in ("sample_id", "conversation", "qa"):
        if key not in sample:
            raise UsageError(f"{where}: missing field '{key}'")
    sample_id = str(sample["sample_id"])
    where = f"{source}: sample {sample_id!r}"
    conv, qa = sample["conversation"], sample["qa"]
    if not isinstance(conv, dict):
        raise UsageError(f"{where}: field 'conversation' must be an object")
    if not isinstance(qa, list):
        raise UsageError(f"{where}: field 'qa' must be a list")
    for key in ("speaker_a", "speaker_b"):
        if not isinstance(conv.get(key), str):
            raise UsageError(f"{where}: field 'conversation.{key}' missing or not a string")
    numbers = sorted(int(m.group(1)) for k in conv if (m := _SESSION_KEY.match(k)))
    if not numbers:
        raise UsageError(f"{where}: 'conversation' has no session_<n> lists")
    episodes: list[Episode] = []
    evidence: dict[tuple[int, int], str] = {}
    for number in numbers:
        key = f"session_{number}"
        turns = conv[key]
        if not isinstance(turns, list):
            raise UsageError(f"{where}: field 'conversation.{key}' must be a list of turns")
        date = conv.get(f"{key}_date_time")
        date = str(date).strip() if isinstance(date, (str, int)) else ""
        lines = [f"[{date}]"] if date else []
        for position, turn in enumerate(turns, start=1):
            if not isinstance(turn, dict):
                raise UsageError(f"{where}: 'conversation.{key}[{position - 1}]' must be an object")
            for field_name in ("speaker", "text"):
                if not isinstance(turn.get(field_name), str):
                    raise UsageError(f"{where}: 'conversation.{key}[{position - 1}].{field_name}' "
                                     "missing or not a string")
            line = _render_turn(turn)
            lines.append(line)
            ids = parse_dia_ids(turn.get("dia_id", "")) or [(number, position)]
            evidence[ids[0]] = f"[{date}] {line}" if date else line
        if not turns:
            continue  # an empty session carries nothing to remember
        episodes.append(Episode(id=f"{sample_id}:{key}", text="\n".join(lines),
                                meta={"session": number, "date_time": date,
                                      "sample_id": sample_id}))
    for q_index, item in enumerate(qa):
        _check_qa(item, f"{where} qa[{q_index}]")
    return _Conversation(sample_id, tuple(episodes), evidence, tuple(qa))


def _check_qa(item: Any, where: str) -> None:
    if not isinstance(item, dict):
        raise UsageError(f"{where}: expected an object")
    if not isinstance(item.get("question"), str) or not item["question"].strip():
        raise UsageError(f"{where}: field 'question' missing or not a string")
    category = item.get("category")
    if isinstance(category, bool) or not isinstance(category, (int, str)) or \
            str(category).strip() not in LOCOMO_CATEGORIES:
        raise UsageError(f"{where}: field 'category' must be 1..5, got {category!r}")
    answer = item.get("answer")
    if answer is None and str(category).strip() != "5":
        raise UsageError(f"{where}: field 'answer' missing (required for category {category})")
    if answer is not None and not isinstance(answer, (str, int, float)):
        raise UsageError(f"{where}: field 'answer' must be a string or a number")
    if not isinstance(item.get("evidence", []), list):
        raise UsageError(f"{where}: field 'evidence' must be a list of dia_ids")


def parse_samples(data: Any, source: str) -> list[_Conversation]:
    """Validate decoded LoCoMo data; ``source`` names the file in error messages."""
    if not isinstance(data, list):
        raise UsageError(f"{source}: expected a JSON list of samples, got {type(data).__name__}")
    if not data:
        raise UsageError(f"{source}: the file holds no samples")
    conversations = [_parse_conversation(s, i, source) for i, s in enumerate(data)]
    seen: set[str] = set()
    for conv in conversations:
        if conv.sample_id in seen:
            raise UsageError(f"{source}: duplicate sample_id {conv.sample_id!r}")
        seen.add(conv.sample_id)
    return conversations


def _make_item(conv: _Conversation, q_index: int, qa: dict[str, Any]) -> EvalItem:
    category = str(qa["category"]).strip()
    answer = qa.get("answer")
    gold = NOT_MENTIONED_GOLD if answer is None else str(answer)
    ids: list[tuple[int, int]] = []
    for entry in qa.get("evidence") or []:
        ids.extend(parse_dia_ids(entry))
    lines = tuple(dict.fromkeys(conv.evidence_lines[i] for i in ids if i in conv.evidence_lines))
    meta: dict[str, Any] = {"sample_id": conv.sample_id,
                            "evidence_ids": [f"D{s}:{t}" for s, t in ids]}
    if "adversarial_answer" in qa:
        meta["adversarial_answer"] = str(qa["adversarial_answer"])
    return EvalItem(id=f"{conv.sample_id}:q{q_index}", question=qa["question"].strip(),
                    gold=gold, category=category, evidence=lines, meta=meta)


class LocomoTask:
    """LoCoMo-format QA task (also the engine behind ``dialog-synth``).

    ``conversations``: None (all), a count (the first N samples) or a list of sample ids.
    ``categories``: which QA categories to keep. ``test``/``train``: split sizes (fraction or
    count, see ``evolve.tasks.splits``); the rest of the items are ``val``.
    """

    mode: AgentMode = "qa"

    def __init__(self, data: Any, *, source: str, name: str = "locomo",
                 conversations: int | Sequence[str] | None = None,
                 categories: Sequence[int] = (1, 2, 3, 4, 5), seed: int = 0,
                 test: Size = 0.2, train: Size = 0, scorer: str = "locomo",
                 category_names: dict[str, str] | None = None,
                 extra_description: dict[str, Any] | None = None) -> None:
        self.name = name
        self.source = source
        self.category_names = dict(category_names or LOCOMO_CATEGORIES)
        self._scorer = get_scorer(scorer)
        self._categories = tuple(sorted({int(c) for c in categories}))
        self._seed, self._test, self._train = seed, test, train
        self._extra = dict(extra_description or {})
        convs = parse_samples(data, source)
        if isinstance(conversations, int):
            if conversations < 1:
                raise UsageError(f"bad value for conversations: {conversations} (at least 1)")
            convs = convs[:conversations]
        elif conversations is not None:
            by_id = {c.sample_id: c for c in convs}
            missing = [s for s in conversations if s not in by_id]
            if missing:
                raise UsageError(f"{source}: unknown sample id {missing[0]!r}; available: "
                                 f"{', '.join(by_id)}")
            convs = [by_id[s] for s in dict.fromkeys(conversations)]
        self._convs = convs
        self._items: list[tuple[_Conversation, EvalItem]] = [
            (conv, _make_item(conv, i, qa))
            for conv in convs for i, qa in enumerate(conv.qa)
            if int(str(qa["category"]).strip()) in self._categories]
        self._split_of = assign_splits([(it.id, it.category) for _, it in self._items],
                                       seed=seed, test=test, train=train)

    @classmethod
    def from_file(cls, path: str | Path, **options: Any) -> LocomoTask:
        """Load a ``locomo10.json``-format file (see the module docstring)."""
        return cls(load_locomo_json(path), source=str(path), **options)

    def groups(self, split: Split) -> list[Group]:
        check_split(split)
        out: list[Group] = []
        for conv in self._convs:
            items = tuple(it for c, it in self._items if c is conv and
                          (split == "all" or self._split_of[it.id] == split))
            if items:
                out.append(Group(id=conv.sample_id, episodes=conv.episodes, items=items))
        return out

    def score(self, item: EvalItem, answer: str) -> ScoreResult:
        value = self._scorer(answer, item.gold, item.category)
        if item.category == "5":
            why = "abstained (correct)" if value else "answered an unanswerable question"
        else:
            why = f"{self._scorer.name} F1 {value:.2f} vs gold {item.gold!r}"
        return ScoreResult(score=value, rationale=f"cat {item.category}: {why}")

    def describe(self) -> dict[str, Any]:
        counts = {s: sum(1 for v in self._split_of.values() if v == s)
                  for s in ("train", "val", "test")}
        return {"task": self.name, "source": self.source, "scorer": self._scorer.name,
                "scorer_description": self._scorer.description,
                "conversations": [c.sample_id for c in self._convs],
                "categories": list(self._categories), "category_names": self.category_names,
                "split_seed": self._seed, "test": self._test, "train": self._train,
                "n_items": counts, "n_episodes": sum(len(c.episodes) for c in self._convs),
                **self._extra}
