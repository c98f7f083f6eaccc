"""Literature designs as search material: library crossover and campaigns from any seeds."""

from __future__ import annotations

from pathlib import Path

from evolve.campaign.loop import Campaign
from evolve.config.load import load_config
from evolve.lineage.queries import open_run
from evolve.meta.offline.design import LIBRARY_DESIGNS, render, validate
from evolve.meta.offline.mutator import OfflineMutator
from evolve.program.static_gate import static_gate

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_library_designs_render_and_are_mutator_material():
    mutator = OfflineMutator()
    rendered = [render(validate(d)) for d in LIBRARY_DESIGNS.values()]
    assert all(static_gate(src) is None for src in rendered)
    library = {render(d) for d in mutator.library}
    assert set(rendered) <= library  # every literature design can be crossed in


def test_campaign_from_literature_seeds(tmp_path):
    config = load_config(EXAMPLES / "quickstart.toml", [
        "task.args.size=tiny", "search.iterations=3", "data.val_size=8",
        "search.seeds=mem0_facts,bm25,memory_t1_temporal", "search.crossover_rate=0.5"])
    outcome = Campaign(config, tmp_path / "run", config_dir=EXAMPLES, progress=False).run()
    assert outcome.finished
    store = open_run(tmp_path / "run")
    try:
        seeds = {r[0] for r in store.query("SELECT name FROM programs WHERE origin = 'seed'")}
        children = store.query("SELECT count(*) FROM programs WHERE iteration > 0 "
                               "AND gate_status = 'passed'")[0][0]
    finally:
        store.close()
    assert seeds == {"mem0_facts", "bm25", "memory_t1_temporal"} and children >= 1
