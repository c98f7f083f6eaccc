"""`evolve run / status / programs / show / diff / lineage` on a small offline campaign."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from evolve.cli import main

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart.toml"
SMALL = ["--set", "task.args.size=tiny", "--set", "search.iterations=4",
         "--set", "data.val_size=10", "--quiet"]


def cli(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("campaign") / "run"
    assert main(["run", str(QUICKSTART), "--run-dir", str(path), *SMALL]) == 0
    return path


def test_status_json(run_dir, capsys):
    code, out, _ = cli(["status", str(run_dir), "--json"], capsys)
    status = json.loads(out)
    assert code == 0 and status["finished"] and status["iterations_done"] == 4
    for key in ("best_program", "best_val", "best_seed_val", "best_test", "spend",
                "stop_reason"):
        assert key in status
    assert status["best_val"] >= status["best_seed_val"]
    assert status["spend"]["task"]["calls"] > 0
    code, out, _ = cli(["status", str(run_dir)], capsys)
    assert code == 0 and "spend per role" in out


def test_programs_show_diff_lineage(run_dir, capsys):
    code, out, _ = cli(["programs", str(run_dir), "--json"], capsys)
    programs = json.loads(out)
    assert code == 0 and len(programs) >= 4
    for row in programs:
        assert {"id", "parents", "iteration", "origin", "status", "val_score"} <= set(row)
    seeds = [p for p in programs if p["origin"] == "seed"]
    children = [p for p in programs if p["iteration"] > 0]
    assert len(seeds) == 3 and children
    child = children[0]
    code, out, _ = cli(["show", str(run_dir), child["id"][:6]], capsys)
    assert code == 0 and child["id"] in out and "commit message" in out
    code, out, _ = cli(["diff", str(run_dir), child["parents"][0][:8], child["id"][:8]], capsys)
    assert code == 0 and out.startswith("---") and "+++" in out
    code, out, _ = cli(["lineage", str(run_dir)], capsys)
    assert code == 0 and "<- best" in out and child["id"][:8] in out
    code, out, _ = cli(["programs", str(run_dir)], capsys)
    assert code == 0 and child["id"][:8] in out


def test_documented_sql_answers_questions(run_dir, tmp_path):
    docs = (ROOT / "docs" / "lineage.md").read_text()
    queries = re.findall(r"```sql\n(.*?)```", docs, re.DOTALL)
    assert len(queries) >= 3
    snapshot = tmp_path / "snap.duckdb"
    shutil.copy(run_dir / "lineage.duckdb", snapshot)
    conn = duckdb.connect(str(snapshot), read_only=True)
    ancestry = conn.execute(queries[0]).fetchall()
    assert ancestry and ancestry[0][0] == 0 and ancestry[-1][2] == "seed"
    spend = {row[0]: row for row in conn.execute(queries[1]).fetchall()}
    assert spend["task"][1] > 0
    conn.execute(queries[2]).fetchall()  # gate failures (may be none)
    conn.close()


def test_rerun_into_existing_campaign_is_refused(run_dir, capsys):
    code, _, err = cli(["run", str(QUICKSTART), "--run-dir", str(run_dir), *SMALL], capsys)
    assert code == 2 and "already holds a campaign" in err
    code, _, err = cli(["resume", str(run_dir)], capsys)
    assert code == 2 and "already finished" in err


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ("search.selector=best", "search.selector"),
        ("search.iteratons=3", "iterations"),
        ("data.val_size=-1", "data.val_size"),
        ("search.seeds=vector_search,not_a_seed.py", "not_a_seed"),
        ("task.name=nope", "task"),
    ],
)
def test_bad_config_is_one_line_exit_2(override, needle, capsys, tmp_path):
    code, _, err = cli(["run", str(QUICKSTART), "--run-dir", str(tmp_path / "r"), "--set",
                        override, "--quiet"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and needle in err


def test_bad_config_file_and_unwritable_run_dir(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[search]\niterations = 'many'\n")
    code, _, err = cli(["run", str(bad), "--quiet"], capsys)
    assert code == 2 and "search.iterations" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli(["run", str(tmp_path / "missing.toml")], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    code, _, err = cli(["run", str(QUICKSTART), "--run-dir", str(blocker / "run"), *SMALL],
                       capsys)
    assert code == 2 and "not writable" in err and len(err.strip().splitlines()) == 1


def test_inspecting_something_that_is_not_a_run(capsys, tmp_path):
    code, _, err = cli(["status", str(tmp_path)], capsys)
    assert code == 2 and "not an evolve run" in err
    (tmp_path / "lineage.duckdb").write_bytes(b"this is not a database" * 100)
    code, _, err = cli(["programs", str(tmp_path)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
