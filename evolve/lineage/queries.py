"""Read-side queries over a run's lineage database (status, program table, lookups).

All functions take a ``LineageStore`` opened on a snapshot (``open_readonly``), so they work
while a campaign is still running and never lock its database.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..stats import Gain
from . import LineageStore, StoreError, open_readonly
from .gains import gain_over_best_seed, program_gains
from .noops import no_op_ids

DB_NAME = "lineage.duckdb"


def open_run(run_dir: str | Path) -> LineageStore:
    """A snapshot of RUN_DIR's database; a clear usage error when RUN_DIR is not a run."""
    path = Path(run_dir) / DB_NAME
    if not Path(run_dir).is_dir():
        raise UsageError(f"{run_dir} is not a directory")
    if not path.is_file():
        raise UsageError(f"{run_dir} is not an evolve run directory (no {DB_NAME})")
    try:
        store = open_readonly(path)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    if store.campaign() is None:
        store.close()
        raise UsageError(f"{run_dir} holds no campaign")
    return store


def resolve_program_id(store: LineageStore, prefix: str) -> str:
    """The unique program id starting with ``prefix`` (usage error when none or several)."""
    # starts_with, not LIKE: a "%" or "_" the user typed is a character, not a wildcard
    rows = store.query("SELECT id FROM programs WHERE starts_with(id, ?) ORDER BY id", [prefix])
    if not rows:
        raise UsageError(f"no program id starts with '{prefix}'")
    if len(rows) > 1:
        raise UsageError(f"program id prefix '{prefix}' is ambiguous ({len(rows)} programs)")
    return rows[0][0]


def spend_by_role(store: LineageStore) -> dict[str, dict[str, Any]]:
    rows = store.query_dicts(
        "SELECT role, count(*) AS calls, coalesce(sum(tokens_in + tokens_out), 0) AS tokens, "
        "coalesce(sum(cost_usd), 0) AS usd, count(*) FILTER (WHERE cached) AS cached, "
        "count(*) FILTER (WHERE error IS NOT NULL) AS errors FROM llm_calls GROUP BY role "
        "ORDER BY role")
    return {r["role"]: {"calls": int(r["calls"]), "tokens": int(r["tokens"]),
                        "usd": round(float(r["usd"]), 6), "cached": int(r["cached"]),
                        "errors": int(r["errors"])} for r in rows}


def _best_static(store: LineageStore, seeds_only: bool = False) -> dict[str, Any] | None:
    origin = "AND p.origin = 'seed'" if seeds_only else ""
    rows = store.query_dicts(
        "SELECT p.id, p.name, p.iteration, e.score FROM programs p JOIN evaluations e ON "
        "e.program_id = p.id WHERE e.split = 'static' "
        "AND e.status NOT IN ('gate_failed', 'error') "
        f"{origin} ORDER BY e.score DESC, p.iteration, p.created_at, p.id LIMIT 1")
    return rows[0] if rows else None


def campaign_status(store: LineageStore) -> dict[str, Any]:
    """The ``evolve status --json`` object (README.md, "Commands")."""
    from .duplicates import count_duplicates
    campaign = store.campaign() or {}
    config = json.loads(campaign.get("config") or "{}")
    done = store.get_state(campaign.get("id") or "", "iterations_done", 0)
    best = _best_static(store)
    best_seed = _best_static(store, seeds_only=True)
    best_test = None
    if best:
        rows = store.query("SELECT score FROM evaluations WHERE program_id = ? AND split = 'test' "
                           "ORDER BY id LIMIT 1", [best["id"]])
        best_test = rows[0][0] if rows else None
    counts = dict(store.query("SELECT gate_status, count(*) FROM programs GROUP BY gate_status"))
    gain = gain_over_best_seed(store, best["id"]) if best else None
    return {
        "campaign": campaign.get("name"),
        "task": campaign.get("task"),
        "iterations_done": int(done or 0),
        "iterations_target": config.get("search", {}).get("iterations"),
        "best_program": best["id"] if best else None,
        "best_val": best["score"] if best else None,
        "best_seed_val": best_seed["score"] if best_seed else None,
        "best_test": best_test,
        "val_test_gap": (best["score"] - best_test) if best and best_test is not None else None,
        # the best's paired gain over the best seed on the validation items, 95% interval
        "best_gain_vs_seed": _gain_dict(gain),
        "no_ops": len(no_op_ids(store)),  # children answering exactly as their parent
        "programs": {str(k): int(v) for k, v in counts.items()},
        "duplicates": count_duplicates(store),  # proposals equal to a program already stored
        "spend": spend_by_role(store),
        "pareto_front": store.get_state(campaign.get("id") or "", "pareto_front"),
        "stop_reason": campaign.get("stop_reason"),
        "finished": campaign.get("finished_at") is not None,
    }


def _gain_dict(gain: Gain | None) -> dict[str, float] | None:
    return None if gain is None else dataclasses.asdict(gain)


def program_table(store: LineageStore) -> list[dict[str, Any]]:
    """One row per program: id, parents, iteration, origin, status, val score, its paired
    gain over its parent and over the best seed (mean and 95% interval), cost."""
    gains = program_gains(store)
    no_ops = no_op_ids(store)
    rows = store.query_dicts(
        "SELECT p.id, p.name, p.parent_ids, p.iteration, p.origin, p.mutator, p.gate_status, "
        "p.commit_message, e.status AS eval_status, e.score AS val_score, "
        "e.tokens_per_query, e.calls_per_query FROM programs p LEFT JOIN evaluations e ON "
        "e.program_id = p.id AND e.split = 'static' ORDER BY p.iteration, p.created_at, p.id")
    table = []
    for row in rows:
        status = row["eval_status"] or ("gate_failed" if row["gate_status"] == "failed"
                                        else row["gate_status"])
        if row["gate_status"] == "failed":
            status = "gate_failed"
        gain = gains.get(row["id"])
        table.append({"id": row["id"], "name": row["name"], "parents": list(row["parent_ids"] or []),
                      "iteration": row["iteration"], "origin": row["origin"],
                      "mutator": row["mutator"], "status": status,
                      "val_score": row["val_score"],
                      "gain_vs_parent": _gain_dict(gain.vs_parent if gain else None),
                      "gain_vs_best_seed": _gain_dict(gain.vs_best_seed if gain else None),
                      "no_op": row["id"] in no_ops,
                      "tokens_per_query": row["tokens_per_query"],
                      "commit_message": (row["commit_message"] or "").split("\n")[0]})
    return table


# -- what the campaign loop reads back --------------------------------------------------------

def seed_programs(store: LineageStore, campaign_id: str) -> list[dict[str, Any]]:
    """``{id, name, source}`` of the campaign's seeds, in the order they were added."""
    return store.query_dicts("SELECT id, name, source FROM programs WHERE campaign_id = ? "
                             "AND origin = 'seed' ORDER BY created_at, id", [campaign_id])


def spend(store: LineageStore, campaign_id: str) -> tuple[float, int]:
    """USD and tokens (in + out) of every model call the campaign made so far."""
    usd, tokens = store.query("SELECT coalesce(sum(cost_usd), 0), coalesce(sum(tokens_in + "
                              "tokens_out), 0) FROM llm_calls WHERE campaign_id = ?",
                              [campaign_id])[0]
    return float(usd), int(tokens)


def first_seed_failure(store: LineageStore, campaign_id: str) -> str | None:
    """The message of the campaign's first gate failure or evaluation error, if any."""
    rows = store.query("SELECT message FROM events WHERE campaign_id = ? AND kind IN "
                       "('gate_failed', 'evaluation_error') ORDER BY id LIMIT 1", [campaign_id])
    return str(rows[0][0]) if rows else None
