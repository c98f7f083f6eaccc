"""The lineage store writes evaluations, their items and their calls as given, in order."""

from __future__ import annotations

import json

from evolve.lineage import LineageStore
from evolve.lineage.writes import NewEvaluation, NewItem, NewProgram
from evolve.llm.base import CallRecord


def _store(tmp_path) -> LineageStore:
    store = LineageStore(tmp_path / "lineage.duckdb")
    store.add_campaign("c1", name="t", task="dialog-synth")
    store.add_program(NewProgram("p1", "c1", "SOURCE = 1\n"))
    return store


def test_items_and_calls_round_trip_in_order_with_mixed_value_types(tmp_path):
    store = _store(tmp_path)
    items = [{"item_id": f"i{n:04d}", "group_id": "g", "category": n % 3 if n % 2 else "multi",
              "question": "q 'quoted'", "gold": None, "answer": f"a{n}",
              "retrieved": "r" * (n % 7), "score": 1 if n % 4 == 0 else 0.25 * (n % 4),
              "error": None, "prompts": {"answer": [{"role": "user", "content": "ü"}]}}
             for n in range(700)]  # more rows than any single VALUES list used to take
    calls = [CallRecord(role="task", model="m", kind="chat", tokens_in=n,
                        tokens_out=None,  # type: ignore[arg-type]  # a NULL column
                        cost_usd=0 if n % 2 else 0.5, latency_s=0.2, cached=n % 3 == 0)
             for n in range(300)]
    evaluation = store.add_evaluation("c1", "p1", "static", "static", NewEvaluation(
        status="ok", score=0.5, per_category={"1": 0.5}, n_items=len(items),
        items=tuple(NewItem.from_trace(item) for item in items), calls=tuple(calls)))
    rows = store.query("SELECT item_id, category, gold, score, trace FROM item_results "
                       "WHERE evaluation_id = ? ORDER BY rowid", [evaluation])
    assert [r[0] for r in rows] == [i["item_id"] for i in items]
    assert [r[1] for r in rows] == [str(i["category"]) for i in items]
    assert [r[3] for r in rows] == [float(i["score"]) for i in items]
    assert all(r[2] is None for r in rows)
    assert json.loads(rows[5][4]) == items[5]
    stored = store.query("SELECT tokens_in, tokens_out, cost_usd, cached FROM llm_calls "
                         "WHERE evaluation_id = ? ORDER BY id", [evaluation])
    assert stored == [(c.tokens_in, None, float(c.cost_usd), c.cached) for c in calls]


def test_an_evaluation_without_items_or_calls(tmp_path):
    store = _store(tmp_path)
    evaluation = store.add_evaluation("c1", "p1", "static", "static",
                                      NewEvaluation(status="gate_failed", score=0.0))
    assert store.query("SELECT count(*) FROM item_results WHERE evaluation_id = ?",
                       [evaluation]) == [(0,)]


def _duckdb_mb(store: LineageStore) -> float:
    return store.query("SELECT sum(memory_usage_bytes) / 2**20 FROM duckdb_memory()")[0][0]


def test_the_writers_memory_stays_bounded_as_the_database_grows(tmp_path):
    """~60 MB of traces written and read back: DuckDB's cache of blocks stays under its limit.

    Without a limit DuckDB keeps every block it read or wrote (up to 80% of RAM), so a
    campaign's orchestrator grew with its database.
    """
    store = _store(tmp_path)
    trace = "lorem ipsum dolor sit amet " * 400  # ~10 KB, a long item trace
    peak = 0.0
    for n in range(150):
        items = tuple(NewItem.from_trace({"item_id": f"i{k}", "score": k % 2,
                                          "retrieved": f"{n} {k} {trace}"}) for k in range(40))
        store.add_evaluation("c1", "p1", "static", f"s{n}",
                             NewEvaluation(status="ok", score=0.5, items=items))
        store.query("SELECT trace FROM item_results WHERE evaluation_id = ?", [n // 2 + 1])
        if n % 10 == 9:
            store.query("SELECT evaluation_id, avg(score) FROM item_results GROUP BY 1")
            peak = max(peak, _duckdb_mb(store))
    assert peak < 32, peak
    assert store.query("SELECT count(*) FROM item_results")[0][0] == 150 * 40


def test_one_large_evaluation_is_stored_whole_under_the_writers_memory_limit(tmp_path):
    """600 items with ~40 KB traces each (~24 MB of values in one evaluation, as a LoCoMo test
    split gives): one INSERT of all of them failed with OutOfMemoryException under the 32 MB
    limit and the evaluation was lost."""
    store = _store(tmp_path)
    trace = "the quick brown fox jumps over the lazy dog " * 900  # ~40 KB
    items = tuple(NewItem.from_trace({"item_id": f"i{k}", "score": k % 2,
                                      "retrieved": f"{k} {trace}"}) for k in range(600))
    evaluation = store.add_evaluation("c1", "p1", "test", "test",
                                      NewEvaluation(status="ok", score=0.5, items=items))
    stored = store.query("SELECT item_id, retrieved FROM item_results "
                         "WHERE evaluation_id = ? ORDER BY rowid", [evaluation])  # ~24 MB back
    assert [row[0] for row in stored] == [f"i{k}" for k in range(600)]  # whole, in order
    assert all(len(row[1]) > 39_000 for row in stored)
    assert _memory_limit(store) == _memory_limit(_fresh_store(tmp_path))  # limit restored


def test_a_single_row_larger_than_the_limit_is_stored(tmp_path):
    store = _store(tmp_path)
    huge = "x" * (48 * 2**20)  # one 48 MB trace: no chunking helps, the retry must
    items = (NewItem.from_trace({"item_id": "big", "score": 1.0, "retrieved": huge}),)
    evaluation = store.add_evaluation("c1", "p1", "test", "test",
                                      NewEvaluation(status="ok", score=1.0, items=items))
    assert store.query("SELECT length(retrieved) FROM item_results WHERE evaluation_id = ?",
                       [evaluation]) == [(len(huge),)]
    assert _memory_limit(store) == _memory_limit(_fresh_store(tmp_path))


def _fresh_store(tmp_path) -> LineageStore:
    (tmp_path / "fresh").mkdir()
    return LineageStore(tmp_path / "fresh" / "lineage.duckdb")


def _memory_limit(store: LineageStore) -> str:
    return store.query("SELECT value FROM duckdb_settings() WHERE name = 'memory_limit'")[0][0]


def _malloc_in_use_mb() -> float:
    import ctypes

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
            "fordblks", "keepcost")]

    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2
    info = libc.mallinfo2()
    return (info.uordblks + info.hblkhd) / 2**20


def test_reopen_releases_what_duckdb_keeps_per_replaced_row_and_keeps_the_data(tmp_path):
    import pytest

    try:
        _malloc_in_use_mb()
    except (OSError, AttributeError):
        pytest.skip("needs glibc's mallinfo2")
    store = _store(tmp_path)
    before = _malloc_in_use_mb()
    for n in range(1500):  # what a long campaign's state writes do, iteration after iteration
        store.set_state("c1", "iterations_done", n)
    grown = _malloc_in_use_mb() - before
    store.reopen()
    kept = _malloc_in_use_mb() - before
    assert grown > 1.0, grown  # DuckDB kept ~1.6 KB per replaced row
    assert kept < grown / 4, (grown, kept)
    assert store.get_state("c1", "iterations_done") == 1499
    assert store.query("SELECT 1 FROM programs WHERE id = ?", ["p1"])
    with store.transaction():
        with pytest.raises(RuntimeError, match="inside a transaction"):
            store.reopen()
