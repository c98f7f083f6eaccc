"""Each program's validation gain over its parent and over the best seed, with intervals.

Every program of a campaign is scored on the same static validation items, so two programs'
per-item scores are paired: the gain of a child over its parent is the mean per-item
difference, and a paired bootstrap over the items (``evolve.stats.paired_gain``) says how much
of it could be which items happened to be chosen. ``status``, ``programs`` and the report show
these intervals beside the raw scores, so that a gain of one or two items reads as such.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..stats import Gain, paired_gain
from .pool_queries import COUNTED_STATIC
from .store import LineageStore


@dataclass(frozen=True)
class ProgramGains:
    """A program's static-validation gains. ``vs_parent`` compares with its first parent
    (None for seeds, or when the parent has no usable evaluation); ``vs_best_seed`` with the
    seed that scored best on validation (None for that seed itself)."""

    program_id: str
    vs_parent: Gain | None
    vs_best_seed: Gain | None


def _static_item_scores(store: LineageStore) -> dict[str, dict[str, float]]:
    """program id -> {item id: score} of its static evaluation (usable ones only)."""
    rows = store.query(
        "SELECT e.program_id, r.item_id, r.score FROM evaluations e JOIN item_results r ON "
        f"r.evaluation_id = e.id WHERE {COUNTED_STATIC} ORDER BY e.id, r.rowid")
    scores: dict[str, dict[str, float]] = {}
    for program, item, score in rows:
        scores.setdefault(program, {})[item] = float(score or 0.0)
    return scores


def _gain(before: dict[str, float] | None, after: dict[str, float]) -> Gain | None:
    if not before:
        return None
    common = [item for item in after if item in before]
    if not common:
        return None
    return paired_gain([before[i] for i in common], [after[i] for i in common])


def _programs(store: LineageStore) -> list[tuple[str, str, list[str]]]:
    return store.query("SELECT id, origin, parent_ids FROM programs "
                       "ORDER BY iteration, created_at, id")


def _best_seed(programs: list[tuple[str, str, list[str]]],
               scores: dict[str, dict[str, float]]) -> str | None:
    """The seed with the best mean item score (the oldest among ties: max keeps the first)."""
    seeds = [pid for pid, origin, _ in programs if origin == "seed" and pid in scores]
    return max(seeds, key=lambda pid: sum(scores[pid].values()) / len(scores[pid]),
               default=None)


def gain_over_best_seed(store: LineageStore, program_id: str) -> Gain | None:
    """One program's gain over the best seed (None for that seed, or without evaluations):
    what ``evolve status`` shows, without resampling every other program."""
    scores = _static_item_scores(store)
    best_seed = _best_seed(_programs(store), scores)
    if program_id not in scores or best_seed is None or best_seed == program_id:
        return None
    return _gain(scores[best_seed], scores[program_id])


def program_gains(store: LineageStore) -> dict[str, ProgramGains]:
    """Gains of every program with a usable static evaluation, keyed by program id."""
    scores = _static_item_scores(store)
    programs = _programs(store)
    best_seed = _best_seed(programs, scores)
    gains = {}
    for pid, origin, parents in programs:
        if pid not in scores:
            continue
        parent = parents[0] if parents and origin != "seed" else None
        gains[pid] = ProgramGains(
            program_id=pid,
            vs_parent=_gain(scores.get(parent), scores[pid]) if parent else None,
            vs_best_seed=(_gain(scores[best_seed], scores[pid])
                          if best_seed and pid != best_seed else None))
    return gains
