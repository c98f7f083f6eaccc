"""Deterministic, category-stratified train/val/test splits and task-argument parsing helpers.

Shared by the LoCoMo-format tasks (``locomo``, ``dialog-synth``) and available to other
QA tasks. A split size is either a fraction of the items (``"0.2"``) or a count (``"100"``).
Items are ordered by a seeded hash, interleaved across categories in proportion to their
sizes, and the split takes the first ``test`` items, then the next ``train`` items; the rest is
``val``. So test stays category-balanced, and the assignment of an item depends only on the
seed, the item ids and the sizes, never on dict or file order beyond the ids themselves.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence

from ..errors import UsageError

SPLITS = ("train", "val", "test", "all")

Size = int | float  # int: a count; float: a fraction in [0, 1]


def _hash(seed: int, key: str) -> str:
    return hashlib.sha256(f"{seed}\x1f{key}".encode()).hexdigest()


def size_count(size: Size, total: int) -> int:
    """Number of items a split size stands for out of ``total``."""
    if isinstance(size, float):
        return min(total, int(round(size * total)))
    return min(total, size)


def assign_splits(items: Sequence[tuple[str, str]], *, seed: int, test: Size,
                  train: Size = 0) -> dict[str, str]:
    """Map each ``(item_id, category)`` to "train" | "val" | "test" (deterministic)."""
    by_cat: dict[str, list[str]] = defaultdict(list)
    for item_id, category in items:
        by_cat[category].append(item_id)
    keyed: list[tuple[float, str, str]] = []
    for ids in by_cat.values():
        ordered = sorted(ids, key=lambda i: _hash(seed, i))
        for rank, item_id in enumerate(ordered):
            # Fractional position within the category: interleaves categories proportionally.
            keyed.append(((rank + 0.5) / len(ordered), _hash(seed, "tie" + item_id), item_id))
    keyed.sort()
    total = len(keyed)
    n_test = size_count(test, total)
    n_train = min(total - n_test, size_count(train, total))
    out: dict[str, str] = {}
    for index, (_, _, item_id) in enumerate(keyed):
        out[item_id] = "test" if index < n_test else "train" if index < n_test + n_train else "val"
    return out


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise UsageError(f"unknown split {split!r}; choose from: {', '.join(SPLITS)}")
    return split


def parse_size(name: str, value: str | int | float) -> Size:
    """Parse a split size: a fraction with a decimal point ("0.2") or a count ("100")."""
    text = str(value).strip()
    try:
        if isinstance(value, float) or "." in text or "e" in text.lower():
            frac = float(text)
            if not 0.0 <= frac <= 1.0:
                raise ValueError
            return frac
        count = int(text)
        if count < 0:
            raise ValueError
        return count
    except ValueError:
        raise UsageError(f"bad value for {name}: {value!r} (a fraction like 0.2 or a count "
                         "like 100)") from None


def parse_int(name: str, value: str | int, *, minimum: int | None = None) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise UsageError(f"bad value for {name}: {value!r} (an integer)") from None
    if minimum is not None and number < minimum:
        raise UsageError(f"bad value for {name}: {value!r} (at least {minimum})")
    return number


def parse_seconds(task: str, name: str, value: str | float) -> float:
    """A duration argument of ``task``: a number of seconds above 0."""
    try:
        seconds = float(str(value).strip())
    except ValueError:
        seconds = 0.0
    if not seconds > 0:  # also refuses nan
        raise UsageError(f"task {task}: bad value for {name}: {value!r} (seconds > 0)")
    return seconds


def parse_categories(value: str | Iterable[int | str], valid: Iterable[int] = (1, 2, 3, 4, 5)
                     ) -> tuple[int, ...]:
    """Parse "1,2,4" (or an iterable) into a sorted tuple of valid category numbers."""
    allowed = tuple(valid)
    parts = [p.strip() for p in value.split(",")] if isinstance(value, str) else list(value)
    cats: set[int] = set()
    for part in parts:
        if part == "":
            continue
        try:
            cat = int(part)
        except ValueError:
            cat = -1
        if cat not in allowed:
            raise UsageError(f"bad value for categories: {part!r} (choose from "
                             f"{','.join(map(str, allowed))})")
        cats.add(cat)
    if not cats:
        raise UsageError("bad value for categories: empty (choose from "
                         f"{','.join(map(str, allowed))})")
    return tuple(sorted(cats))
