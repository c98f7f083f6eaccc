"""``evolve transfer``: each run's best program on every run's task (held-out test subsets)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evolve.cli import main
from evolve.report.transfer import transfer_matrix

ROOT = Path(__file__).resolve().parents[2]


def _tiny_run(run: Path, name: str, data_seed: int, seed_program: str) -> None:
    assert main(["run", str(ROOT / "examples" / "quickstart.toml"), "--run-dir", str(run),
                 "--quiet", "--set", "task.args.size=tiny", "--set", f"task.args.seed={data_seed}",
                 "--set", "search.iterations=0", "--set", "data.val_size=10",
                 "--set", f"campaign.name={name}", "--set", f"search.seeds={seed_program}"]) == 0


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    base = tmp_path_factory.mktemp("transfer")
    a, b = base / "a", base / "b"
    _tiny_run(a, "tinya", 0, "vector_search")
    _tiny_run(b, "tinyb", 3, "experience_learner")
    return [a, b]


def _stored_test_score(run: Path) -> float:
    from evolve.lineage.queries import campaign_status
    from evolve.report.data import open_snapshot

    store = open_snapshot(run)
    try:
        return campaign_status(store)["best_test"]
    finally:
        store.close()


def test_matrix_diagonal_is_each_runs_own_test_score(runs: list[Path]) -> None:
    tasks, matrix = transfer_matrix(runs)
    assert [t.split for t in tasks] == ["test", "test"]
    assert tasks[0].best_id != tasks[1].best_id
    for i, run in enumerate(runs):
        assert matrix[i][i].reused and matrix[i][i].score == _stored_test_score(run)
    for i, j in ((0, 1), (1, 0)):
        cell = matrix[i][j]
        assert not cell.reused and cell.status == "ok" and cell.n_items > 0
        assert 0.0 <= cell.score <= 1.0


def test_recomputed_cells_equal_the_stored_ones(runs: list[Path]) -> None:
    """Evaluating a run's best on its own task again (offline: deterministic) gives the score
    the campaign stored -- the column really is that run's task and test subset."""
    _, stored = transfer_matrix(runs)
    _, fresh = transfer_matrix(runs, reuse=False)
    for i in range(2):
        assert not fresh[i][i].reused
        assert fresh[i][i].score == pytest.approx(stored[i][i].score)
    assert fresh[0][1].score == pytest.approx(stored[0][1].score)


def test_transfer_command_prints_the_matrix(runs: list[Path],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["transfer", *map(str, runs)]) == 0
    out = capsys.readouterr().out
    assert "T1 = task of tinya (dialog-synth size=tiny,seed=0), test subset" in out
    assert "P2 " in out and "*" in out
    assert main(["transfer", *map(str, runs), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in data["runs"]] == ["tinya", "tinyb"]
    assert len(data["matrix"]) == 2 and all(len(row) == 2 for row in data["matrix"])
    assert data["matrix"][0][0]["reused"] is True


def test_transfer_usage_errors(runs: list[Path], tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["transfer", str(runs[0])]) == 2
    assert main(["transfer", str(runs[0]), str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "at least two" in err[0] and "not an evolve run" in err[1]
