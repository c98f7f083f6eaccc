"""Conditions the user can fix get one line naming the file and what to do, exit 2 -- not
"internal error", exit 1: damaged response caches (the run's own and the shared one), a damaged
or unreadable lineage database (and no ``evolve-snapshot-*`` directory left behind), a full
disk (real, on a tiny tmpfs, when this process may mount one).
"""

from __future__ import annotations

import contextlib
import errno
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import FakeOpenAIServer

from evolve.cli import main
from evolve.user_errors import describe

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart.toml"
TINY = ["--set", "task.args.size=tiny", "--set", "data.val_size=10", "--quiet"]
EVAL_TINY = ["vector_search", "--task", "dialog-synth", "--task-arg", "size=tiny", "--limit", "2"]


def one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the CLI; it must exit 2 with exactly one ``evolve: error:`` line on stderr."""
    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("evolve: error: "), (code, err)
    return err[0]


def snapshot_dirs(root: str | None = None) -> set[str]:
    return {p.name for p in Path(root or tempfile.gettempdir()).glob("evolve-snapshot-*")}


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temp dir of this test's own, so snapshots other processes make and remove in the
    shared /tmp meanwhile cannot change what ``snapshot_dirs`` sees."""
    own = tmp_path / "tmp"
    own.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(own))
    return own


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("user-errors") / "run"
    assert main(["run", str(QUICKSTART), "--run-dir", str(run), "--set",
                 "search.iterations=1", *TINY]) == 0
    return run


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A real, tiny file system at ``path`` (skips the test where mounting is not allowed)."""
    path.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def remount(path: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(path)], check=True)


# -- response caches -------------------------------------------------------------------------
def test_damaged_run_cache_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "cache.sqlite").write_bytes(b"this is not a SQLite file, it was overwritten\n" * 50)
    line = one_line(["run", str(QUICKSTART), "--run-dir", str(run), "--set",
                     "search.iterations=1", *TINY], capsys)
    assert f"response cache {run / 'cache.sqlite'}: file is not a database" in line
    assert "delete or move it" in line
    # the advice works: without the damaged file the same command runs
    (run / "cache.sqlite").unlink()
    assert main(["run", str(QUICKSTART), "--run-dir", str(run), "--set",
                 "search.iterations=1", *TINY]) == 0


def test_damaged_shared_cache_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    shared = tmp_path / "xdg" / "evolve" / "responses.sqlite"
    shared.parent.mkdir(parents=True)
    shared.write_bytes(b"\x00garbage" * 500)
    with FakeOpenAIServer() as server:  # a remote model: the shared cache is the default
        line = one_line(["eval", *EVAL_TINY, "--model", "fake-chat", "--base-url",
                         server.url], capsys)
    assert f"response cache {shared}: file is not a database" in line


def test_cache_path_that_is_a_directory(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    line = one_line(["eval", *EVAL_TINY, "--cache", str(tmp_path)], capsys)
    assert f"response cache {tmp_path}:" in line and "is a directory" in line


# -- lineage databases -----------------------------------------------------------------------
@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_damaged_lineage_database(finished_run: Path, tmp_path: Path, damage: str,
                                  capsys: pytest.CaptureFixture[str], private_tmp: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    db = run / "lineage.duckdb"
    if damage == "garbage":
        db.write_bytes(bytes(range(256)) * 64)
    else:
        with db.open("r+b") as handle:
            handle.truncate(12288)
    before = snapshot_dirs()
    for argv in (["status", str(run)], ["programs", str(run)], ["report", str(run)],
                 ["export", str(run), "--best", "--out", str(tmp_path / "pkg")],
                 ["resume", str(run)]):
        line = one_line(argv, capsys)
        assert str(db) in line, (argv, line)
        assert line.endswith("(the file is damaged: restore it from a copy, or start over in "
                             "a new run dir)"), (argv, line)
    assert snapshot_dirs() == before
    assert not (tmp_path / "pkg").exists()


def test_unreadable_lineage_database_leaves_no_snapshot_dir(
        finished_run: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], private_tmp: Path) -> None:
    # root reads any file, so the EACCES a non-root user gets from the copy is injected
    import evolve.lineage.snapshot as snapshot_module

    def denied(src, dst, **_):  # noqa: ANN001 - shutil.copy2's signature
        raise PermissionError(errno.EACCES, "Permission denied", str(src))

    monkeypatch.setattr(snapshot_module.shutil, "copy2", denied)
    before = snapshot_dirs()
    line = one_line(["status", str(finished_run)], capsys)
    assert line == (f"evolve: error: cannot read {finished_run / 'lineage.duckdb'}: permission "
                    "denied (run as its owner or fix its mode)")
    assert snapshot_dirs() == before


def test_snapshot_into_a_full_temp_dir(finished_run: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    with tmpfs(tmp_path / "tmp", "1m") as small:  # smaller than the run's database
        monkeypatch.setattr(tempfile, "tempdir", str(small))
        line = one_line(["status", str(finished_run)], capsys)
        assert f"cannot snapshot {finished_run / 'lineage.duckdb'}: no space left in " \
               f"{small}" in line
        assert snapshot_dirs(str(small)) == set() and not any(small.iterdir())


# -- a full disk -----------------------------------------------------------------------------
def test_campaign_on_a_full_disk_stops_cleanly_and_resumes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reference = tmp_path / "reference"
    assert main(["run", str(QUICKSTART), "--run-dir", str(reference), "--set",
                 "search.iterations=4", *TINY]) == 0
    capsys.readouterr()
    assert main(["programs", str(reference), "--json"]) == 0
    expected = capsys.readouterr().out
    with tmpfs(tmp_path / "disk", "1m") as disk:
        run = disk / "run"
        run.mkdir()  # an existing run dir gets its record in place, so the disk fills later
        line = one_line(["run", str(QUICKSTART), "--run-dir", str(run), "--set",
                         "search.iterations=4", *TINY], capsys)
        assert "no space left on device" in line and str(run) in line
        assert "evolve resume" in line
        remount(disk, "32m")  # the user frees space...
        assert main(["resume", str(run), "--quiet"]) == 0  # ...and nothing was lost
        capsys.readouterr()
        assert main(["programs", str(run), "--json"]) == 0
        assert capsys.readouterr().out == expected


def test_a_disk_full_before_the_run_dir_exists_says_run_again(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A new run dir is set up in a hidden staging dir: when that fills the disk nothing is
    published, so the line names the run dir and says to run the same command again."""
    with tmpfs(tmp_path / "disk", "256k") as disk:
        run = disk / "run"
        args = ["run", str(QUICKSTART), "--run-dir", str(run), "--set", "search.iterations=1",
                *TINY]
        line = one_line(args, capsys)
        assert line.startswith(f"evolve: error: cannot set up {run}: no space left on device")
        assert "run the same command again" in line and "staging" not in line
        assert not run.exists() and not any(disk.iterdir())
        remount(disk, "32m")
        assert main([*args, "--quiet"]) == 0


def test_cache_on_a_full_disk_is_named(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    with tmpfs(tmp_path / "disk", "1m") as disk:
        with contextlib.suppress(OSError), (disk / "filler").open("wb") as handle:
            handle.write(b"\0" * (2 << 20))  # fill it up
        line = one_line(["eval", *EVAL_TINY, "--cache", str(disk / "c.sqlite")], capsys)
        assert f"response cache {disk / 'c.sqlite'}:" in line and "no space left" in line


def test_describe_maps_machine_conditions_and_leaves_bugs_alone() -> None:
    import sqlite3

    full = OSError(errno.ENOSPC, "No space left on device", "/data/run/x.json")
    assert describe(full) == ("no space left on device (/data/run/x.json): free some space or "
                              "write to another disk, then retry (an interrupted campaign "
                              "continues with `evolve resume RUN_DIR`)")
    duck = RuntimeError('Failed to commit: Could not write file "/r/lineage.duckdb.wal": '
                        "No space left on device")
    assert describe(duck).startswith("no space left on device (/r/lineage.duckdb.wal)")
    try:
        try:
            raise PermissionError(errno.EACCES, "Permission denied", "/etc/x")
        except OSError as exc:
            raise ValueError("while saving") from exc
    except ValueError as wrapped:
        assert describe(wrapped).startswith("permission denied (/etc/x)")
    assert describe(sqlite3.DatabaseError("file is not a database")) is not None
    assert describe(KeyError("x")) is None
    assert describe(ZeroDivisionError("division by zero")) is None
    assert describe(OSError(errno.ENOENT, "No such file or directory", "/x")) is None
