"""parallel.schedule = "steady": children start as slots free, results still depend on the
seed only (not on which evaluation finished first), the pool lags one round, resume replays."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest

from evolve.campaign.loop import Campaign
from evolve.cli import main
from evolve.config.load import load_config, resolve_seeds
from evolve.lineage.queries import open_run
from evolve.meta.base import Proposal, ReflectionContext

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
STEADY = ["task.args.size=tiny", "search.iterations=4", "data.val_size=8",
          "parallel.batch_size=3", "parallel.schedule=steady"]


def read_campaign(run_dir: Path) -> tuple[set, set]:
    """Programs (id, parents, round, origin, gate) and evaluations (program, split, status,
    score) of a run: what must not depend on timing."""
    store = open_run(run_dir)
    try:
        return (set(store.query("SELECT id, array_to_string(parent_ids, ','), iteration, "
                                "origin, gate_status FROM programs")),
                set(store.query("SELECT program_id, split, subset, status, round(score, 9) "
                                "FROM evaluations")))
    finally:
        store.close()


class Awkward:
    """The offline mutator, except: in round 2 slot-seeded contexts sometimes propose a
    program that fails the static gate (its fix is the inner proposal), round 3 copies a seed
    other than the parent (a duplicate), and every proposal takes a seed-dependent while, so
    proposals and evaluations finish in a different order from the children's."""

    name = "offline"

    def __init__(self, inner, seeds: list[str]) -> None:
        self.inner, self.seeds = inner, seeds

    def propose(self, context: ReflectionContext) -> Proposal:
        time.sleep((context.seed % 7) / 100)
        if context.iteration == 2 and context.seed % 2 == 0:
            return Proposal("def broken(:\n", "A broken program. [test:broken]", "test:broken")
        if context.iteration == 3 and context.seed % 3 == 0:
            source = next(s for s in self.seeds
                          if hashlib.sha256(s.encode()).hexdigest() != context.parent.program_id)
            return Proposal(source, "Copy another seed. [test:copy]", "test:copy")
        return self.inner.propose(context)

    def fix(self, context, source, stage, message, attempt) -> Proposal:
        return self.inner.propose(context)

    def repair(self, *args, **kwargs) -> Proposal:
        return self.inner.repair(*args, **kwargs)


class AwkwardCampaign(Campaign):
    stop_after: int | None = None

    def _build_parts(self, progress) -> None:
        super()._build_parts(progress)
        seeds = [source for _, source in resolve_seeds(self.config, EXAMPLES)]
        self.meta = Awkward(self.meta, seeds)

    def _round_done(self, done, last):
        status = super()._round_done(done, last)
        if done == self.stop_after:
            raise KeyboardInterrupt  # with later children in flight
        return status


def run(run_dir: Path, *overrides: str, stop_after: int | None = None) -> tuple[set, set]:
    config = load_config(EXAMPLES / "quickstart.toml", [*STEADY, *overrides])
    campaign = AwkwardCampaign(config, run_dir, config_dir=EXAMPLES, progress=False)
    campaign.stop_after = stop_after
    outcome = campaign.run()
    assert outcome.finished == (stop_after is None)
    return read_campaign(run_dir)


@pytest.fixture(scope="module")
def steady_result(tmp_path_factory) -> tuple[set, set]:
    return run(tmp_path_factory.mktemp("steady") / "run")


def events(run_dir: Path, kind: str) -> list[dict]:
    store = open_run(run_dir)
    try:
        return store.query_dicts("SELECT iteration, data FROM events WHERE kind = ?", [kind])
    finally:
        store.close()


def test_steady_campaign_runs_every_round_with_fixes_and_duplicates(steady_result, tmp_path):
    programs, _ = steady_result
    children = [p for p in programs if p[2] > 0]
    assert {p[2] for p in children} == {1, 2, 3, 4}
    # the awkward rounds happened: a gate failure fixed, a duplicate recorded
    assert any(p[4] == "failed" for p in children)
    assert any(p[3] == "repair" for p in children)


def test_steady_children_draw_from_the_pool_one_round_back(steady_result):
    programs, _ = steady_result
    round_of = {p[0]: p[2] for p in programs}
    for pid, parents, iteration, origin, _ in programs:
        if iteration == 0 or origin == "repair":
            continue
        for parent in parents.split(","):
            # round r reads the pool of the rounds before r - 1 (seeds for rounds 1 and 2)
            assert round_of[parent] <= max(0, iteration - 2), (pid, iteration, round_of[parent])


def test_steady_results_do_not_depend_on_timing(steady_result, tmp_path):
    # again, and with one evaluation at a time (a very different order of completion)
    assert run(tmp_path / "again") == steady_result
    assert run(tmp_path / "one", "parallel.workers=1") == steady_result


def test_a_steady_campaign_cut_off_with_children_in_flight_resumes_to_the_same(
        steady_result, tmp_path):
    run_dir = tmp_path / "run"
    run(run_dir, stop_after=1)
    config = load_config(EXAMPLES / "quickstart.toml", STEADY)
    assert AwkwardCampaign(config, run_dir, resume=True, progress=False).run().finished
    assert read_campaign(run_dir) == steady_result
    assert len(events(run_dir, "duplicate")) == len({
        (e["iteration"], e["data"]) for e in events(run_dir, "duplicate")})


def test_steady_differs_from_rounds_only_by_its_lag(tmp_path):
    """Batch size 1 has no lag to take: steady is rounds there."""
    config = ["task.args.size=tiny", "search.iterations=3", "data.val_size=8"]
    rounds = load_config(EXAMPLES / "quickstart.toml", config)
    steady = load_config(EXAMPLES / "quickstart.toml", [*config, "parallel.schedule=steady"])
    assert Campaign(rounds, tmp_path / "a", config_dir=EXAMPLES, progress=False).run().finished
    assert Campaign(steady, tmp_path / "b", config_dir=EXAMPLES, progress=False).run().finished
    assert read_campaign(tmp_path / "a") == read_campaign(tmp_path / "b")


def test_steady_needs_an_executor_that_submits(tmp_path, capsys):
    code = main(["run", str(EXAMPLES / "quickstart.toml"), "--run-dir", str(tmp_path / "r"),
                 "--quiet", "--set", "parallel.batch_size=2", "--set",
                 "parallel.schedule=steady", "--set", "parallel.executor=processes"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "submit" in err, err
    assert not (tmp_path / "r" / "lineage.duckdb").exists() or main(
        ["status", str(tmp_path / "r")]) != 0
    code = main(["run", str(EXAMPLES / "quickstart.toml"), "--run-dir", str(tmp_path / "s"),
                 "--quiet", "--set", "parallel.schedule=sometimes"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "parallel.schedule" in err, err


class Recorder:
    """A meta-agent whose proposal is a function of the parent and the ids its lineage lists
    (as a model answering at temperature 0 is of its prompt); records every context."""

    name = "offline"

    def __init__(self) -> None:
        self.contexts: list[ReflectionContext] = []

    def propose(self, context: ReflectionContext) -> Proposal:
        self.contexts.append(context)
        shown = "|".join([context.parent.program_id, *(e.program_id for e in context.lineage)])
        digest = hashlib.sha256(shown.encode()).hexdigest()[:12]
        return Proposal(f'{context.parent.source.rstrip()}\nVARIANT = "{digest}"\n',
                        f"variant {digest}", "test:variant")


class RecordingCampaign(Campaign):
    def _build_parts(self, progress) -> None:
        super()._build_parts(progress)
        self.meta = Recorder()


def test_steady_children_are_told_what_the_round_before_proposed(tmp_path):
    """Round r's parent pool lags a round, so a parent drawn in rounds r - 1 and r would be
    shown the same history twice and a deterministic model would repeat itself (a duplicate):
    its lineage lists the first proposals of round r - 1 from that parent as pending."""
    config = load_config(EXAMPLES / "quickstart.toml", STEADY)
    campaign = RecordingCampaign(config, tmp_path / "run", config_dir=EXAMPLES, progress=False)
    assert campaign.run().finished
    store = open_run(tmp_path / "run")
    try:
        proposed = store.query("SELECT id, parent_ids[1], iteration FROM programs "
                               "WHERE iteration > 0 AND origin IS DISTINCT FROM 'repair'")
        round_of = dict(store.query("SELECT id, iteration FROM programs"))
    finally:
        store.close()
    rounds_shared = 0
    for context in campaign.meta.contexts:
        r, parent = context.iteration, context.parent.program_id
        expected = sorted(pid for pid, p, i in proposed if p == parent and i == r - 1)
        pending = [e.program_id for e in context.lineage if e.pending]
        assert pending == expected, (r, parent[:8])
        assert all(e.score is None for e in context.lineage if e.pending)
        rounds_shared += bool(expected)
    assert rounds_shared  # some parent was drawn in two rounds running
    # two slots of one round drawing one parent are shown the same history (so with rounds
    # too); a proposal repeating an earlier round's is what the pending entries prevent
    repeats = [e for e in events(tmp_path / "run", "duplicate")
               if round_of[json.loads(e["data"])["duplicate_of"]] != e["iteration"]]
    assert repeats == []
