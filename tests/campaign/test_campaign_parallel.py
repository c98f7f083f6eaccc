"""Batches of children and evaluation executors: reproducible, and the same on every engine."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from evolve.campaign.loop import Campaign
from evolve.cli import main
from evolve.config.load import load_config
from evolve.lineage.queries import open_run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def campaign(run_dir: Path, *overrides: str) -> tuple[set, set]:
    config = load_config(EXAMPLES / "quickstart.toml",
                         ["task.args.size=tiny", "search.iterations=2", "data.val_size=8",
                          "parallel.batch_size=3", *overrides])
    assert Campaign(config, run_dir, config_dir=EXAMPLES, progress=False).run().finished
    return read_campaign(run_dir)


def read_campaign(run_dir: Path) -> tuple[set, set]:
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


def cli_campaign(run_dir: Path, *overrides: str, env: dict | None = None) -> tuple[set, set]:
    """``campaign`` through the ``evolve`` command in a fresh process."""
    args = [sys.executable, "-m", "evolve.cli", "run", str(EXAMPLES / "quickstart.toml"),
            "--run-dir", str(run_dir), "--quiet"]
    for override in ("task.args.size=tiny", "search.iterations=2", "data.val_size=8",
                     "parallel.batch_size=3", *overrides):
        args += ["--set", override]
    done = subprocess.run(args, capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})})
    assert done.returncode == 0, done.stderr[-3000:]
    return read_campaign(run_dir)


def campaign_rows(tmp_path: Path) -> int:
    import duckdb

    conn = duckdb.connect(str(tmp_path / "run" / "lineage.duckdb"), read_only=True)
    try:
        return conn.execute("SELECT count(*) FROM campaigns").fetchone()[0]
    finally:
        conn.close()


def need_ray() -> None:
    """Skip without ray, unless CI demands it (EVOLVE_REQUIRE_RAY=1): then fail."""
    if importlib.util.find_spec("ray") is None:
        if os.environ.get("EVOLVE_REQUIRE_RAY") == "1":
            pytest.fail("EVOLVE_REQUIRE_RAY=1 but ray is not installed (pip install -e .[ray])")
        pytest.skip("ray is not installed")


# Ray resolves 127.0.0.1 to the machine's outward address unless told that this is a
# one-machine cluster; with this the head and every driver stay on the loopback interface.
RAY_LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


@pytest.fixture
def ray_head():
    """A local Ray head on 127.0.0.1 with 2 CPUs, owned by this test process while the test
    runs (a campaign in this process would otherwise use that connection, whatever its
    parallel.address says)."""
    need_ray()
    before = {key: os.environ.get(key) for key in RAY_LOOPBACK}
    os.environ.update(RAY_LOOPBACK)  # read when ray is imported
    import ray

    try:
        context = ray.init(address="local", include_dashboard=False, num_cpus=2,
                           log_to_driver=False)
        address = context.address_info["gcs_address"]
        assert address.startswith("127.0.0.1:"), address
        yield address
    finally:
        ray.shutdown()
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.mark.ray
@pytest.mark.slow
def test_ray_gives_the_same_campaign(threads_result, ray_head, tmp_path):
    """The campaign on a Ray head (another process connecting by address) equals threads."""
    assert cli_campaign(tmp_path / "run", "parallel.executor=ray", "parallel.workers=2",
                        f"parallel.address={ray_head}", env=RAY_LOOPBACK) == threads_result


@pytest.mark.parametrize("executor, address, named", [
    ("ray", "no-port-here", "is not a Ray address"),
    ("ray", "127.0.0.1:{port}", "no Ray head answers there"),
    ("dask", "tcp://127.0.0.1:{port}", "no Dask scheduler reachable"),
])
def test_a_bad_cluster_address_is_one_line_and_exit_2(tmp_path, capsys, executor, address,
                                                      named):
    if executor == "ray":
        need_ray()
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = address.format(port=port)
    code = main(["run", str(EXAMPLES / "quickstart.toml"), "--run-dir", str(tmp_path / "run"),
                 "--quiet", "--set", f"parallel.executor={executor}",
                 "--set", f"parallel.address={address}"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and address in err and named in err, err
    assert "parallel.address" in err and "internal error" not in err
    # nothing was started: the same run dir takes a corrected command
    assert not (tmp_path / "run" / "lineage.duckdb").exists() or campaign_rows(tmp_path) == 0


def test_worker_hubs_follow_the_models_table(tmp_path):
    """Worker processes rebuild their hub from the job's [models] table: cache and prices too."""
    from evolve.config.sections import ModelsSection
    from evolve.evaluation.jobs import _worker_hub

    base = {"task": "offline", "embedder": "hashing", "concurrency": 3}
    assert _worker_hub(ModelsSection(**base, cache="off")).cache is None
    shared = tmp_path / "shared.sqlite"
    assert _worker_hub(ModelsSection(**base, cache=str(shared))).cache.path == shared
    priced = _worker_hub(ModelsSection(**base, cache="off", prices={"my-model": [2.0, 4.0]}))
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


class StopsAtIteration2(Campaign):
    """A campaign interrupted (as by Ctrl-C) when its second round starts."""

    def _step(self, iteration: int) -> float | None:
        if iteration == 2:
            raise KeyboardInterrupt
        return super()._step(iteration)


def test_resume_may_change_where_evaluations_run_not_what_they_give(threads_result, tmp_path,
                                                                    capsys):
    run_dir = tmp_path / "run"
    config = load_config(EXAMPLES / "quickstart.toml",
                         ["task.args.size=tiny", "search.iterations=2", "data.val_size=8",
                          "parallel.batch_size=3"])
    assert not StopsAtIteration2(config, run_dir, config_dir=EXAMPLES, progress=False).run().finished

    # settings that change results are refused, naming the ones that may change
    for refused in ("search.iterations=5", "parallel.batch_size=1", "sandbox.call_timeout_s=5"):
        assert main(["resume", str(run_dir), "--quiet", "--set", refused]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and refused in err, err
        assert "parallel.executor, parallel.address, parallel.workers" in err, err

    assert main(["resume", str(run_dir), "--quiet", "--set", "parallel.executor=processes",
                 "--set", "parallel.workers=2", "--set", "models.concurrency=3"]) == 0
    assert read_campaign(run_dir) == threads_result  # the same campaign as uninterrupted
    store = open_run(run_dir)
    try:
        events = store.query_dicts("SELECT message, data FROM events "
                                   "WHERE kind = 'settings_changed'")
        recorded = json.loads(store.campaign()["config"])
    finally:
        store.close()
    assert len(events) == 1 and json.loads(events[0]["data"]) == {
        "parallel.executor": ["threads", "processes"], "parallel.workers": [0, 2],
        "models.concurrency": [8, 3]}
    assert "parallel.executor 'threads' -> 'processes'" in events[0]["message"]
    # a later resume keeps the new settings
    assert recorded["parallel"]["executor"] == "processes"
    assert recorded["models"]["concurrency"] == 3


def test_a_childs_evaluation_starts_while_later_proposals_are_out(tmp_path, monkeypatch):
    """Pipelined rounds: the last slot's proposal waits (up to 10 s) for the first child's
    evaluation to start. Before, every child waited for the slowest proposal of its round,
    so that wait always ran out."""
    import threading

    from evolve.evaluation import executors

    started = threading.Event()
    waits: list[bool] = []
    real_run_job = executors.run_job

    def watched_run_job(job, *args):
        if job.subset == "static":
            started.set()
        return real_run_job(job, *args)

    monkeypatch.setattr(executors, "run_job", watched_run_job)

    class SlowLastProposal:
        def __init__(self, meta, last_contexts):
            self._meta, self._last = meta, last_contexts

        def __getattr__(self, name):
            return getattr(self._meta, name)

        def propose(self, context):
            if any(context is c for c in self._last):
                waits.append(started.wait(10.0))
            return self._meta.propose(context)

    class Pipelined(Campaign):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.last_contexts: list = []
            self.meta = SlowLastProposal(self.meta, self.last_contexts)

        def _context(self, iteration, rng, parent, other, reflection):
            context = super()._context(iteration, rng, parent, other, reflection)
            self.slots_built = getattr(self, "slots_built", 0) + 1
            if self.slots_built % 2 == 0:  # the round's second (last) slot
                self.last_contexts.append(context)
            return context

        def _step(self, iteration):
            started.clear()
            return super()._step(iteration)

    config = load_config(EXAMPLES / "quickstart.toml",
                         ["task.args.size=tiny", "search.iterations=2", "data.val_size=8",
                          "parallel.batch_size=2"])
    assert Pipelined(config, tmp_path / "run", config_dir=EXAMPLES, progress=False).run().finished
    assert waits == [True, True]
