"""The steady schedule against the real llama.cpp server (SmolLM2-135M as task agent AND
reflector): two children always in flight over a server that answers one request at a time,
with proposals that often fail their gate and get fixed while the other child evaluates.

What must hold: the campaign finishes with no traceback within the budget; every round left a
child or a ``proposal_failed`` event; every child's parent comes from the pool one round back
(rounds 1 and 2 both draw from the seeds); ``evolve status`` reads the run as finished.
"""

from __future__ import annotations

import json

import pytest
from cli_runs import assert_no_traceback, evolve_cli
from test_realmodel_campaign import ITERATIONS, _rows, assert_finished_in_budget, run_small_campaign

pytestmark = pytest.mark.realmodel


@pytest.fixture(scope="module")
def steady_run(llamacpp_url, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("llamacpp_steady") / "run"
    return run_small_campaign(run_dir, llamacpp_url, "parallel.batch_size=2",
                              "parallel.schedule=steady"), run_dir


def test_steady_campaign_finishes_without_traceback(steady_run):
    assert_finished_in_budget(steady_run[0])


def test_steady_rounds_leave_children_or_reasons_from_the_lagged_pool(steady_run, tmp_path):
    _, run_dir = steady_run
    programs = _rows(run_dir, tmp_path, "SELECT id, parent_ids, iteration, origin FROM programs")
    events = _rows(run_dir, tmp_path, "SELECT iteration, kind, message FROM events")
    round_of = {p["id"]: p["iteration"] for p in programs}
    children = [p for p in programs if p["origin"] != "seed"]
    for iteration in range(1, ITERATIONS + 1):
        assert any(c["iteration"] == iteration for c in children) or any(
            e["iteration"] == iteration and e["kind"] == "proposal_failed"
            and (e["message"] or "").strip() for e in events), (iteration, children, events)
    for child in children:
        if child["origin"] == "repair":
            continue
        for parent in child["parent_ids"]:
            assert round_of[parent] <= max(0, child["iteration"] - 2), child
    status = evolve_cli(["status", str(run_dir), "--json"], timeout_s=120)
    assert_no_traceback(status)
    assert status.code == 0 and json.loads(status.stdout)["finished"]
