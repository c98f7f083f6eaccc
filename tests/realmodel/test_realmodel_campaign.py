"""A short campaign of examples/llamacpp.toml with SmolLM2-135M as task agent AND reflector.

A 135M model writes few usable programs. What must hold: the campaign finishes with no
traceback; every iteration left a child or a ``proposal_failed`` event with its reason (a
proposal the loop could not use is never lost silently); every gate failure has its stage and
message; ``evolve status`` and ``evolve report`` work on the run.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from cli_runs import EXAMPLE, assert_no_traceback, evolve_cli

from evolve.lineage.snapshot import copy_database

pytestmark = pytest.mark.realmodel

ITERATIONS = 2
# A bound that catches a hang: the campaign took over 720 s at load 11, beside a second one.
CAMPAIGN_BUDGET_S = 1500


def run_small_campaign(run_dir: Path, llamacpp_url: str, *settings: str):
    """The example as shipped, made smaller to keep the suite within minutes: one
    conversation, fewer validation/test items, and a 1024-token reflector cap (a patch fits;
    the 135M model rarely stops before the cap, and each generated token costs ~40 ms here);
    ``settings`` are more ``--set`` values."""
    extra = [arg for setting in settings for arg in ("--set", setting)]
    return evolve_cli(["run", str(EXAMPLE), "--run-dir", str(run_dir), "--quiet",
                       "--set", f"search.iterations={ITERATIONS}",
                       "--set", f"models.base_url={llamacpp_url}",
                       "--set", "task.args.conversations=1", "--set", "data.val_size=4",
                       "--set", "data.test_size=2", "--set", "models.max_tokens.reflector=1024",
                       *extra], timeout_s=CAMPAIGN_BUDGET_S + 300)


def assert_finished_in_budget(run) -> None:
    assert_no_traceback(run)
    assert run.code == 0, run.stderr[-4000:]
    assert run.seconds < CAMPAIGN_BUDGET_S, f"campaign took {run.seconds:.0f} s"


@pytest.fixture(scope="module")
def campaign_run(llamacpp_url, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("llamacpp_campaign") / "run"
    return run_small_campaign(run_dir, llamacpp_url), run_dir


def _rows(run_dir: Path, tmp_path: Path, sql: str) -> list[dict]:
    # Read a copy (file and WAL): it never contends with a writer.
    snapshot = tmp_path / "snapshot.duckdb"
    copy_database(run_dir / "lineage.duckdb", snapshot)
    conn = duckdb.connect(str(snapshot))
    try:
        cursor = conn.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        conn.close()


def test_campaign_finishes_without_traceback(campaign_run):
    assert_finished_in_budget(campaign_run[0])


def test_every_unusable_proposal_is_an_event_with_a_reason(campaign_run, tmp_path):
    _, run_dir = campaign_run
    children = _rows(run_dir, tmp_path, "SELECT id, iteration, gate_status, gate_stage, "
                     "gate_message FROM programs WHERE origin <> 'seed'")
    events = _rows(run_dir, tmp_path, "SELECT iteration, kind, program_id, message FROM events")
    failed_proposals = [e for e in events if e["kind"] == "proposal_failed"]
    for event in failed_proposals:
        assert (event["message"] or "").strip(), event
    # Each iteration either produced a child program or says why it did not.
    for iteration in range(1, ITERATIONS + 1):
        has_child = any(c["iteration"] == iteration for c in children)
        has_reason = any(e["iteration"] == iteration for e in failed_proposals)
        assert has_child or has_reason, (iteration, children, events)
    # A child rejected by the gates carries its stage and message, and an event says so.
    gate_events = {e["program_id"] for e in events if e["kind"] == "gate_failed"}
    for child in children:
        if child["gate_status"] == "failed":
            assert child["gate_stage"] and (child["gate_message"] or "").strip(), child
            assert child["id"] in gate_events, child


def test_status_and_report_work_on_the_run(campaign_run, tmp_path):
    _, run_dir = campaign_run
    status = evolve_cli(["status", str(run_dir), "--json"], timeout_s=120)
    assert_no_traceback(status)
    data = json.loads(status.stdout)
    assert status.code == 0 and data["finished"], data
    assert data["spend"]["task"]["calls"] > 0
    assert data["spend"]["reflector"]["calls"] > 0  # the real model was asked for children
    out = tmp_path / "report"
    report = evolve_cli(["report", str(run_dir), "--out", str(out)], timeout_s=300)
    assert_no_traceback(report)
    assert report.code == 0, report.stderr[-3000:]
    html = list(out.glob("*.html"))
    assert html and all(path.stat().st_size > 0 for path in html)
