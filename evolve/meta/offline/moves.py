"""The library of design moves of the offline mutator.

A ``Move`` is a small named change of a design (``apply(design) -> design | None``; None when
it does not apply or would change nothing), a sentence describing it (used in the commit
message), and its *affinity*: how strongly it addresses each diagnosis finding kind (see
``diagnosis.KINDS``). Affinities may depend on the design (switching away from ``index=none``
is the cure for a truncated "return everything" memory, but only a side-step for a search).

Moves never make a design invalid: results go through ``design.validate``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .design import SPACE, validate
from .masking import masked

Design = dict[str, Any]
Affinity = dict[str, float]


@dataclass(frozen=True)
class Move:
    """One named design change; ``group`` is the part of the design it touches."""

    name: str
    group: str  # storage | retrieval | time | update | output | instructions
    change: Callable[[Design], Design | None]
    text: Callable[[Design, Design], str]
    affinity: Callable[[Design], Affinity]
    instruction_only: bool = False  # changes nothing but the instruction constants

    def apply(self, design: Design) -> Design | None:
        """The moved design (validated), or None when the move does not apply."""
        changed = self.change(dict(design))
        if changed is None:
            return None
        result = validate(changed)
        return None if result == validate(design) else result

    def describe(self, old: Design, new: Design) -> str:
        return self.text(old, new)


def _step(key: str, value: Any, up: bool) -> Any | None:
    ladder = SPACE[key].ladder
    if up:
        higher = [v for v in ladder if v > value]
        return min(higher) if higher else None
    lower = [v for v in ladder if v < value]
    return max(lower) if lower else None


def _set(key: str, value: Any, when: Callable[[Design], bool] = lambda d: True
         ) -> Callable[[Design], Design | None]:
    def change(d: Design) -> Design | None:
        if not when(d) or d[key] == value:
            return None
        d[key] = value
        return d
    return change


def _stepper(key: str, up: bool, when: Callable[[Design], bool] = lambda d: True
             ) -> Callable[[Design], Design | None]:
    def change(d: Design) -> Design | None:
        new = _step(key, d[key], up) if when(d) else None
        if new is None:
            return None
        d[key] = new
        return d
    return change


def _from_to(key: str, what: str) -> Callable[[Design, Design], str]:
    return lambda old, new: f"{what}: {key} {old[key]} -> {new[key]}"


def _const(aff: Affinity) -> Callable[[Design], Affinity]:
    return lambda d: aff


def _said(text: str) -> Callable[[Design, Design], str]:
    """A move description that does not depend on the designs."""
    return lambda o, n: text


def _index_text(what: str) -> Callable[[Design, Design], str]:
    return lambda o, n: f"Rank units by {what} (was index={o['index']})"


def _index_affinity(target: str) -> Callable[[Design], Affinity]:
    def aff(d: Design) -> Affinity:
        if d["index"] == "none":  # everything is returned: any index cures overflow
            return {"truncated": 1.2, "evidence_missing": 1.0, "partial_evidence": 0.6,
                    "noise": 0.6, "speaker_missing": 0.5}
        lexical = target in ("fts5", "lexical", "hybrid")
        return {"evidence_missing": 0.45 if lexical else 0.35, "speaker_missing": 0.3 if
                lexical else 0.1, "noise": 0.2, "partial_evidence": 0.2}
    return aff


def _to_units(unit: str) -> Callable[[Design], Design | None]:
    def change(d: Design) -> Design | None:
        if d["unit"] == unit:
            return None
        d["unit"] = unit
        if unit == "turn":
            d["context_lines"] = max(d["context_lines"], 1)
        return d
    return change


def _unit_text(unit: str, why: str) -> Callable[[Design, Design], str]:
    return lambda old, new: f"Store {unit} units instead of {old['unit']} units ({why})"


def _fact_affinity(d: Design) -> Affinity:
    return {"noise": 1.0, "evidence_missing": 0.6, "partial_evidence": 0.55, "truncated": 0.6,
            "speaker_missing": 0.3, "stale_value": 0.3}


def _cap_on(d: Design) -> Design | None:
    if d["index"] == "none":
        return None
    new = 2 if d["per_source_cap"] == 0 else _step("per_source_cap", d["per_source_cap"], False)
    if new in (None, 0):
        return None
    d["per_source_cap"] = new
    return d


def _fill_on(d: Design) -> Design | None:
    if d["index"] == "none" or d["fill_budget"]:
        return None
    d["fill_budget"] = True
    return d


def _searching(d: Design) -> bool:
    return d["index"] != "none"


def _build() -> list[Move]:
    m: list[Move] = []
    add = m.append
    # -- storage: what one unit is
    add(Move("fact_units", "storage", _to_units("fact"),
             _unit_text("fact", "one extracted fact per unit: no small talk, short units"),
             _fact_affinity))
    add(Move("turn_units", "storage", _to_units("turn"),
             _unit_text("turn", "one dialogue line per unit, shown with its neighbours"),
             _const({"noise": 0.5, "truncated": 0.5, "partial_evidence": 0.2})))
    add(Move("chunk_units", "storage", _to_units("chunk"),
             _unit_text("chunk", "raw text chunks keep the surrounding conversation"),
             _const({"answer_mismatch": 0.3, "evidence_missing": 0.15})))
    add(Move("smaller_chunks", "storage", _stepper("chunk_chars", False,
                                                   lambda d: d["unit"] == "chunk"),
             _from_to("chunk_chars", "Smaller chunks, so one unit holds fewer unrelated turns"),
             _const({"noise": 0.7, "truncated": 0.8, "partial_evidence": 0.4})))
    add(Move("larger_chunks", "storage", _stepper("chunk_chars", True,
                                                  lambda d: d["unit"] == "chunk"),
             _from_to("chunk_chars", "Larger chunks, so a hit carries more context"),
             _const({"answer_mismatch": 0.3, "evidence_missing": 0.2})))
    add(Move("more_context", "storage", _stepper("context_lines", True,
                                                 lambda d: d["unit"] == "turn"),
             _from_to("context_lines", "Show more neighbouring lines around each hit"),
             _const({"answer_mismatch": 0.4, "evidence_missing": 0.25})))
    add(Move("less_context", "storage", _stepper("context_lines", False,
                                                 lambda d: d["unit"] == "turn"),
             _from_to("context_lines", "Show fewer neighbouring lines around each hit"),
             _const({"noise": 0.6, "truncated": 0.5})))
    add(Move("lessons_on", "storage", _set("lessons", True, lambda d: d["unit"] == "fact"),
             lambda o, n: "Keep general lessons next to the facts",
             _const({"answer_mismatch": 0.1})))
    add(Move("lessons_off", "storage", _set("lessons", False),
             lambda o, n: "Drop the lessons list: its share of the budget goes to facts",
             _const({"truncated": 0.3, "noise": 0.2})))
    # -- retrieval
    for target, what in (("lexical", "idf-weighted term overlap"), ("fts5", "SQLite FTS5 bm25"),
                         ("vector", "embedding similarity"),
                         ("hybrid", "FTS5 + vector fused by reciprocal rank")):
        add(Move(f"index_{target}", "retrieval", _set("index", target),
                 _index_text(what),
                 _index_affinity(target)))
    add(Move("index_none", "retrieval", _set("index", "none"),
             lambda o, n: "Return the whole memory while it fits (newest kept when over budget)",
             _const({"partial_evidence": 0.25, "evidence_missing": 0.15})))
    add(Move("raise_k", "retrieval", _stepper("top_k", True, _searching),
             _from_to("top_k", "Return more units per read"),
             _const({"evidence_missing": 0.8, "partial_evidence": 1.0, "budget_unused": 0.9,
                     "stale_value": 0.4})))
    add(Move("lower_k", "retrieval", _stepper("top_k", False, _searching),
             _from_to("top_k", "Return fewer units per read"),
             _const({"noise": 0.8, "truncated": 0.5, "wrong_person": 0.4})))
    add(Move("fill_budget_on", "retrieval", _fill_on,
             lambda o, n: "After top_k, keep adding matching units while the budget lasts",
             _const({"budget_unused": 1.0, "evidence_missing": 0.5, "partial_evidence": 0.7})))
    add(Move("fill_budget_off", "retrieval",
             _set("fill_budget", False, _searching),
             lambda o, n: "Stop at top_k instead of filling the budget",
             _const({"noise": 0.5, "wrong_person": 0.3})))
    add(Move("cap_per_source", "retrieval", _cap_on,
             _from_to("per_source_cap", "Cap units per episode so several episodes contribute"),
             _const({"partial_evidence": 0.6, "noise": 0.2})))
    add(Move("uncap_per_source", "retrieval", _set("per_source_cap", 0),
             lambda o, n: f"Remove the per-episode cap (was {o['per_source_cap']})",
             _const({"evidence_missing": 0.2})))
    add(Move("entity_index_on", "retrieval", _set("entity_index", True),
             lambda o, n: "Index units by the names they mention; units about a name in the "
                          "query rank first",
             _const({"speaker_missing": 1.0, "wrong_person": 0.8, "noise": 0.3,
                     "evidence_missing": 0.2})))
    add(Move("entity_index_off", "retrieval", _set("entity_index", False),
             lambda o, n: "Drop the name index (rank by the index alone)",
             _const({"partial_evidence": 0.1})))
    # -- time
    add(Move("date_prefix_on", "time", _set("date_prefix", True),
             lambda o, n: "Show every unit with its session date",
             _const({"dates_missing": 1.0, "stale_value": 0.4})))
    add(Move("date_prefix_off", "time", _set("date_prefix", False),
             lambda o, n: "Drop session dates from the output (more room for content)",
             _const({"truncated": 0.15})))
    add(Move("resolve_dates_on", "time", _set("resolve_dates", True),
             lambda o, n: "Rewrite relative dates ('last Saturday') as calendar dates at write",
             _const({"dates_missing": 0.8})))
    add(Move("resolve_dates_off", "time", _set("resolve_dates", False),
             lambda o, n: "Keep relative dates as said", _const({"answer_mismatch": 0.1})))
    # -- updates and order
    add(Move("newest_wins", "update", _set("update", "newest_wins",
                                           lambda d: d["unit"] != "chunk"),
             lambda o, n: "Newest value wins for the same subject and relation; older values "
                          "rank last unless the question asks for history",
             _const({"stale_value": 1.0, "noise": 0.1})))
    add(Move("keep_all_values", "update", _set("update", "none"),
             lambda o, n: "Treat changed values like any other unit (no supersession)",
             _const({"partial_evidence": 0.2})))
    add(Move("order_newest_last", "update", _set("layout", "chronological"),
             lambda o, n: f"Order the output chronologically, newest last (was {o['layout']})",
             _const({"stale_value": 0.7, "dates_missing": 0.2})))
    add(Move("order_by_rank", "update", _set("layout", "rank"),
             lambda o, n: f"Order the output best match first (was {o['layout']})",
             _const({"answer_mismatch": 0.2, "truncated": 0.1})))
    add(Move("group_by_episode", "update", _set("layout", "grouped"),
             lambda o, n: f"Group the output by episode under its date (was {o['layout']})",
             _const({"answer_mismatch": 0.2, "dates_missing": 0.3})))
    # -- output and budget
    add(Move("raise_budget", "output", _stepper("max_chars", True),
             _from_to("max_chars", "Use more of the read budget"),
             _const({"truncated": 1.0, "evidence_missing": 0.3, "partial_evidence": 0.3})))
    add(Move("lower_budget", "output", _stepper("max_chars", False),
             _from_to("max_chars", "Return less text"), _const({"noise": 0.35})))
    add(Move("summarize_on", "output", _set("summarize", True),
             lambda o, n: "One toolkit LLM call summarises the selection for the question",
             _const({"noise": 0.45, "answer_mismatch": 0.35})))
    add(Move("summarize_off", "output", _set("summarize", False),
             lambda o, n: "Return the selected units without a summary call",
             _const({"answer_mismatch": 0.3, "evidence_missing": 0.2, "truncated": 0.2})))
    add(Move("more_selection", "output", _stepper("selection_chars", True,
                                                  lambda d: d["summarize"]),
             _from_to("selection_chars", "Show the summarizer more memory"),
             _const({"evidence_missing": 0.4, "partial_evidence": 0.4})))
    add(Move("excerpts_toggle", "output",
             lambda d: {**d, "append_excerpts": not d["append_excerpts"]} if d["summarize"]
             else None,
             lambda o, n: ("Append excerpts after the summary" if n["append_excerpts"]
                           else "Return the summary alone"),
             _const({"answer_mismatch": 0.2})))
    add(Move("lesson_share_down", "output", _stepper("lesson_share", False,
                                                     lambda d: d["lessons"]),
             _from_to("lesson_share", "Give lessons a smaller share of the budget"),
             _const({"truncated": 0.3})))
    # -- instruction wording (no effect on the code)
    for key, variant, text, aff in (
            ("query_instruction", "expand", "Ask the task agent for synonyms and word variants "
             "in the query keywords", {"evidence_missing": 0.3}),
            ("query_instruction", "focused", "Ask the task agent for a few precise query "
             "keywords", {"noise": 0.2}),
            ("query_instruction", "plain", "Plain query instruction", {}),
            ("response_instruction", "strict", "Tell the answerer to use only statements about "
             "the person asked", {"wrong_person": 0.6}),
            ("response_instruction", "lists", "Tell the answerer to list every matching item",
             {"incomplete_answer": 0.9, "partial_evidence": 0.1}),
            ("response_instruction", "latest", "Tell the answerer that the latest value holds",
             {"stale_value": 0.45}),
            ("response_instruction", "plain", "Plain response instruction", {}),
            ("item_instruction", "atomic", "Ask for atomic, name-first, dated facts at "
             "extraction", {"dates_missing": 0.3, "speaker_missing": 0.3}),
            ("item_instruction", "changes", "Ask the extractor to state changes explicitly",
             {"stale_value": 0.3}),
            ("item_instruction", "plain", "Plain extraction instruction", {}),
            ("always_on", "dates", "Always-on note: entries are dated by their session",
             {"dates_missing": 0.3}),
            ("always_on", "updates", "Always-on note: the most recent entry is current",
             {"stale_value": 0.3}),
            ("always_on", "none", "No always-on note", {})):
        add(Move(f"{key.split('_')[0]}_{variant}", "instructions", _set(key, variant),
                 _said(text), _const(aff), instruction_only=True))
    return m


MOVES: tuple[Move, ...] = tuple(_build())
MOVES_BY_NAME: dict[str, Move] = {move.name: move for move in MOVES}


def applicable(design: Design) -> list[tuple[Move, Design]]:
    """Every move that changes ``design`` and can change an answer of it (not masked by
    another knob, ``masking.MASKS``), with the design it produces (library order)."""
    out = []
    for move in MOVES:
        if masked(move.name, design) is not None:
            continue
        new = move.apply(design)
        if new is not None:
            out.append((move, new))
    return out
