"""Children that changed nothing: the same answer and score as their parent on every item.

A move can change a program's source and still change no answer on the validation items
(an instruction the reader ignores, a knob at a value that makes no difference here). Such a
child is a new program, so it is stored, gated and evaluated like any other, but it is not a
try of the search: it is recorded as a ``no_op`` event naming its parent, it does not count
as a child without a new best for the stagnation stopper, and ``evolve status`` counts these
apart from the children that changed something. Comparing whole answers, not only the score,
keeps a child that answers differently at the same score counted as a real move.
"""

from __future__ import annotations

from .pool_queries import COUNTED_STATIC
from .store import LineageStore

KIND = "no_op"


def _answers(store: LineageStore, evaluation_id: int) -> list[tuple[str, str | None, float]]:
    return [(str(item), answer, float(score or 0.0)) for item, answer, score in store.query(
        "SELECT item_id, answer, score FROM item_results WHERE evaluation_id = ? "
        "ORDER BY item_id", [evaluation_id])]


def static_evaluation_id(store: LineageStore, program_id: str) -> int | None:
    """The id of the program's usable static-validation evaluation, if it has one."""
    rows = store.query("SELECT e.id FROM evaluations e WHERE e.program_id = ? AND "
                       f"{COUNTED_STATIC} ORDER BY e.id LIMIT 1", [program_id])
    return int(rows[0][0]) if rows else None


def is_no_op(store: LineageStore, child_id: str, parent_id: str) -> bool:
    """True when both have a usable static evaluation and every item's answer and score
    are equal (and there is at least one item)."""
    child_eval = static_evaluation_id(store, child_id)
    parent_eval = static_evaluation_id(store, parent_id)
    if child_eval is None or parent_eval is None:
        return False
    child = _answers(store, child_eval)
    return bool(child) and child == _answers(store, parent_eval)


def record_no_op(store: LineageStore, campaign_id: str, *, iteration: int, child_id: str,
                 parent_id: str, mutator: str) -> None:
    """Log that ``child_id`` answered exactly as ``parent_id`` did (once per child)."""
    if store.query("SELECT 1 FROM events WHERE campaign_id = ? AND kind = ? AND program_id = ?",
                   [campaign_id, KIND, child_id]):
        return  # a replayed round after a resume: already recorded
    store.add_event(campaign_id, KIND,
                    f"no-op: same answer and score as {parent_id[:12]} on every validation item",
                    iteration=iteration, program_id=child_id,
                    data={"parent": parent_id, "mutator": mutator})


def no_op_ids(store: LineageStore) -> set[str]:
    """Ids of the children recorded as no-ops."""
    return {str(pid) for (pid,) in store.query(
        "SELECT DISTINCT program_id FROM events WHERE kind = ?", [KIND])}
