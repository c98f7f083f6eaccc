"""A campaign on an LLM-judged task (LongMemEval fixture) runs end to end offline."""

from __future__ import annotations

from pathlib import Path

from evolve.campaign.loop import Campaign
from evolve.config.load import load_config
from evolve.lineage.queries import campaign_status, open_run

ROOT = Path(__file__).resolve().parents[2]


def test_longmemeval_campaign_uses_the_judge(tmp_path):
    fixture = ROOT / "tests" / "fixtures" / "longmemeval_mini.json"
    toml = tmp_path / "lme.toml"
    toml.write_text(f"""
[task]
name = "longmemeval"
args = {{ path = "{fixture}", test = "0.25" }}
[search]
seeds = ["vector_search", "full_context"]
iterations = 1
[data]
val_size = 2
reflection_size = 1
""")
    config = load_config(toml)
    outcome = Campaign(config, tmp_path / "run", config_dir=tmp_path, progress=False).run()
    assert outcome.finished
    store = open_run(tmp_path / "run")
    try:
        status = campaign_status(store)
    finally:
        store.close()
    assert status["spend"]["judge"]["calls"] > 0
