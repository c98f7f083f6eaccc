"""A long campaign keeps no per-round state in memory (issue 18: no growth)."""

from __future__ import annotations

from pathlib import Path

from evolve.campaign.loop import Campaign
from evolve.config.load import load_config
from evolve.lineage.queries import open_run

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


class WatchedCampaign(Campaign):
    """Records the reflection subsets still held after each round."""

    held: list[str]

    def _step(self, iteration: int) -> float | None:
        result = super()._step(iteration)
        self.held.extend(k for k in self.evaluator.subset_items if k.startswith("reflect:"))
        self.held.extend(k for k in self.subset_task.subset_names() if k.startswith("reflect:"))
        return result


def test_reflection_subsets_are_dropped_once_reflected_on(tmp_path: Path) -> None:
    config = load_config(EXAMPLES / "quickstart.toml",
                         ["task.args.size=tiny", "search.iterations=3", "data.val_size=10",
                          "parallel.batch_size=2"])
    campaign = WatchedCampaign(config, tmp_path / "run", config_dir=EXAMPLES, progress=False)
    campaign.held = []
    assert campaign.run().finished
    assert campaign.held == []
    store = open_run(tmp_path / "run")
    try:
        (reflections,) = store.query("SELECT count(*) FROM evaluations WHERE split = 'reflect'")[0]
    finally:
        store.close()
    assert reflections == 6  # 3 rounds x 2 children were reflected on, then forgotten


def test_the_store_is_reopened_every_few_iterations_and_keeps_its_data(tmp_path: Path) -> None:
    from evolve.campaign.memory import STORE_REOPEN_EVERY, after_iteration
    from evolve.lineage import LineageStore

    store = LineageStore(tmp_path / "lineage.duckdb")
    try:
        store.add_campaign("c1", name="t", task="dialog-synth")
        store.set_state("c1", "iterations_done", 7)
        first = store.conn
        after_iteration(store, STORE_REOPEN_EVERY - 1)
        assert store.conn is first
        after_iteration(store, STORE_REOPEN_EVERY)
        assert store.conn is not first
        assert store.get_state("c1", "iterations_done") == 7
        (limit,) = store.query("SELECT value FROM duckdb_settings() "
                               "WHERE name = 'memory_limit'")[0]
        assert limit.endswith("MiB") and float(limit.split()[0]) < 40  # the writer's limit
    finally:
        store.close()
