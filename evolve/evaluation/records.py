"""Small helpers that turn in-memory results into lineage-store rows (the program id itself
is born in ``evolve.program.identity``)."""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from typing import Any

from ..llm.base import CallRecord
from .evaluate import EvalResult


def subset_key(name: str, item_ids: list[str]) -> str:
    """Stable key of an evaluation subset: its name and a hash of its item ids."""
    digest = hashlib.sha256("\n".join(sorted(item_ids)).encode()).hexdigest()[:16]
    return f"{name}:{digest}"


def call_rows(calls: list[CallRecord]) -> list[dict[str, Any]]:
    return [asdict(call) for call in calls]


def evaluation_summary(result: EvalResult) -> dict[str, Any]:
    summary = result.summary()
    summary["calls_per_query"] = (result.llm_calls / result.n_items) if result.n_items else 0.0
    return summary


def item_rows(result: EvalResult) -> list[dict[str, Any]]:
    return [trace.to_dict() for trace in result.items]
