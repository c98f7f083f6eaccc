"""Ablation switches and the cost Pareto front hold in real campaigns."""

from __future__ import annotations

import ast
from pathlib import Path

from evolve.campaign.loop import Campaign
from evolve.config.load import load_config
from evolve.lineage.queries import campaign_status, open_run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CONSTANTS = ("INSTRUCTION_KNOWLEDGE_ITEM", "INSTRUCTION_QUERY", "INSTRUCTION_RESPONSE",
             "ALWAYS_ON_KNOWLEDGE")


def constants(source: str) -> dict[str, str]:
    values = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) \
                and node.targets[0].id in CONSTANTS:
            values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


def run(tmp_path: Path, *overrides: str) -> Path:
    config = load_config(EXAMPLES / "quickstart.toml",
                         ["task.args.size=tiny", "search.iterations=4", "data.val_size=10",
                          *overrides])
    run_dir = tmp_path / "run"
    assert Campaign(config, run_dir, config_dir=EXAMPLES, progress=False).run().finished
    return run_dir


def test_freeze_instructions_keeps_every_childs_constants(tmp_path):
    store = open_run(run(tmp_path, "search.freeze_instructions=true"))
    try:
        rows = store.query("SELECT c.source, p.source FROM programs c JOIN programs p "
                           "ON p.id = c.parent_ids[1] WHERE c.iteration > 0")
        status = campaign_status(store)
    finally:
        store.close()
    assert rows
    for child, parent in rows:
        assert constants(child) == constants(parent)
    front = status["pareto_front"]
    assert front["cost_objective"] == "tokens" and front["programs"]
    best = max(front["programs"], key=lambda p: p["score"])
    assert best["score"] == status["best_val"]
