"""Schema version 2 (failure counts on evaluations): new files have them, old files stay readable."""

from __future__ import annotations

import duckdb
import pytest

from evolve.lineage import LineageStore, StoreError, open_readonly
from evolve.lineage.schema import SCHEMA_VERSION
from evolve.lineage.writes import NewEvaluation, NewProgram

COUNTS = ("failed_items", "skipped_episodes", "extraction_failures", "query_fallbacks",
          "coercions")


def _version_1_file(path) -> None:
    """A database as evolve wrote it before the counts existed (schema version 1)."""
    store = LineageStore(path)
    store.add_campaign("c1", name="old", task="dialog-synth")
    store.add_program(NewProgram("p1", "c1", "SOURCE = 1\n"))
    store.add_evaluation("c1", "p1", "static", "static",
                         NewEvaluation(status="ok", score=0.75, n_items=4))
    store.close()
    conn = duckdb.connect(str(path))
    for column in (*COUNTS, "episode_notes"):
        conn.execute(f"ALTER TABLE evaluations DROP COLUMN {column}")
    conn.execute("DELETE FROM schema_version WHERE version > 1")
    conn.close()


def _columns(conn) -> set[str]:
    return {row[0] for row in conn.execute("DESCRIBE evaluations").fetchall()}


def test_new_files_store_the_counts(tmp_path):
    store = LineageStore(tmp_path / "lineage.duckdb")
    store.add_campaign("c1")
    evaluation = NewEvaluation(status="ok", score=0.5, n_items=30, failed_items=1,
                               skipped_episodes=2, extraction_failures=2, query_fallbacks=3,
                               coercions=4,
                               episode_notes=({"episode_id": "e1", "skipped": True},))
    store.add_evaluation("c1", "p1", "static", "static", evaluation)
    (row,) = store.query_dicts("SELECT * FROM evaluations")
    assert [row[c] for c in COUNTS] == [1, 2, 2, 3, 4]
    assert '"e1"' in row["episode_notes"]


def test_an_old_file_is_read_through_a_migrated_copy_and_left_as_it_was(tmp_path):
    path = tmp_path / "lineage.duckdb"
    _version_1_file(path)
    with open_readonly(path) as store:
        (row,) = store.query_dicts("SELECT * FROM evaluations")
        assert row["score"] == 0.75 and all(row[c] is None for c in COUNTS)
    conn = duckdb.connect(str(path), read_only=True)
    assert conn.execute("SELECT max(version) FROM schema_version").fetchone() == (1,)
    assert "failed_items" not in _columns(conn)
    conn.close()


def test_opening_an_old_file_for_writing_migrates_it(tmp_path):
    path = tmp_path / "lineage.duckdb"
    _version_1_file(path)
    store = LineageStore(path)  # e.g. `evolve resume` of a run from before version 2
    store.add_evaluation("c1", "p1", "test", "test",
                         NewEvaluation(status="ok", score=0.25, failed_items=1))
    rows = store.query("SELECT split, score, failed_items FROM evaluations ORDER BY id")
    assert rows == [("static", 0.75, None), ("test", 0.25, 1)]
    assert store.query("SELECT version FROM schema_version ORDER BY version") == [
        (v,) for v in range(1, SCHEMA_VERSION + 1)]
    store.close()


def test_a_newer_file_is_refused_untouched(tmp_path):
    path = tmp_path / "lineage.duckdb"
    LineageStore(path).close()
    conn = duckdb.connect(str(path))
    conn.execute("INSERT INTO schema_version (version) VALUES (?)", [SCHEMA_VERSION + 1])
    conn.close()
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1}"):
        LineageStore(path)
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1}"):
        open_readonly(path)
