"""Proposals equal to a program already in the pool: recorded (event, link from the parent, a
row of their round), counted by `evolve status`, and shown to the meta-agents as tried."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from evolve.campaign.loop import Campaign
from evolve.campaign.pool import lineage_log, snapshot
from evolve.cli import main
from evolve.config.load import load_config, resolve_seeds
from evolve.lineage.queries import open_run
from evolve.meta.base import LineageEntry, ProgramSnapshot, Proposal, ReflectionContext
from evolve.meta.context_render import render_lineage
from evolve.meta.offline.mutator import OfflineMutator, tried_moves
from evolve.seeds import seed_source

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
QUICKSTART = EXAMPLES / "quickstart.toml"


def sha(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def cli_json(capsys, *args: str):
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


class DuplicateInLastRound(Campaign):
    """Round 20 proposes a copy of a seed other than the parent. (This used to happen
    naturally in the quickstart with argmax and campaign seed 2; since the offline reader
    became general no small campaign was found that does, so the duplicate is forced.)"""

    def _build_parts(self, progress: bool) -> None:
        super()._build_parts(progress)
        seeds = [source for _, source in resolve_seeds(self.config, EXAMPLES)]
        self.meta = ProposesASeedInRound(self.meta, seeds, 20)


@pytest.mark.slow
def test_argmax_seed_2_has_a_row_for_every_iteration_and_counts_its_duplicate(tmp_path, capsys):
    """A 20-round argmax campaign whose round 20 proposes a program that already exists (a
    duplicate used to leave no row at all)."""
    run_dir = tmp_path / "run"
    config = load_config(QUICKSTART, ["task.args.size=tiny", "data.val_size=8",
                                      "search.selector=argmax", "campaign.seed=2"])
    assert DuplicateInLastRound(config, run_dir, config_dir=EXAMPLES, progress=False).run(
    ).finished
    rows = cli_json(capsys, "programs", str(run_dir))
    assert {row["iteration"] for row in rows} >= set(range(1, 21))  # every round has a row
    duplicates = [row for row in rows if row["origin"] == "duplicate"]
    assert duplicates, "this campaign proposes an existing program"
    stored = {row["id"]: row for row in rows if row["origin"] != "duplicate"}
    for row in duplicates:
        original = stored[row["duplicate_of"]]  # it equals a stored program ...
        assert original["iteration"] < row["iteration"]  # ... made earlier
        assert original["parents"] != row["parents"]  # from another parent
        assert row["status"] == "duplicate" and row["val_score"] == original["val_score"]

    status = cli_json(capsys, "status", str(run_dir))
    assert status["duplicates"] == len(duplicates)
    assert main(["status", str(run_dir)]) == 0
    assert f"{len(duplicates)} duplicate proposals" in capsys.readouterr().out

    # the parent's lineage now lists the duplicate as a tried child, with its move's tag
    store = open_run(run_dir)
    try:
        last = duplicates[-1]
        parent = last["parents"][0]
        lineage = lineage_log(store, parent, last["iteration"] + 1)
        context = ReflectionContext(parent=snapshot(store, parent), lineage=lineage)
    finally:
        store.close()
    entry = [e for e in lineage if e.duplicate]
    assert [e.program_id for e in entry] == [last["duplicate_of"]]
    assert entry[0].relation == "child" and entry[0].commit_message.startswith(
        last["commit_message"])
    assert tried_moves(context)  # the offline mutator sees the move as tried


class ProposesASeedInRound:
    """The offline mutator, except that in round ``iteration`` it proposes a copy of a seed
    other than the parent (a program already in the pool)."""

    name = "offline"

    def __init__(self, inner, seeds: list[str], iteration: int) -> None:
        self.inner, self.seeds, self.iteration = inner, seeds, iteration

    def propose(self, context: ReflectionContext) -> Proposal:
        if context.iteration != self.iteration:
            return self.inner.propose(context)
        source = next(s for s in self.seeds if sha(s) != context.parent.program_id)
        return Proposal(source, "Copy another seed. [offline:copy_seed]", "offline:copy_seed")

    def fix(self, *args, **kwargs) -> Proposal:
        return self.inner.fix(*args, **kwargs)

    def repair(self, *args, **kwargs) -> Proposal:
        return self.inner.repair(*args, **kwargs)


class ForcedDuplicate(Campaign):
    """Round 2 proposes an existing program; the first run is cut off right after round 2
    (before it is counted as done), so the resume replays it."""

    stop_after: int | None = 2

    def _build_parts(self, progress: bool) -> None:
        super()._build_parts(progress)
        seeds = [source for _, source in resolve_seeds(self.config, EXAMPLES)]
        self.meta = ProposesASeedInRound(self.meta, seeds, 2)

    def _step(self, iteration: int) -> float | None:
        score = super()._step(iteration)
        if iteration == self.stop_after:
            raise KeyboardInterrupt
        return score


def test_a_duplicate_is_recorded_once_even_when_its_round_is_replayed(tmp_path, capsys):
    config = load_config(QUICKSTART, ["task.args.size=tiny", "search.iterations=3",
                                      "data.val_size=8", "search.selector=argmax"])
    run_dir = tmp_path / "run"
    assert not ForcedDuplicate(config, run_dir, config_dir=EXAMPLES, progress=False).run().finished
    ForcedDuplicate.stop_after = None
    assert ForcedDuplicate(config, run_dir, resume=True, progress=False).run().finished

    store = open_run(run_dir)
    try:
        events = store.query_dicts("SELECT iteration, program_id, data FROM events "
                                   "WHERE kind = 'duplicate'")
        programs = store.query_dicts("SELECT id, iteration, parent_ids FROM programs")
        assert len(events) == 1  # round 2 ran twice, its duplicate is recorded once
        event = events[0]
        data = json.loads(event["data"])
        by_id = {p["id"]: p for p in programs}
        assert event["iteration"] == 2 and by_id[event["program_id"]]["iteration"] == 0
        assert data["duplicate_of"] == event["program_id"] and data["child"] == 0
        parent = data["parent_ids"][0]
        assert parent in by_id and parent != event["program_id"]
        assert "[offline:copy_seed]" in data["commit_message"]
        assert not [p for p in programs if p["iteration"] == 2]  # no program row for it
        lineage = lineage_log(store, parent, 3)
    finally:
        store.close()
    duplicate = [e for e in lineage if e.duplicate]
    assert [(e.program_id, e.relation) for e in duplicate] == [(event["program_id"], "child")]
    rows = cli_json(capsys, "programs", str(run_dir))
    assert [row["iteration"] for row in rows if row["origin"] == "duplicate"] == [2]
    assert cli_json(capsys, "status", str(run_dir))["duplicates"] == 1


@pytest.mark.parametrize("flag", ["duplicate", "pending"])
def test_the_offline_mutator_does_not_repeat_a_duplicate_or_a_pending_child(flag):
    source = seed_source("vector_search")
    parent = ProgramSnapshot(sha(source), source, 0.5, {})
    mutator = OfflineMutator()
    first = mutator.propose(ReflectionContext(parent=parent, seed=3))
    assert first.source is not None
    score = None if flag == "pending" else 0.5
    tried = LineageEntry(sha(first.source), "child", score, score and 0.0, first.commit_message,
                         **{flag: True})
    second = mutator.propose(ReflectionContext(parent=parent, seed=3, lineage=(tried,)))
    assert second.source is not None and second.source != first.source


def test_the_llm_meta_agent_reads_that_its_proposal_duplicated_program_x():
    entries = (LineageEntry("p" * 64, "parent", 0.5, None, "the parent"),
               LineageEntry("ab12cd34ef56" + "0" * 52, "child", 0.4, -0.1, "tweak top_k",
                            regression=True, duplicate=True))
    text = render_lineage(entries)
    assert "DUPLICATE: this proposal was identical to program ab12cd34ef56" in text
    assert text.count("DUPLICATE") == 1


def test_a_pending_child_is_shown_as_being_evaluated_and_not_as_a_regression():
    pending = LineageEntry("ab12cd34ef56" + "0" * 52, "child", None, None,
                           "raise top_k [offline:raise_k]", pending=True)
    text = render_lineage((pending,))
    assert "score pending" in text and "score n/a" not in text and "REGRESSION" not in text
    # in flight is not failed: its move is tried, not held against it as a regression
    parent = ProgramSnapshot("p" * 64, "", 0.5, {})
    assert tried_moves(ReflectionContext(parent=parent, lineage=(pending,))) == {"raise_k": False}
