"""The store's writes take typed, frozen records, and an evaluation reads back as it was written."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from evolve.lineage import LineageStore
from evolve.lineage.records import (
    find_evaluation,
    read_evaluation,
    read_items,
    read_program,
    read_traces,
)
from evolve.lineage.writes import NewEvaluation, NewItem, NewProgram
from evolve.llm.base import CallRecord

TRACE = {"item_id": "g1:q1", "group_id": "g1", "category": "2", "question": "Where?",
         "gold": "Lyon", "answer": "Paris", "retrieved": "Ana lives in Paris.", "score": 0.0,
         "error": None, "query": {"keywords": ["Ana"]}, "rationale": "F1 0.00"}
CALL = CallRecord(role="task", model="offline", kind="chat", tokens_in=12, tokens_out=3,
                  cost_usd=0.001, latency_s=0.2, cached=False, retries=1,
                  retry_errors="HTTP 429", truncated=True)


def _evaluation() -> NewEvaluation:
    return NewEvaluation(
        status="ok", score=0.5, per_category={"2": 0.5}, n_items=1, sandbox_mode="none",
        llm_calls=3, tokens_in=12, tokens_out=3, cost_usd=0.001, tokens_per_query=15.0,
        calls_per_query=3.0, duration_s=1.25, failed_items=1, coercions=2,
        write_example={"raw_text": "Ana: I live in Paris.", "item": {"summary": "Paris"}},
        episode_notes=({"episode_id": "e1", "skipped": True},),
        items=(NewItem.from_trace(TRACE),), calls=(CALL,))


@pytest.mark.parametrize("record", [NewProgram("p", "c", "SOURCE = 1\n"), _evaluation(),
                                    NewItem.from_trace(TRACE)], ids=type)
def test_write_records_are_frozen_and_refuse_unknown_fields(record):
    first = dataclasses.fields(record)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(record, first, "changed")
    with pytest.raises(TypeError, match="unexpected keyword argument 'gate'"):
        dataclasses.replace(record, gate="passed")


def test_an_evaluation_pickles_with_its_items_and_calls():
    """What a worker process, Dask or Ray sends back to the campaign process."""
    evaluation = _evaluation()
    assert pickle.loads(pickle.dumps(evaluation)) == evaluation


def test_a_stored_program_and_evaluation_read_back_as_written(tmp_path):
    store = LineageStore(tmp_path / "lineage.duckdb")
    store.add_campaign("c", name="t", task="dialog-synth")
    program = NewProgram("p", "c", "SOURCE = 1\n", parent_ids=("a", "b"), generation=2,
                         iteration=5, origin="crossover", mutator="offline",
                         commit_message="Merge", design={"top_k": 8})
    store.add_program(program)
    store.add_program(dataclasses.replace(program, commit_message="again"))  # id known: kept
    written = _evaluation()
    evaluation_id = store.add_evaluation("c", "p", "static", "static:abc", written)
    stored = read_program(store, "p")
    assert stored is not None
    assert {f.name: getattr(stored, f.name) for f in dataclasses.fields(program)} == \
        dataclasses.asdict(program) | {"parent_ids": ("a", "b")}
    record = read_evaluation(store, evaluation_id)
    assert record == find_evaluation(store, "p", "static", "static:abc")
    assert record is not None and record.campaign_id == "c" and record.subset == "static:abc"
    for field in ("status", "score", "per_category", "n_items", "llm_calls", "tokens_in",
                  "tokens_out", "cost_usd", "tokens_per_query", "calls_per_query",
                  "sandbox_mode", "duration_s", "failed_items", "coercions", "write_example"):
        assert getattr(record, field) == getattr(written, field), field
    (item,) = read_items(store, evaluation_id)
    assert (item.item_id, item.category, item.answer, item.trace) == \
        ("g1:q1", "2", "Paris", TRACE)
    assert read_traces(store, evaluation_id) == [TRACE]
    calls = store.query_dicts("SELECT * FROM llm_calls WHERE evaluation_id = ?", [evaluation_id])
    assert [(c["program_id"], c["role"], c["tokens_in"], c["retries"], c["retry_errors"],
             c["truncated"]) for c in calls] == [("p", "task", 12, 1, "HTTP 429", True)]
    store.close()


class _Canned:
    """An executor that returns a prepared result per job and counts what it ran."""

    name = "canned"

    def __init__(self, result: NewEvaluation) -> None:
        self.result, self.ran = result, []

    def map(self, jobs):
        for job in jobs:
            self.ran.append((job.program_id, job.subset))
            yield self.result

    def close(self) -> None:
        pass


class _NoGroups:
    def groups(self, subset):
        return []


def test_a_fresh_evaluation_is_the_record_a_resumed_campaign_finds(tmp_path):
    from evolve.config.sections import ModelsSection
    from evolve.evaluation.evaluate import EvalSettings
    from evolve.evaluation.evaluator import CampaignEvaluator

    store = LineageStore(tmp_path / "lineage.duckdb")
    store.add_campaign("c", name="t", task="dialog-synth")
    store.add_program(NewProgram("p", "c", "SOURCE = 1\n"))
    executor = _Canned(_evaluation())
    evaluator = CampaignEvaluator(store, "c", _NoGroups(), EvalSettings(),  # type: ignore[arg-type]
                                  {"static": ["g1:q1"]}, executor, ("dialog-synth", {}),
                                  ModelsSection())
    fresh = evaluator.evaluate("p", "SOURCE = 1\n", "static")
    again = CampaignEvaluator(store, "c", _NoGroups(), EvalSettings(),  # type: ignore[arg-type]
                              {"static": ["g1:q1"]}, executor, ("dialog-synth", {}),
                              ModelsSection()).evaluate("p", "SOURCE = 1\n", "static")
    assert executor.ran == [("p", "static")]  # the second campaign found it: nothing re-run
    assert again == fresh and fresh.subset == evaluator.key("static")
    assert read_traces(store, fresh.id) == [TRACE]
    store.close()
