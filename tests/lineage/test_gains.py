"""Each program's paired validation gains over its parent and over the best seed."""

from __future__ import annotations

from pathlib import Path

from suite_support.runs import make_synthetic_run

from evolve.lineage import LineageStore
from evolve.lineage.gains import program_gains
from evolve.stats import paired_gain


def _scores(store: LineageStore, pid: str) -> dict[str, float]:
    return dict(store.query("SELECT r.item_id, r.score FROM item_results r JOIN evaluations e "
                            "ON e.id = r.evaluation_id WHERE e.program_id = ? AND "
                            "e.split = 'static' ORDER BY r.rowid", [pid]))


def test_gains_pair_items_with_the_parent_and_the_best_seed(tmp_path: Path) -> None:
    marks = make_synthetic_run(tmp_path, 20, seed=2)
    store = LineageStore(tmp_path / "lineage.duckdb", read_only=True)
    gains = program_gains(store)
    programs = store.query("SELECT id, origin, parent_ids, gate_status FROM programs")
    seeds = [pid for pid, origin, _, _ in programs if origin == "seed"]
    seed_means = {pid: sum(_scores(store, pid).values()) / 10 for pid in seeds}
    best_seed = max(seeds, key=lambda pid: seed_means[pid])
    assert marks["failed"] not in gains  # a gate failure has no static evaluation
    checked = 0
    for pid, origin, parents, status in programs:
        if status == "failed":
            continue
        gain = gains[pid]
        if origin == "seed":
            assert gain.vs_parent is None
        else:
            parent, child = _scores(store, parents[0]), _scores(store, pid)
            expected = paired_gain([parent[i] for i in child], list(child.values()))
            assert gain.vs_parent == expected
            assert gain.vs_parent.n == 10
            assert abs(gain.vs_parent.mean - (sum(child.values()) - sum(parent.values())) / 10) \
                < 1e-12
            checked += 1
        if pid == best_seed:
            assert gain.vs_best_seed is None
        else:
            assert gain.vs_best_seed is not None
            assert gain.vs_best_seed.low <= gain.vs_best_seed.mean <= gain.vs_best_seed.high
    assert checked >= 8


def test_an_unchanged_child_has_a_zero_interval() -> None:
    same = [1.0, 0.0, 1.0, 0.5] * 10
    gain = paired_gain(same, same)
    assert (gain.mean, gain.low, gain.high, gain.significant) == (0.0, 0.0, 0.0, False)


def test_status_programs_and_report_show_the_intervals(tmp_path: Path, capsys) -> None:
    import json

    from evolve.cli import main

    marks = make_synthetic_run(tmp_path, 20, seed=2)
    store = LineageStore(tmp_path / "lineage.duckdb", read_only=True)
    expected = program_gains(store)[marks["best"]].vs_best_seed
    store.close()
    assert main(["status", str(tmp_path), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["best_gain_vs_seed"] == {"mean": expected.mean, "low": expected.low,
                                           "high": expected.high, "n": expected.n}
    assert status["no_ops"] == 0
    assert main(["status", str(tmp_path)]) == 0
    assert f"gain       {expected} over the best seed on 10 validation items" in \
        capsys.readouterr().out
    assert main(["programs", str(tmp_path), "--json"]) == 0
    rows = {row["id"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows[marks["best"]]["gain_vs_best_seed"]["mean"] == expected.mean
    assert main(["programs", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    child = next(row for row in rows.values() if row["gain_vs_parent"])
    g = child["gain_vs_parent"]
    line = next(x for x in text.splitlines() if x.startswith(child["id"][:8]))
    assert f"{g['mean']:+.3f} [{g['low']:+.3f}, {g['high']:+.3f}]" in line
    assert "vs parent [95%]" in text
    assert main(["report", str(tmp_path)]) == 0
    page = (tmp_path / "report" / "index.html").read_text()
    assert f"gain of the search: {expected} on 10 items" in page
