"""Moves that cannot change an answer given the parent's design (knob dependencies, as data).

A move changes a design key; whether that key can matter depends on other keys of the same
design. When the rendered program ignores the key (an extraction wording for a program that
stores raw text), already says what the move would add (a "latest value holds" sentence the
design's update rule put there), or when another part of the read path overrides it (a
budget-filling step after ``top_k``, a read cap already filled by ``top_k`` units), the child
answers exactly as its parent: a no-op that costs a full evaluation and teaches nothing.
``MASKS`` states each such dependency once, with why; ``masked`` names the first that holds.

These are statements about the template program (``evolve/templates/programs/``) and the
wording of ``wording.py``, not about any task's vocabulary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Design = dict[str, Any]

# Characters a chunk carries on top of ``chunk_chars`` when shown: its session header line
# and the block separator (an upper bound, so the "already fits" test below stays safe).
_CHUNK_OVERHEAD = 60


@dataclass(frozen=True)
class Mask:
    """Moves ``moves`` cannot change an answer of a design for which ``holds`` is true."""

    moves: tuple[str, ...]
    holds: Callable[[Design], bool]
    why: str


def _searching(d: Design) -> bool:
    return d["index"] != "none"


def _read_budget(d: Design) -> int:
    """What the selected units must fit: the summarizer's selection, else the read budget."""
    return int(d["selection_chars"] if d["summarize"] else d["max_chars"])


def _top_k_overflows(d: Design) -> bool:
    # top_k full-size chunks already exceed what the read keeps: more units are dropped by
    # the cap (a shorter chunk at a session end may slip in, which is not worth a child)
    return (_searching(d) and not d["fill_budget"] and d["unit"] == "chunk"
            and d["top_k"] * d["chunk_chars"] >= _read_budget(d))


def _top_k_fits(d: Design) -> bool:
    # the top_k units, at their largest, already fit the budget: more budget adds nothing
    return (_searching(d) and not d["fill_budget"] and not d["summarize"]
            and d["unit"] == "chunk"
            and d["top_k"] * (d["chunk_chars"] + _CHUNK_OVERHEAD) <= d["max_chars"])


def _says_latest(d: Design) -> bool:
    # wording.py adds the "latest one holds" sentence for these designs whatever the variant
    return d["update"] == "newest_wins" or d["layout"] == "chronological"


def _query_unused(d: Design) -> bool:
    # with index=none the read returns everything newest first; the query's keywords reach
    # only the lesson ranking, and its names only the name index
    return d["index"] == "none" and not d["lessons"] and not d["entity_index"]


MASKS: tuple[Mask, ...] = (
    Mask(("raise_k", "lower_k"), lambda d: _searching(d) and d["fill_budget"],
         "the budget-filling step keeps adding matching units after the first top_k, so "
         "top_k changes only which over-long unit is tried first"),
    Mask(("raise_k",), _top_k_overflows,
         "top_k units of chunk_chars already fill the read budget; extra units are cut"),
    Mask(("raise_budget",), _top_k_fits,
         "the top_k units already fit the budget and nothing fills it further"),
    Mask(("item_atomic", "item_changes", "item_plain"), lambda d: d["unit"] != "fact",
         "the extraction instruction is used only when units are extracted facts"),
    Mask(("response_latest",), _says_latest,
         "the response instruction already says the latest value holds (update or layout)"),
    Mask(("response_plain",), lambda d: d["response_instruction"] == "latest"
         and _says_latest(d),
         "dropping the 'latest' variant leaves the same sentence (update or layout)"),
    Mask(("query_expand", "query_focused", "query_plain"), _query_unused,
         "nothing in this read path uses the query's keywords"),
)


def masked(move_name: str, design: Design) -> str | None:
    """Why ``move_name`` cannot change an answer of ``design`` (None when it can)."""
    for mask in MASKS:
        if move_name in mask.moves and mask.holds(design):
            return mask.why
    return None
