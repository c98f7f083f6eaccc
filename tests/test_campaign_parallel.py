"""Batches of children and evaluation executors: reproducible, and the same on every engine."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from evolve.campaign.config_load import load_config
from evolve.campaign.loop import Campaign
from evolve.campaign.queries import open_run

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def campaign(run_dir: Path, *overrides: str) -> tuple[set, set]:
    config = load_config(EXAMPLES / "quickstart.toml",
                         ["task.args.size=tiny", "search.iterations=2", "data.val_size=8",
                          "parallel.batch_size=3", *overrides])
    assert Campaign(config, run_dir, config_dir=EXAMPLES, progress=False).run().finished
    store = open_run(run_dir)
    try:
        programs = set(store.query(
            "SELECT id, array_to_string(parent_ids, ','), iteration, origin, gate_status "
            "FROM programs"))
        evaluations = set(store.query(
            "SELECT program_id, split, subset, status, round(score, 9), n_items "
            "FROM evaluations"))
    finally:
        store.close()
    return programs, evaluations


@pytest.fixture(scope="module")
def threads_result(tmp_path_factory) -> tuple[set, set]:
    return campaign(tmp_path_factory.mktemp("threads") / "run")


def test_batches_are_reproducible(threads_result, tmp_path):
    programs, evaluations = threads_result
    children = [p for p in programs if p[2] > 0]
    assert len(children) >= 4  # 2 rounds x 3 children (minus refused proposals)
    assert {p[2] for p in children} == {1, 2}
    assert campaign(tmp_path / "again") == threads_result


def test_processes_executor_gives_the_same_campaign(threads_result, tmp_path):
    assert campaign(tmp_path / "run", "parallel.executor=processes",
                    "parallel.workers=2") == threads_result


@pytest.mark.slow
def test_local_dask_cluster_gives_the_same_campaign(threads_result, tmp_path):
    pytest.importorskip("distributed")
    assert campaign(tmp_path / "run", "parallel.executor=dask",
                    "parallel.workers=2") == threads_result


@pytest.mark.ray
@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed")
def test_ray_gives_the_same_campaign(threads_result, tmp_path):
    assert campaign(tmp_path / "run", "parallel.executor=ray",
                    "parallel.workers=2") == threads_result


def test_worker_hubs_follow_the_models_table(tmp_path):
    """Worker processes rebuild their hub from the job's [models] table: cache and prices too."""
    from evolve.campaign.executors import _worker_hub

    base = {"task": "offline", "embedder": "hashing", "concurrency": 3}
    assert _worker_hub({**base, "cache": "off"}).cache is None
    shared = tmp_path / "shared.sqlite"
    assert _worker_hub({**base, "cache": str(shared)}).cache.path == shared
    priced = _worker_hub({**base, "cache": "off", "prices": {"my-model": [2.0, 4.0]}})
    assert priced.prices.cost("my-model", 1_000_000, 0)[0] == pytest.approx(2.0)


def test_interpreter_settings_hold_during_a_run_and_are_restored(tmp_path):
    import gc
    import sys

    from evolve.campaign.interpreter import SWITCH_INTERVAL_S

    seen: list[tuple[float, int]] = []

    class Watched(Campaign):
        def _step(self, iteration: int) -> float | None:
            seen.append((sys.getswitchinterval(), gc.get_freeze_count()))
            return super()._step(iteration)

    config = load_config(EXAMPLES / "quickstart.toml",
                         ["task.args.size=tiny", "search.iterations=1", "data.val_size=8"])
    before = sys.getswitchinterval()
    assert before > SWITCH_INTERVAL_S and gc.get_freeze_count() == 0
    assert Watched(config, tmp_path / "run", config_dir=EXAMPLES, progress=False).run().finished
    assert seen[0][0] == SWITCH_INTERVAL_S
    assert seen[0][1] > 10_000  # setup's objects are out of the collector's way
    assert sys.getswitchinterval() == before and gc.get_freeze_count() == 0
