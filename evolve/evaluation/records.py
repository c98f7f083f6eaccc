"""An evaluation's in-memory result as the lineage store's write record, and the key of an
evaluation subset (the program id itself is born in ``evolve.program.identity``)."""

from __future__ import annotations

import hashlib

from ..lineage.writes import NewEvaluation, NewItem
from .evaluate import EvalResult


def subset_key(name: str, item_ids: list[str]) -> str:
    """Stable key of an evaluation subset: its name and a hash of its item ids."""
    digest = hashlib.sha256("\n".join(sorted(item_ids)).encode()).hexdigest()[:16]
    return f"{name}:{digest}"


def new_evaluation(result: EvalResult) -> NewEvaluation:
    """The stored form of ``result``: its ``evolve eval --json`` figures (rounded as there),
    its item traces and model calls; a runtime violation scores 0 (as in M*)."""
    summary = result.summary()
    return NewEvaluation(
        status=result.status,
        score=0.0 if result.status == "runtime_violation" else summary["score"],
        per_category=summary["per_category"], n_items=result.n_items, error=result.error,
        gate_stage=result.gate_stage, sandbox_mode=summary["sandbox_mode"],
        llm_calls=result.llm_calls, tokens_in=result.tokens_in, tokens_out=result.tokens_out,
        cost_usd=summary["cost_usd"], tokens_per_query=summary["tokens_per_query"],
        calls_per_query=(result.llm_calls / result.n_items) if result.n_items else 0.0,
        duration_s=summary["seconds"], write_example=result.write_example,
        failed_items=result.failed_items, skipped_episodes=result.skipped_episodes,
        extraction_failures=result.extraction_failures,
        query_fallbacks=result.query_fallbacks, coercions=result.coercions,
        episode_notes=tuple(result.episode_notes),
        items=tuple(NewItem.from_trace(trace.to_dict()) for trace in result.items),
        calls=tuple(result.calls))
