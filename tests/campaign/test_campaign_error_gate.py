"""A campaign child whose evaluation ends in status=error is not gate-passed nor a pool member.

The meta-agent (over HTTP, scripted) proposes a child whose query instruction carries a
marker; the fake server rejects every query prompt with that marker (HTTP 400), so the
child's items all fail and its evaluation is an error, while the seed evaluates normally.
"""

from __future__ import annotations

from pathlib import Path

from fakes import FakeOpenAIServer
from fakes.task_replies import TaskReplies, rejected

from evolve.campaign.loop import Campaign
from evolve.campaign.pool import pool_entries
from evolve.config.load import load_config
from evolve.lineage.queries import campaign_status, open_run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MARKER = "REJECT-THIS-QUERY"
PATCH = ("DIAGNOSIS:\nqueries are too vague\n\nCOMMIT MESSAGE: sharper query instruction\n\n"
         "<<<<<<< SEARCH\n=======\nINSTRUCTION_QUERY = "
         f"\"{MARKER}: name the people and objects asked about.\"\n>>>>>>> REPLACE\n")


class MetaAndTask(TaskReplies):
    """Task prompts as the offline model answers them; every meta-agent prompt gets PATCH."""

    def __call__(self, request: dict):
        last = request["messages"][-1]["content"]
        if "You improve a memory program" in last:
            return PATCH
        return super().__call__(request)


def test_a_child_whose_evaluation_errored_is_not_gate_passed(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    replies = MetaAndTask([("query", MARKER, rejected())])
    with FakeOpenAIServer(responder=replies) as server:
        config = load_config(EXAMPLES / "quickstart.toml", [
            "task.args.size=tiny", "search.iterations=1", "data.val_size=8",
            "search.seeds=bm25", "models.task=fake-chat", "models.reflector=fake-chat",
            f"models.base_url={server.url}", "search.mutation=patch", "models.max_retries=0"])
        outcome = Campaign(config, tmp_path / "run", config_dir=EXAMPLES, progress=False).run()
    assert outcome.finished and replies.fired[0] > 0
    store = open_run(tmp_path / "run")
    try:
        (child,) = store.query_dicts(
            "SELECT p.id, p.gate_status, p.gate_stage, p.gate_message, e.status, e.error, "
            "e.failed_items, e.n_items FROM programs p JOIN evaluations e ON e.program_id = p.id "
            "WHERE p.origin <> 'seed' AND e.split = 'static'")
        events = store.query_dicts("SELECT kind, message, program_id FROM events "
                                   "WHERE kind = 'evaluation_error'")
        pool = {entry.program_id for entry in pool_entries(store, outcome.campaign_id, 10**9)}
        status = campaign_status(store)
        seed_gate = store.query("SELECT gate_status FROM programs WHERE origin = 'seed'")
    finally:
        store.close()
    assert child["status"] == "error" and child["failed_items"] == child["n_items"] == 8
    assert child["error"].startswith("8 of 8 items failed")
    assert child["gate_status"] == "error" and child["gate_stage"] == "evaluation"
    assert child["gate_message"] == child["error"]
    assert [e["program_id"] for e in events] == [child["id"]]
    assert "HTTP 400" in events[0]["message"]
    assert child["id"] not in pool and len(pool) == 1  # only the seed
    assert status["best_program"] != child["id"] and seed_gate == [("passed",)]
    assert status["programs"].get("error") == 1
