"""Children answering exactly as their parent: recorded as no-ops, counted apart, and not
counted as rounds without a new best by the stagnation stopper."""

from __future__ import annotations

from pathlib import Path

import pytest

from evolve.campaign.loop import Campaign
from evolve.campaign.standing import iterations_since_best
from evolve.config.load import load_config
from evolve.lineage import LineageStore
from evolve.lineage.noops import KIND, no_op_ids
from evolve.lineage.records import read_evaluations, read_items, read_programs

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _answers(store: LineageStore, program_id: str) -> list[tuple[str, str | None, float]]:
    [evaluation] = [e for e in read_evaluations(store, program_id=program_id, split="static")
                    if e.status not in ("gate_failed", "error")]
    return sorted((i.item_id, i.answer, float(i.score or 0.0))
                  for i in read_items(store, evaluation.id))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("noops") / "run"
    config = load_config(EXAMPLES / "quickstart.toml", ["task.args.size=tiny",
                                                        "data.val_size=12"])
    assert Campaign(config, run_dir, config_dir=EXAMPLES, progress=False).run().finished
    return run_dir


def test_no_op_events_name_exactly_the_children_that_changed_no_answer(run: Path) -> None:
    store = LineageStore(run / "lineage.duckdb", read_only=True)
    recorded = no_op_ids(store)
    checked = 0
    for program in read_programs(store, gate_status="passed"):
        if program.origin == "seed" or not program.parent_ids:
            continue
        same = _answers(store, program.id) == _answers(store, program.parent_ids[0])
        assert (program.id in recorded) == same, program.id
        checked += 1
    assert checked >= 10
    assert recorded, "an offline campaign of 20 children has some that change nothing"
    assert len(recorded) < checked
    events = store.query("SELECT program_id, data FROM events WHERE kind = ?", [KIND])
    assert len(events) == len(recorded)  # once per child


def test_stagnation_leaves_out_rounds_of_no_ops(run: Path, tmp_path: Path) -> None:
    import shutil

    from evolve.campaign.pool import pool_entries

    copy = tmp_path / "lineage.duckdb"
    shutil.copy(run / "lineage.duckdb", copy)
    store = LineageStore(copy)
    campaign_id = store.query("SELECT id FROM campaigns")[0][0]
    pool = pool_entries(store, campaign_id, 21)
    best = max(pool, key=lambda p: p.score)  # the oldest of the best
    later: dict[int, list[str]] = {}
    for entry in pool:
        if entry.iteration > best.iteration:
            later.setdefault(entry.iteration, []).append(entry.program_id)
    recorded = no_op_ids(store)
    idle = [it for it, members in later.items() if all(pid in recorded for pid in members)]
    assert iterations_since_best(store, campaign_id, 20) == 20 - best.iteration - len(idle)
    busy = [it for it in later if it not in idle]
    assert busy, "some round after the best changed an answer"
    for iteration in busy:  # now every round after the best tried nothing
        for pid in later[iteration]:
            if pid not in recorded:
                store.add_event(campaign_id, KIND, "test", iteration=iteration, program_id=pid)
    assert iterations_since_best(store, campaign_id, 20) == 20 - best.iteration - len(later)
