"""Small CLI promises: literal program-id prefixes, ``--traces`` checked before any work, NUL
bytes located, ``evolve snapshot`` of a live run, ``plot --out`` never creating directories."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from suite_support.runs import make_synthetic_run

from evolve.cli import main
from evolve.errors import UsageError
from evolve.lineage.queries import open_run, resolve_program_id
from evolve.program.static_gate import static_gate

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart.toml"
EVAL_TINY = ["vector_search", "--task", "dialog-synth", "--task-arg", "size=tiny", "--limit", "2"]


def one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = main(argv)
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("evolve: error: "), (code, err)
    return err[0]


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    run = tmp_path_factory.mktemp("small") / "run"
    return run, make_synthetic_run(run, 8)


# -- program-id prefixes -----------------------------------------------------------------------
def test_percent_and_underscore_are_literal_in_program_prefixes(
        synthetic_run: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]) -> None:
    run, marks = synthetic_run
    best = marks["best"]
    store = open_run(run)
    try:
        assert resolve_program_id(store, best[:10]) == best
        for prefix in ("%", "_", best[:2] + "_" + best[3:10], best[:4] + "%"):
            with pytest.raises(UsageError, match="no program id starts with"):
                resolve_program_id(store, prefix)
    finally:
        store.close()
    line = one_line(["show", str(run), "%"], capsys)
    assert line == "evolve: error: no program id starts with '%'"


# -- --traces ----------------------------------------------------------------------------------
def test_unwritable_traces_path_is_refused_before_any_work(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import evolve.evaluation.evaluate

    def no_work(*_args, **_kwargs):  # noqa: ANN002, ANN003
        raise AssertionError("the evaluation ran before --traces was checked")

    monkeypatch.setattr(evolve.evaluation.evaluate, "evaluate_program", no_work)
    line = one_line(["eval", *EVAL_TINY, "--traces", str(tmp_path)], capsys)
    assert line == f"evolve: error: --traces {tmp_path}: cannot write it (Is a directory)"
    missing = tmp_path / "no" / "such" / "t.jsonl"
    line = one_line(["eval", *EVAL_TINY, "--traces", str(missing)], capsys)
    assert "No such file or directory" in line and not (tmp_path / "no").exists()


def test_writable_traces_path_still_gets_the_traces(tmp_path: Path) -> None:
    traces = tmp_path / "t.jsonl"
    assert main(["eval", *EVAL_TINY, "--traces", str(traces)]) == 0
    assert len(traces.read_text().splitlines()) == 2


# -- NUL bytes ---------------------------------------------------------------------------------
def test_nul_byte_is_located_not_line_none(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    failure = static_gate("x = 1\ny = 2\0\n")
    assert failure is not None and failure.stage == "parse"
    assert failure.message == "line 2: the source contains a NUL byte (\\0); remove it"
    program = tmp_path / "nul.py"
    program.write_bytes(b"KB = 1\n\nx = '\0'\n")
    line = one_line(["eval", str(program), "--task", "dialog-synth", "--task-arg", "size=tiny",
                     "--limit", "1"], capsys)
    assert line.endswith("syntax error, line 3: the source contains a NUL byte (\\0); remove it")
    plugin = tmp_path / "plugin_nul.py"
    plugin.write_bytes(b"def make_task(args):\n    return '\0'\n")
    line = one_line(["eval", "full_context", "--task", f"plugin:{plugin}"], capsys)
    assert "None" not in line and "line 2: the source contains a NUL byte" in line


# -- evolve snapshot ---------------------------------------------------------------------------
def _tables(path: Path) -> dict[str, int]:
    conn = duckdb.connect(str(path), read_only=True)
    try:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("programs", "evaluations", "item_results")}
    finally:
        conn.close()


def test_snapshot_of_a_live_run_is_complete_every_time(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    campaign = subprocess.Popen(
        [sys.executable, "-m", "evolve.cli", "run", str(QUICKSTART), "--run-dir", str(run),
         "--quiet", "--set", "task.args.size=tiny", "--set", "search.iterations=4",
         "--set", "data.val_size=10"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    live: list[dict[str, int]] = []
    try:
        deadline = time.monotonic() + 240
        while campaign.poll() is None and time.monotonic() < deadline:
            if (run / "lineage.duckdb").is_file():
                out = tmp_path / f"snap{len(live)}.duckdb"
                code = main(["snapshot", str(run), str(out)])
                err = capsys.readouterr().err
                if not live and "holds no evolve tables" in err:
                    continue  # the campaign has created the file but not its schema yet
                assert code == 0, err
                assert not out.with_name(out.name + ".wal").exists()  # one file, no WAL
                live.append(_tables(out))  # every later copy has every table
                out.unlink()
            time.sleep(0.2)
    finally:
        if campaign.poll() is None:
            campaign.kill()
        _, err = campaign.communicate(timeout=60)
    assert campaign.returncode == 0, err
    during = [counts for counts in live if counts["programs"]]
    assert len(during) >= 2, live  # rows seen while the campaign was writing them
    for earlier, later in zip(live, live[1:], strict=False):
        assert all(later[t] >= earlier[t] for t in earlier), live
    final = tmp_path / "final.duckdb"
    assert main(["snapshot", str(run), str(final)]) == 0
    printed = capsys.readouterr().out
    assert f"snapshot   {final}  (" in printed
    conn = duckdb.connect(str(run / "lineage.duckdb"), read_only=True)
    try:
        expected = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                    for t in ("programs", "evaluations", "item_results")}
    finally:
        conn.close()
    assert _tables(final) == expected
    assert not list(tmp_path.glob(".evolve-snapshot-*"))  # the work dir next to OUT is gone


def test_snapshot_refuses_bad_targets(synthetic_run: tuple[Path, dict[str, str]],
                                      tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    run, _ = synthetic_run
    taken = tmp_path / "taken.duckdb"
    taken.write_text("mine")
    assert one_line(["snapshot", str(run), str(taken)], capsys).endswith(
        "already exists; choose a new file name")
    assert taken.read_text() == "mine"
    stale = tmp_path / "s.duckdb"
    stale.with_name("s.duckdb.wal").write_text("old")
    assert "s.duckdb.wal already exists" in one_line(["snapshot", str(run), str(stale)], capsys)
    assert "does not exist" in one_line(
        ["snapshot", str(run), str(tmp_path / "nope" / "s.duckdb")], capsys)
    assert "not an evolve run directory" in one_line(
        ["snapshot", str(tmp_path), str(tmp_path / "x.duckdb")], capsys)


# -- plot --out --------------------------------------------------------------------------------
def test_plot_into_a_missing_directory_is_refused_and_creates_nothing(
        synthetic_run: tuple[Path, dict[str, str]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    run, _ = synthetic_run
    target = tmp_path / "nonexistent" / "p.png"
    line = one_line(["plot", str(run), "scores", "--out", str(target)], capsys)
    assert line == (f"evolve: error: {target}: directory {target.parent} does not exist "
                    "(create it first)")
    one_line(["lineage", str(run), "--png", str(target)], capsys)
    assert not target.parent.exists()
    assert main(["plot", str(run), "scores", "--out", str(tmp_path / "p.svg")]) == 0
    assert (tmp_path / "p.svg").stat().st_size > 1000
