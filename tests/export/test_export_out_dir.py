"""``evolve export --out``: never deletes the run, the current directory or foreign files.

``--force`` used to ``rmtree`` whatever ``--out`` named (``--out RUN --force`` deleted the
campaign being exported). A directory is now replaced only when a previous export wrote it
(marker file ``.evolve-export``); everything else is refused with one line and exit 2.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from suite_support.runs import make_synthetic_run

from evolve.cli import main
from evolve.export.out_dir import MARKER


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # a remote embedder: the export skips recording reads, so each export takes milliseconds
    run_dir = tmp_path_factory.mktemp("outdir") / "run"
    make_synthetic_run(run_dir, 6, embedder="text-embedding-3-small")
    return run_dir


def _tree(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")}


def _refused(capsys: pytest.CaptureFixture[str], argv: list[str], needle: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("evolve: error: --out ") and needle in err[0], err


def test_out_is_the_run_dir(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = _tree(run)
    _refused(capsys, ["export", str(run), "--best", "--out", str(run), "--force"],
             "run directory")
    assert _tree(run) == before and (run / "lineage.duckdb").is_file()


def test_out_is_a_parent_of_the_run_dir(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = _tree(run.parent)
    _refused(capsys, ["export", str(run), "--best", "--out", str(run.parent), "--force"],
             "run directory")
    _refused(capsys, ["export", str(run), "--best", "--out", str(run / ".." / ".."), "--force"],
             "run directory")
    assert _tree(run.parent) == before


def test_out_is_the_current_directory_or_its_parent(run: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    work = tmp_path / "work" / "inner"
    work.mkdir(parents=True)
    (work / "notes.txt").write_text("mine")
    monkeypatch.chdir(work)
    _refused(capsys, ["export", str(run), "--best", "--out", ".", "--force"],
             "current directory")
    _refused(capsys, ["export", str(run), "--best", "--out", "..", "--force"],
             "current directory")
    assert (work / "notes.txt").read_text() == "mine"
    # an empty current directory too: a failed export would remove it
    (work / "notes.txt").unlink()
    _refused(capsys, ["export", str(run), "--best", "--out", "."], "current directory")
    assert work.is_dir()


def test_foreign_non_empty_dir_is_refused_even_with_force(
        run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    _refused(capsys, ["export", str(run), "--best", "--out", str(out)], "not written by")
    _refused(capsys, ["export", str(run), "--best", "--out", str(out), "--force"],
             "not written by")
    assert _tree(out) == {"keep.txt"}
    (tmp_path / "file").write_text("x")
    _refused(capsys, ["export", str(run), "--best", "--out", str(tmp_path / "file"), "--force"],
             "not a directory")


def test_previous_export_is_replaced_only_with_force(
        run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "pkg"
    assert main(["export", str(run), "--best", "--out", str(out)]) == 0
    assert (out / MARKER).is_file() and (out / "pyproject.toml").is_file()
    (out / "stale.txt").write_text("left by the user in an old export")
    capsys.readouterr()
    _refused(capsys, ["export", str(run), "--best", "--out", str(out)], "--force")
    assert (out / "stale.txt").exists()
    assert main(["export", str(run), "--best", "--out", str(out), "--force"]) == 0
    assert not (out / "stale.txt").exists()
    assert (out / MARKER).is_file() and (out / "pyproject.toml").is_file()
    # an empty directory is fine without --force
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["export", str(run), "--best", "--out", str(empty)]) == 0
    assert (empty / MARKER).is_file()
