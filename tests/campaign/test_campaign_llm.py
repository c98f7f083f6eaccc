"""Campaigns with an LLM meta-agent over real HTTP against a local fake OpenAI server."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

from fakes import FakeOpenAIServer, Fault

from evolve.campaign.loop import Campaign
from evolve.config.load import load_config
from evolve.lineage.queries import campaign_status, open_run
from evolve.llm.offline import OfflineModel

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FENCE = re.compile(r"```python\n(.*?)```", re.DOTALL)


class ScriptedLLM:
    """Answers task prompts like the offline model and meta prompts from a script."""

    def __init__(self, script: list[str]) -> None:
        self.script = list(script)
        self.meta_requests = 0
        self.last_kind = ""
        self.offline = OfflineModel()

    def __call__(self, request: dict) -> str:
        messages = request["messages"]
        last = messages[-1]["content"]
        first_user = next(m["content"] for m in messages if m["role"] == "user")
        if "A memory program you wrote was rejected" in last:
            program = FENCE.search(last).group(1)
            fixed = "\n".join(line for line in program.splitlines() if "def broken(" not in line)
            return f"COMMIT MESSAGE: remove the broken line\nPROGRAM:\n```python\n{fixed}\n```"
        if last.startswith("Your answer could not be used"):
            if self.last_kind == "garbage":
                return "Still not sure."
            program = FENCE.search(first_user).group(1)
            return ("COMMIT MESSAGE: full rewrite with a note\nPROGRAM:\n```python\n"
                    f"{program}\nREWRITTEN_AFTER_FAILED_PATCH = True\n```")
        if "You improve a memory program" in last:
            kind = self.script[self.meta_requests % len(self.script)]
            self.meta_requests += 1
            self.last_kind = kind
            return self.reply(kind, FENCE.search(last).group(1))
        json_mode = (request.get("response_format") or {}).get("type") == "json_object"
        return self.offline.complete(messages, json_mode=json_mode).text

    def reply(self, kind: str, program: str) -> str:
        n = self.meta_requests
        if kind == "good":
            return (f"DIAGNOSIS:\nnothing wrong\n\nCOMMIT MESSAGE: tag variant {n}\n\n"
                    f"<<<<<<< SEARCH\n=======\nVARIANT = {n}\n>>>>>>> REPLACE\n")
        if kind == "bad_search":
            return ("COMMIT MESSAGE: edit a line that does not exist\n\n<<<<<<< SEARCH\n"
                    "this line is not in the program\n=======\nx = 1\n>>>>>>> REPLACE\n")
        if kind == "syntax":
            return ("COMMIT MESSAGE: add a helper\n\n<<<<<<< SEARCH\n=======\n"
                    f"def broken(:\n    pass\nVARIANT = {n}\n>>>>>>> REPLACE\n")
        if kind == "truncated":
            cut = program[: len(program) // 2]
            return f"COMMIT MESSAGE: rewrite\nPROGRAM:\n```python\n{cut}"
        return "I am not sure what to do here."


def _config(tmp_path: Path, server: FakeOpenAIServer, iterations: int, **extra: str):
    overrides = [
        "task.args.size=tiny", f"search.iterations={iterations}", "data.val_size=8",
        "search.seeds=vector_search,no_memory", "models.task=fake-chat",
        "models.reflector=fake-chat", f"models.base_url={server.url}", "search.mutation=auto",
        "models.timeout_s=1.0", "models.max_retries=8",
    ] + [f"{k}={v}" for k, v in extra.items()]
    return load_config(EXAMPLES / "quickstart.toml", overrides)


def test_llm_meta_agent_campaign_over_http(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    script = ScriptedLLM(["bad_search", "syntax", "good", "garbage", "truncated"])
    with FakeOpenAIServer(responder=script) as server:
        config = _config(tmp_path, server, iterations=5)
        outcome = Campaign(config, tmp_path / "run", config_dir=EXAMPLES, progress=False).run()
        assert outcome.finished and outcome.best_program
    store = open_run(tmp_path / "run")
    try:
        programs = store.query_dicts("SELECT id, origin, mutator, gate_status, gate_stage, "
                                     "iteration FROM programs ORDER BY iteration, created_at")
        events = [r[0] for r in store.query("SELECT kind FROM events")]
        roles = dict(store.query("SELECT role, count(*) FROM llm_calls GROUP BY role"))
        status = campaign_status(store)
    finally:
        store.close()
    mutators = {p["mutator"] for p in programs}
    assert "llm-full" in mutators        # the broken patch fell back to a full program
    assert "llm-patch" in mutators       # a good patch applied
    assert "llm-fix" in mutators         # the syntax error went through a fix round
    parse_failures = [p for p in programs if p["gate_stage"] == "parse"]
    assert parse_failures                # the syntax error (a truncated reply gets a follow-up)
    assert "gate_failed" in events and "proposal_failed" in events
    assert roles.get("reflector", 0) >= 5 and roles.get("task", 0) > 0
    assert status["finished"] and status["iterations_done"] == 5
    assert status["spend"]["reflector"]["calls"] >= 5


def test_campaign_survives_a_flaky_endpoint(tmp_path, monkeypatch):
    """20% of requests fail (429, 500, malformed and truncated bodies). Timeouts are left out:
    at temperature 0 they are not retried (test_llamacpp_behaviour.py covers that)."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    script = ScriptedLLM(["good", "truncated", "good"])
    faults = [Fault.rate_limited(0.01), Fault.server_error(500), Fault.malformed(),
              Fault.truncated_body()]
    with FakeOpenAIServer(responder=script, fault_rate=0.2, fault_kinds=faults, seed=3) as server:
        config = _config(tmp_path, server, iterations=3, **{"models.concurrency": "4"})
        outcome = Campaign(config, tmp_path / "run", config_dir=EXAMPLES, progress=False).run()
        injected = server.counts["faults"]
    assert outcome.finished and injected > 10
    store = open_run(tmp_path / "run")
    try:
        retries, failed = store.query(
            "SELECT coalesce(sum(retries), 0), count(*) FILTER (WHERE error IS NOT NULL) "
            "FROM llm_calls")[0]
        broken = store.query("SELECT count(*) FROM evaluations WHERE status = 'error'")[0][0]
        missing = store.query(
            "SELECT count(*) FROM programs p WHERE gate_status = 'passed' AND NOT EXISTS "
            "(SELECT 1 FROM evaluations e WHERE e.program_id = p.id AND e.split = 'static')")[0][0]
        items = store.query("SELECT sum(n_items) = (SELECT count(*) FROM item_results) "
                            "FROM evaluations")[0][0]
    finally:
        store.close()
    # every injected fault was retried by the client and logged with its call
    assert retries == injected and failed == 0 and broken == 0
    assert missing == 0 and items


def test_prompts_reach_the_server_in_json_mode(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    script = ScriptedLLM(["good"])
    with FakeOpenAIServer(responder=script) as server:
        config = _config(tmp_path, server, iterations=1)
        Campaign(config, tmp_path / "run", config_dir=EXAMPLES, progress=False).run()
        chats = [r["json"] for r in server.requests if r["path"].endswith("/chat/completions")]
    json_mode = [c for c in chats if (c.get("response_format") or {}).get("type") == "json_object"]
    assert json_mode and any("<schema" in c["messages"][-1]["content"] for c in json_mode)
    meta = [c for c in chats if "You improve a memory program" in c["messages"][-1]["content"]]
    assert len(meta) == 1
    prompt = meta[0]["messages"][-1]["content"]
    for section in ("Lineage", "<retrieved_memory>" if False else "retrieved", "COMMIT MESSAGE"):
        assert section.lower() in prompt.lower(), section
    assert json.dumps(prompt)  # plain text, serialisable


class SlowMetaLLM(ScriptedLLM):
    """Always a good patch, each meta reply after ``delay`` s; counts meta requests in flight."""

    def __init__(self, delay: float) -> None:
        super().__init__(["good"])
        self.delay = delay
        self.in_flight = self.peak = self.served = 0
        self.lock = threading.Lock()

    def __call__(self, request: dict) -> str:
        if "You improve a memory program" not in request["messages"][-1]["content"]:
            return super().__call__(request)
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            self.served += 1
            n = self.served
        time.sleep(self.delay)
        with self.lock:
            self.in_flight -= 1
        return (f"COMMIT MESSAGE: tag variant {n}\n\n"
                f"<<<<<<< SEARCH\n=======\nVARIANT_{n} = {n}\n>>>>>>> REPLACE\n")


def test_proposals_of_a_round_run_at_once_and_every_call_is_persisted(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    script = SlowMetaLLM(delay=0.4)
    with FakeOpenAIServer(responder=script) as server:
        config = _config(tmp_path, server, iterations=2, **{"parallel.batch_size": "3",
                                                             "search.mutation": "patch"})
        outcome = Campaign(config, tmp_path / "run", config_dir=EXAMPLES, progress=False).run()
    assert outcome.finished
    assert script.peak == 3  # the three proposals of a round were in flight together
    store = open_run(tmp_path / "run")
    try:
        reflector_calls = store.query(
            "SELECT count(*) FROM llm_calls WHERE role = 'reflector'")[0][0]
        children = store.query("SELECT count(*) FROM programs WHERE origin != 'seed'")[0][0]
    finally:
        store.close()
    assert script.served == 6 and reflector_calls == 6  # each meta call stored exactly once
    assert children == 6
