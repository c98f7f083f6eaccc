"""A meta-agent whose endpoint fails: proposal_failed events, the campaign goes on, and it
stops after `search.max_failed_proposals` failures in a row with a clear reason."""

from __future__ import annotations

from pathlib import Path

from fakes import FakeOpenAIServer, Fault

from evolve.campaign.loop import Campaign
from evolve.config.load import load_config
from evolve.lineage.queries import open_run
from evolve.llm.offline import OfflineModel

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
REJECTED = Fault("status", status=400, code="context_length_exceeded")


class ReflectorScript:
    """Task prompts as the offline model answers them; reflection prompts from ``script``:
    "reject" (HTTP 400 context_length_exceeded) or "good" (a patch that applies)."""

    def __init__(self, script: list[str]) -> None:
        self.script, self.meta_requests = list(script), 0
        self.offline = OfflineModel()

    def __call__(self, request: dict):
        last = request["messages"][-1]["content"]
        if "You improve a memory program" in last:
            kind = self.script[min(self.meta_requests, len(self.script) - 1)]
            self.meta_requests += 1
            if kind == "reject":
                return REJECTED
            return (f"COMMIT MESSAGE: tag {self.meta_requests}\n\n<<<<<<< SEARCH\n=======\n"
                    f"VARIANT = {self.meta_requests}\n>>>>>>> REPLACE\n")
        json_mode = (request.get("response_format") or {}).get("type") == "json_object"
        return self.offline.complete(request["messages"], json_mode=json_mode).text


def _run(tmp_path: Path, script: list[str], iterations: int, limit: int):
    responder = ReflectorScript(script)
    with FakeOpenAIServer(responder=responder) as server:
        config = load_config(EXAMPLES / "quickstart.toml", [
            "task.args.size=tiny", f"search.iterations={iterations}", "data.val_size=6",
            "search.seeds=bm25", "models.task=fake-chat", "models.reflector=fake-chat",
            f"models.base_url={server.url}", "models.max_retries=0",
            f"search.max_failed_proposals={limit}"])
        outcome = Campaign(config, tmp_path / "run", config_dir=EXAMPLES,
                           progress=False).run()
    store = open_run(tmp_path / "run")
    try:
        events = store.query_dicts("SELECT kind, message, iteration FROM events "
                                   "ORDER BY id")
        children = store.query("SELECT count(*) FROM programs WHERE origin != 'seed'")[0][0]
    finally:
        store.close()
    return outcome, events, children, responder


def test_endpoint_errors_become_proposal_failed_and_the_campaign_goes_on(tmp_path,
                                                                         monkeypatch):
    """Old code: the first rejected reflector call ended the campaign with the error."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    outcome, events, children, _ = _run(tmp_path, ["reject", "good", "reject", "good"],
                                        iterations=4, limit=2)
    assert outcome.finished and outcome.stop_reason.startswith("iterations:")
    failed = [e for e in events if e["kind"] == "proposal_failed"]
    assert [e["iteration"] for e in failed] == [1, 3]
    assert all("RequestRejected" in e["message"] and "context_length_exceeded" in e["message"]
               for e in failed)
    assert children == 2


def test_campaign_stops_after_n_failed_proposals_in_a_row(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    outcome, events, children, responder = _run(tmp_path, ["good", "reject"], iterations=10,
                                                limit=3)
    assert outcome.finished and children == 1
    assert outcome.stop_reason.startswith("max_failed_proposals: 3 proposals in a row failed")
    assert "context_length_exceeded" in outcome.stop_reason
    assert [e["kind"] for e in events].count("proposal_failed") == 3
    assert responder.meta_requests == 4  # one good, three rejected, then no more asking
    stopped = [e for e in events if e["kind"] == "stopped"]
    assert stopped and stopped[0]["message"] == outcome.stop_reason
