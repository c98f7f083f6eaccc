"""Iteration 0: add the seed programs to the lineage and evaluate them on the static subset.

A seed that fails a gate stays in the lineage (``gate_failed`` event), one whose evaluation
did not complete is not a pool member (``evaluation_error``, as for children in ``child``).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..evaluation.evaluator import CampaignEvaluator
from ..lineage import LineageStore
from ..lineage.queries import seed_programs
from ..lineage.writes import NewProgram
from ..program.identity import program_id
from .progress import Progress


def evaluate_seeds(store: LineageStore, campaign_id: str, seeds: Sequence[tuple[str, str]],
                   evaluator: CampaignEvaluator, progress: Progress) -> None:
    """Record every ``(name, source)`` seed, then evaluate them in creation order."""
    for name, source in seeds:
        pid = program_id(source)
        store.add_program(NewProgram(pid, campaign_id, source, name=name, iteration=0,
                                     origin="seed", mutator="seed",
                                     commit_message=f"seed: {name}"))
    for row in seed_programs(store, campaign_id):
        evaluation = evaluator.evaluate(row["id"], row["source"], "static")
        passed = evaluation.status not in ("gate_failed", "error")
        if evaluation.status == "error":  # not a pool member (see child.py)
            store.set_gate(row["id"], "error", "evaluation", evaluation.error)
            store.add_event(campaign_id, "evaluation_error",
                            f"seed {row['name']}: {evaluation.error}", iteration=0,
                            program_id=row["id"])
        else:
            store.set_gate(row["id"], "passed" if passed else "failed",
                           evaluation.gate_stage, None if passed else evaluation.error)
        if evaluation.status == "gate_failed":
            store.add_event(campaign_id, "gate_failed",
                            f"seed {row['name']}: {evaluation.error}", iteration=0,
                            program_id=row["id"])
        progress.seed(row["name"], evaluation.status, evaluation.score or 0.0)
