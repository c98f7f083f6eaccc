"""SIGKILL at several moments, then `evolve resume`: nothing lost, nothing evaluated twice, and
the offline campaign ends with exactly the pool of an uninterrupted run."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart.toml"
SETTINGS = ["--set", "task.args.size=tiny", "--set", "search.iterations=40",
            "--set", "data.val_size=10", "--quiet"]


def _ctrl_c_as_at_a_terminal() -> None:
    # A test runner started in the background (`pytest &`, nohup) ignores SIGINT, and its
    # children inherit that: Python then keeps ignoring it until evolve installs its own
    # handler, so a Ctrl-C during setup would do nothing. A user at a terminal has the default.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def evolve(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "evolve.cli", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True, cwd=ROOT,
                            preexec_fn=_ctrl_c_as_at_a_terminal)


def kill_after(process: subprocess.Popen, seconds: float) -> bool:
    """SIGKILL the whole process group after ``seconds``; False if it finished first."""
    try:
        process.wait(timeout=seconds)
        return False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return True


def finished(run_dir: Path, tmp_path: Path) -> bool:
    if not (run_dir / "lineage.duckdb").exists():
        return False
    copy = tmp_path / "probe.duckdb"
    shutil.copy(run_dir / "lineage.duckdb", copy)
    wal = run_dir / "lineage.duckdb.wal"
    if wal.exists():
        shutil.copy(wal, copy.with_name(copy.name + ".wal"))
    conn = duckdb.connect(str(copy))
    try:
        rows = conn.execute("SELECT finished_at IS NOT NULL FROM campaigns").fetchall()
    except duckdb.Error:  # killed before the tables existed
        rows = []
    finally:
        conn.close()
    copy.unlink()
    copy.with_name(copy.name + ".wal").unlink(missing_ok=True)
    return bool(rows and rows[0][0])


def snapshot(run_dir: Path, tmp_path: Path) -> tuple[set, set, list]:
    copy = tmp_path / f"{run_dir.name}.duckdb"
    shutil.copy(run_dir / "lineage.duckdb", copy)
    wal = run_dir / "lineage.duckdb.wal"
    if wal.exists():
        shutil.copy(wal, copy.with_name(copy.name + ".wal"))
    conn = duckdb.connect(str(copy))
    programs = set(conn.execute(
        "SELECT id, array_to_string(list_sort(parent_ids), ','), iteration, origin, gate_status "
        "FROM programs").fetchall())
    evaluations = set(conn.execute(
        "SELECT program_id, split, subset, status, round(score, 9) FROM evaluations").fetchall())
    duplicates = conn.execute(
        "SELECT program_id, subset, count(*) FROM evaluations GROUP BY ALL HAVING count(*) > 1"
    ).fetchall()
    finished = conn.execute("SELECT finished_at IS NOT NULL FROM campaigns").fetchone()[0]
    conn.close()
    assert finished
    return programs, evaluations, duplicates


@pytest.mark.slow
def test_sigkill_and_resume_ends_identical(tmp_path):
    reference = tmp_path / "reference"
    done = evolve("run", str(QUICKSTART), "--run-dir", str(reference), *SETTINGS)
    assert done.wait(timeout=300) == 0, done.stderr.read().decode()

    resumed = tmp_path / "resumed"
    kills = 0
    process = evolve("run", str(QUICKSTART), "--run-dir", str(resumed), *SETTINGS)
    # kill during start-up/seeds, then at staggered points of the iterations
    for delay in (2.5, 1.9, 2.3, 2.8, 3.1):
        if not kill_after(process, delay):
            break
        kills += 1
        time.sleep(0.1)
        if finished(resumed, tmp_path):  # killed after the campaign had already ended
            process = None
            break
        if not resumed.exists():  # killed before the run dir was published: nothing to resume
            process = evolve("run", str(QUICKSTART), "--run-dir", str(resumed), *SETTINGS)
            continue
        process = evolve("resume", str(resumed), "--quiet")
    if process is not None:
        assert process.wait(timeout=300) == 0, process.stderr.read().decode()
    assert kills >= 2  # the test really interrupted the campaign

    ref_programs, ref_evaluations, ref_dups = snapshot(reference, tmp_path)
    got_programs, got_evaluations, got_dups = snapshot(resumed, tmp_path)
    assert not ref_dups and not got_dups          # nothing evaluated twice
    assert got_programs == ref_programs           # same pool, same lineage
    assert got_evaluations == ref_evaluations     # same scores, nothing lost


def test_ctrl_c_abandons_the_step_cleanly_and_resume_finishes(tmp_path):
    run_dir = tmp_path / "run"
    # 20 iterations (~10 s here) so that Ctrl-C after 4 s lands inside the loop
    process = evolve("run", str(QUICKSTART), "--run-dir", str(run_dir), *SETTINGS,
                     "--set", "search.iterations=20")
    # (a loaded machine may take seconds to set up: wait for the run dir, then into the loop)
    deadline = time.monotonic() + 120
    while not (run_dir / "lineage.duckdb").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(4.0)
    process.send_signal(signal.SIGINT)
    code = process.wait(timeout=120)
    err = process.stderr.read().decode()
    if code == 0 or (code == -signal.SIGINT and finished(run_dir, tmp_path)):
        # finished first; a Ctrl-C during interpreter shutdown ends it by the signal itself
        pytest.skip("the campaign finished before Ctrl-C arrived")
    assert code == 130 and "evolve resume" in err and "Traceback" not in err, err
    conn = duckdb.connect(str(run_dir / "lineage.duckdb"), read_only=True)
    kinds = [row[0] for row in conn.execute("SELECT kind FROM events").fetchall()]
    conn.close()
    assert "interrupted" in kinds
    resumed = evolve("resume", str(run_dir), "--quiet")
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read().decode()


def kill_when(process: subprocess.Popen, moment: Callable[[], bool], timeout: float = 120,
              sig: int = signal.SIGKILL) -> int:
    """Send ``sig`` as soon as ``moment()`` holds (polled every 5 ms): SIGKILL to the whole
    process group, SIGINT (Ctrl-C) to the campaign process. Returns its exit code."""
    deadline = time.monotonic() + timeout
    while not moment():
        assert process.poll() is None, "the campaign ended before the moment came"
        assert time.monotonic() < deadline, "the moment never came"
        time.sleep(0.005)
    if sig == signal.SIGKILL:
        os.killpg(process.pid, signal.SIGKILL)
    else:
        process.send_signal(sig)
    return process.wait(timeout=120)


def first_seed_reported(process: subprocess.Popen) -> Callable[[], bool]:
    """True once the campaign printed its first seed result (the other seeds still to go)."""
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(process.stderr.readline, b"")),
                     daemon=True).start()
    return lambda: any(line.startswith(b"seed ") for line in lines)


@pytest.mark.slow
def test_sigkill_during_setup_then_resume_ends_identical(tmp_path):
    """From the moment the run dir exists, a SIGKILL leaves a campaign `evolve resume` finishes
    exactly as an uninterrupted run: before the response cache exists (task and models being
    built), once it does (data selection next), and between two seed evaluations."""
    settings = [*SETTINGS, "--set", "search.iterations=2"]
    reference = tmp_path / "reference"
    done = evolve("run", str(QUICKSTART), "--run-dir", str(reference), *settings)
    assert done.wait(timeout=300) == 0, done.stderr.read().decode()
    expected = snapshot(reference, tmp_path)

    moments = {
        "run dir exists": lambda run_dir, process: run_dir.exists,
        "cache exists": lambda run_dir, process: (run_dir / "cache.sqlite").exists,
        "first seed done": lambda run_dir, process: first_seed_reported(process),
    }
    for name, moment in moments.items():
        run_dir = tmp_path / name.replace(" ", "-")
        verbose = [arg for arg in settings if arg != "--quiet"]  # seed lines on stderr
        process = evolve("run", str(QUICKSTART), "--run-dir", str(run_dir), *verbose)
        kill_when(process, moment(run_dir, process))
        assert not finished(run_dir, tmp_path), name
        resumed = evolve("resume", str(run_dir), "--quiet")
        assert resumed.wait(timeout=300) == 0, (name, resumed.stderr.read().decode())
        assert snapshot(run_dir, tmp_path) == expected, name

    # Ctrl-C during setup: told to resume, and resume can
    run_dir = tmp_path / "ctrl-c"
    process = evolve("run", str(QUICKSTART), "--run-dir", str(run_dir), *settings)
    code = kill_when(process, (run_dir / "cache.sqlite").exists, sig=signal.SIGINT)
    err = process.stderr.read().decode()
    assert code == 130 and f"evolve resume {run_dir}" in err and "Traceback" not in err, err
    resumed = evolve("resume", str(run_dir), "--quiet")
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read().decode()
    assert snapshot(run_dir, tmp_path) == expected


def test_a_new_run_dir_appears_with_its_campaign_record(tmp_path):
    from evolve.campaign.run_dir import create_run
    from evolve.errors import UsageError

    stale = tmp_path / ".run.evolve-setup-0badc0de"  # left by a setup killed long ago
    stale.mkdir()
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    seen: list[bool] = []

    def record(store):
        seen.append((tmp_path / "run").exists())  # written before the run dir exists
        store.add_campaign("c1", name="x", config={})

    store = create_run(tmp_path / "run", "c1", record)
    try:
        assert store.campaign()["id"] == "c1"
    finally:
        store.close()
    assert seen == [False]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no staging dir left
    with pytest.raises(UsageError, match="already holds a campaign"):
        create_run(tmp_path / "run", "c2", lambda store: store.add_campaign("c2"))
    existing = tmp_path / "made-by-user"
    existing.mkdir()
    create_run(existing, "c3", lambda store: store.add_campaign("c3")).close()
    assert (existing / "lineage.duckdb").is_file()


def test_resume_of_a_run_dir_that_was_never_published_says_to_run_again(tmp_path, capsys):
    from evolve.cli import main

    assert main(["resume", str(tmp_path / "never")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"evolve: error: {tmp_path / 'never'} does not exist")
    assert "`evolve run`" in err and "\n" not in err


def test_ctrl_c_before_the_run_dir_exists_says_nothing_was_kept(tmp_path, capsys):
    from evolve.commands.campaign_cmds import _start

    def interrupted_setup():
        raise KeyboardInterrupt

    assert _start(interrupted_setup, tmp_path / "run") is None
    err = capsys.readouterr().err
    assert "nothing was kept: run the same command again" in err and "resume" not in err
