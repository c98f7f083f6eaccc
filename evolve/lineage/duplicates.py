"""Proposals identical to a program already in the pool ("duplicates").

A program's id is the sha256 of its source, so a proposal equal to a stored program cannot be
stored again. It is recorded as a ``duplicate`` event instead: its iteration, the parents it
was proposed from, the program it equals, its commit message and mutator. That record is the
round's row in ``evolve programs`` when the round produced nothing new, it counts in ``evolve
status``, and it joins the parent's lineage log as an already-tried child, so the offline
mutator does not repeat the move and the LLM meta-agent reads that its proposal from this
parent duplicated program X.

A resumed campaign replays its last unfinished round: a proposal that finds the program it
stored itself the first time (same iteration, same parents, not yet claimed by another child
of the round) is that child again, not a duplicate; each duplicate is recorded once.
"""

from __future__ import annotations

import json
from typing import Any

from . import LineageStore
from .records import ProgramRecord

KIND = "duplicate"


def is_replay(existing: ProgramRecord, iteration: int, parent_ids: list[str]) -> bool:
    """True when ``existing`` is the program this very child stored before a resume."""
    return existing.iteration == iteration and list(existing.parent_ids) == list(parent_ids)


def record_duplicate(store: LineageStore, campaign_id: str, *, iteration: int, child: int,
                     parent_ids: list[str], duplicate_of: str, commit_message: str,
                     mutator: str, origin: str) -> None:
    """Log that child number ``child`` of round ``iteration`` equals ``duplicate_of``."""
    for (data,) in store.query("SELECT data FROM events WHERE campaign_id = ? AND kind = ? "
                               "AND iteration = ?", [campaign_id, KIND, iteration]):
        if json.loads(data).get("child") == child:
            return  # a replayed round: already recorded
    parents = ", ".join(p[:12] for p in parent_ids)
    store.add_event(campaign_id, KIND, f"the proposal from {parents} equals program "
                    f"{duplicate_of[:12]}, already in the pool: nothing new to evaluate",
                    iteration=iteration, program_id=duplicate_of,
                    data={"child": child, "parent_ids": list(parent_ids),
                          "duplicate_of": duplicate_of, "commit_message": commit_message,
                          "mutator": mutator, "origin": origin})


def _duplicates(store: LineageStore, campaign_id: str | None = None,
                before_iteration: int | None = None) -> list[dict[str, Any]]:
    where, params = ["kind = ?"], list[Any]([KIND])
    if campaign_id is not None:
        where.append("campaign_id = ?")
        params.append(campaign_id)
    if before_iteration is not None:
        where.append("iteration < ?")
        params.append(before_iteration)
    rows = store.query(f"SELECT iteration, data FROM events WHERE {' AND '.join(where)} "
                       "ORDER BY iteration, id", params)
    return [{**json.loads(data), "iteration": iteration} for iteration, data in rows]


def duplicate_children(store: LineageStore, parent_id: str,
                       before_iteration: int) -> list[dict[str, Any]]:
    """Duplicates proposed from ``parent_id`` before ``before_iteration`` (oldest first)."""
    campaign = store.query("SELECT campaign_id FROM programs WHERE id = ?", [parent_id])
    if not campaign:
        return []
    return [d for d in _duplicates(store, campaign[0][0], before_iteration)
            if parent_id in d.get("parent_ids", [])]


def duplicate_rows(store: LineageStore) -> list[dict[str, Any]]:
    """One ``evolve programs`` row per duplicate (the id is the program it equals)."""
    scores = dict(store.query("SELECT program_id, score FROM evaluations WHERE split = 'static' "
                              "AND status <> 'gate_failed'"))
    return [{"id": d["duplicate_of"], "name": None, "parents": list(d.get("parent_ids", [])),
             "iteration": d["iteration"], "origin": "duplicate", "mutator": d.get("mutator"),
             "status": "duplicate", "val_score": scores.get(d["duplicate_of"]),
             "tokens_per_query": None, "duplicate_of": d["duplicate_of"],
             "commit_message": (d.get("commit_message") or "").split("\n")[0]}
            for d in _duplicates(store)]


def count_duplicates(store: LineageStore) -> int:
    return int(store.query("SELECT count(*) FROM events WHERE kind = ?", [KIND])[0][0])
