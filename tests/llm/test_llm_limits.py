"""Per-role generation limits, truncation records, context-window checks and cache identity,
against the fake server in its llama.cpp mode (any model name, runaway generations)."""

from __future__ import annotations

import json
import sqlite3

import pytest
from fakes.llamacpp import LlamaCpp
from fakes.openai_server import FakeOpenAIServer

from evolve.config.load import config_to_dict
from evolve.config.sections import ModelsSection
from evolve.errors import CallFailed, PromptTooLong, UsageError
from evolve.evaluation.evaluate import EvalSettings, evaluate_program
from evolve.llm.cache import ResponseCache, chat_key
from evolve.llm.factory import build_hub
from evolve.llm.hub import ModelHub
from evolve.llm.hub_setup import hub_from_models
from evolve.llm.limits import DEFAULT_MAX_TOKENS, RoleLimits, estimate_tokens
from evolve.llm.openai_chat import OpenAIChatModel, RetryPolicy
from evolve.seeds import seed_source
from evolve.tasks.registry import make_task

MSG = [{"role": "user", "content": "hello there friend"}]


def chats(server: FakeOpenAIServer) -> list[dict]:
    return [r["json"] for r in server.requests if r["path"] == "/chat/completions"]


def remote_hub(server: FakeOpenAIServer, **kw) -> ModelHub:
    kw.setdefault("cache_path", "off")
    kw.setdefault("retry", RetryPolicy(max_retries=0))
    return build_hub(model="local", base_url=server.url, api_key="k", **kw)


@pytest.fixture
def llama():
    with FakeOpenAIServer(llamacpp=LlamaCpp(n_ctx=2048)) as server:
        yield server


# -- max_tokens per role ---------------------------------------------------------------------
def test_every_role_sends_its_default_cap(llama):
    """The old hub sent no max_tokens at all, so a local server generated to its window."""
    hub = remote_hub(llama)
    for role in ("task", "toolkit", "judge", "reflector"):
        hub.chat(role, [{"role": "user", "content": f"as {role}"}])
    sent = {r["messages"][0]["content"]: r.get("max_tokens") for r in chats(llama)}
    assert sent == {f"as {role}": cap for role, cap in DEFAULT_MAX_TOKENS.items()}


def test_campaign_config_caps_and_extra_body_reach_the_server(llama):
    models = config_to_dict_models(max_tokens={"task": 64, "judge": 32},
                                   extra_body={"task": {"top_k": 40}})
    hub = hub_from_models(ModelsSection(**{**models, "task": "local", "base_url": llama.url}),
                          "off")
    hub.chat("task", MSG)
    hub.chat("judge", MSG)
    hub.chat("toolkit", MSG, max_tokens=10_000)  # a program may ask; the cap still holds
    hub.chat("toolkit", MSG, max_tokens=7)       # ... and it may ask for less
    task, judge, toolkit_big, toolkit_small = chats(llama)
    assert (task["max_tokens"], task["top_k"]) == (64, 40)
    assert judge["max_tokens"] == 32 and "top_k" not in judge
    assert toolkit_big["max_tokens"] == 512 and toolkit_small["max_tokens"] == 7


def config_to_dict_models(**fields) -> dict:
    from evolve.config.sections import CampaignConfig

    return config_to_dict(CampaignConfig(models=ModelsSection(**fields)))["models"]


def test_partial_max_tokens_table_keeps_other_defaults():
    section = ModelsSection(max_tokens={"task": 100})
    assert section.max_tokens == {**DEFAULT_MAX_TOKENS, "task": 100}


def test_task_agent_never_sends_a_request_without_max_tokens(llama):
    """A whole evaluation of a seed: every chat request carries a cap (old code: none)."""
    hub = remote_hub(llama)
    task = make_task("dialog-synth", {"size": "tiny"})
    result = evaluate_program(seed_source("bm25"), task, hub,
                              EvalSettings(max_items=2, concurrency=2))
    sent = chats(llama)
    assert sent and all(isinstance(r.get("max_tokens"), int) for r in sent)
    assert {r["max_tokens"] for r in sent} == {512}
    # the runaway server fills every reply to its cap: each one is recorded as cut
    assert result.truncated_calls == result.llm_calls > 0
    summary = result.summary()
    assert summary["truncated_calls"] == result.llm_calls
    assert {"cached_calls", "failed_calls", "retries"} <= set(summary)


# -- truncation -------------------------------------------------------------------------------
def test_length_finish_is_recorded_as_truncated(tmp_path):
    with FakeOpenAIServer(llamacpp=LlamaCpp()) as server:
        hub = remote_hub(server, cache_path=str(tmp_path / "c.sqlite"))
        first = hub.chat("judge", MSG)
        assert first.truncated and first.tokens_out == 256
        again = hub.chat("judge", MSG)  # from the cache: still known to be cut
        assert again.cached and again.truncated
        assert [r.truncated for r in hub.calls] == [True, True]
    with FakeOpenAIServer(llamacpp=LlamaCpp(runaway=False)) as server:
        done = remote_hub(server).chat("judge", MSG)
        assert not done.truncated and done.text.startswith("echo:")


# -- context window ---------------------------------------------------------------------------
def test_prompt_too_long_is_never_sent(llama):
    hub = remote_hub(llama, limits=RoleLimits(context_window=1000))
    long_text = "word " * 700  # ~1170 estimated tokens: over the window by itself
    with pytest.raises(PromptTooLong) as err:
        hub.chat("task", [{"role": "user", "content": long_text}])
    assert isinstance(err.value, CallFailed) and "not sent" in str(err.value)
    assert chats(llama) == []
    (record,) = hub.calls
    assert record.error and record.error.startswith("PromptTooLong")
    # a prompt that fits with its cap goes through
    hub.chat("task", [{"role": "user", "content": "short"}], max_tokens=64)
    assert len(chats(llama)) == 1


def test_prompt_plus_cap_over_the_window_is_refused(llama):
    """llama.cpp would silently cut the reply; we refuse before sending instead."""
    hub = remote_hub(llama, limits=RoleLimits(context_window=1000))
    prompt = [{"role": "user", "content": "x" * 1800}]  # 624 estimated tokens
    assert estimate_tokens(prompt) + 512 > 1000 > estimate_tokens(prompt) + 256
    with pytest.raises(PromptTooLong):
        hub.chat("task", prompt)            # 512 does not fit
    hub.chat("judge", prompt)               # 256 does
    assert len(chats(llama)) == 1


def test_window_reported_by_the_server_is_used():
    """vLLM lists max_model_len; llama-server reports n_ctx in /props; llama-cpp-python
    reports neither (and /props is a 404)."""
    for options, window in ((dict(report_max_model_len=True), 1500), (dict(props=True), 1500),
                            ({}, 0)):
        with FakeOpenAIServer(llamacpp=LlamaCpp(n_ctx=1500, **options)) as server:
            model = OpenAIChatModel("local", base_url=server.url, api_key="k",
                                    retry=RetryPolicy(max_retries=0))
            assert model.context_window == window
            hub = ModelHub({"task": model})
            assert hub.prompt_budget("reflector") == (window - 4096 if window else None)
            if window:
                with pytest.raises(PromptTooLong):
                    hub.chat("task", [{"role": "user", "content": "y" * 4000}])
            else:  # unknown window: sent, and the server's own 400 is a clean rejection
                with pytest.raises(CallFailed, match="context_length_exceeded"):
                    hub.chat("task", [{"role": "user", "content": "y" * 6000}])


def test_exact_count_rescues_a_prompt_the_estimate_refuses():
    """The estimate errs high; where llama.cpp can count (/extras/tokenize/count), a prompt
    that really fits is sent."""
    prompt = [{"role": "user", "content": "z" * 2700}]  # estimate 924, server count ~675
    with FakeOpenAIServer(llamacpp=LlamaCpp(n_ctx=1300, tokenize_count=True)) as server:
        hub = remote_hub(server, limits=RoleLimits(context_window=1300))
        hub.chat("task", prompt, max_tokens=500)
        assert len(chats(server)) == 1 and server.counts["/extras/tokenize/count"] == 1
    with FakeOpenAIServer(llamacpp=LlamaCpp(n_ctx=1300)) as server:  # no count route
        hub = remote_hub(server, limits=RoleLimits(context_window=1300))
        with pytest.raises(PromptTooLong):
            hub.chat("task", prompt, max_tokens=500)
        assert chats(server) == []


# -- cache identity ---------------------------------------------------------------------------
def test_two_endpoints_with_the_same_model_name_never_share_entries(tmp_path):
    """Old key: model name + request only, so the second server's hub replayed the first's
    answer."""
    cache = str(tmp_path / "shared.sqlite")
    with FakeOpenAIServer(llamacpp=LlamaCpp(runaway=False),
                          responder=lambda r: "from server A") as a, \
            FakeOpenAIServer(llamacpp=LlamaCpp(runaway=False),
                             responder=lambda r: "from server B") as b:
        first = remote_hub(a, cache_path=cache).chat("task", MSG)
        second = remote_hub(b, cache_path=cache).chat("task", MSG)
        assert (first.text, second.text) == ("from server A", "from server B")
        assert not second.cached
        assert remote_hub(a, cache_path=cache).chat("task", MSG).cached  # same endpoint hits


def test_revision_and_extra_body_are_part_of_the_key():
    base = chat_key("local", MSG, endpoint="http://h/v1")
    assert base != chat_key("local", MSG, endpoint="http://other/v1")
    assert base != chat_key("local", MSG, endpoint="http://h/v1", revision="q4_1-2024")
    assert base != chat_key("local", MSG, endpoint="http://h/v1", extra_body={"top_k": 40})
    assert base == chat_key("local", MSG, endpoint="http://h/v1/")


def test_schema_1_file_reads_as_misses_not_errors(tmp_path):
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE chat (key TEXT PRIMARY KEY, model TEXT NOT NULL, text TEXT NOT NULL,
            tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL, created REAL NOT NULL);
        CREATE TABLE embed (key TEXT PRIMARY KEY, model TEXT NOT NULL, dim INTEGER NOT NULL,
            vec BLOB NOT NULL);
        CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
        INSERT INTO meta VALUES ('schema_version', '1');
    """)
    old_key = json.dumps("whatever")
    conn.execute("INSERT INTO chat VALUES (?, 'local', 'stale', 1, 1, 0)", (old_key,))
    conn.commit()
    conn.close()
    cache = ResponseCache(path)
    assert cache.get_chat(chat_key("local", MSG, endpoint="http://h/v1")) is None
    cache.put_chat("k2", "local", "fresh", 2, 3, truncated=True)
    hit = cache.get_chat("k2")
    assert hit is not None and hit.truncated and hit.text == "fresh"
    cache.close()


def test_eval_flags_reach_the_requests(capsys, monkeypatch, tmp_path):
    from evolve.cli import main

    monkeypatch.setenv("OPENAI_API_KEY", "k")
    with FakeOpenAIServer(llamacpp=LlamaCpp(runaway=False)) as server:
        code = main(["eval", "bm25", "--task", "dialog-synth", "--task-arg", "size=tiny",
                     "--limit", "2", "--model", "anything", "--base-url", server.url,
                     "--cache", str(tmp_path / "c.sqlite"), "--max-tokens", "48",
                     "--timeout", "30", "--max-retries", "1", "--context-window", "2048",
                     "--model-revision", "r1", "--json"])
        out = capsys.readouterr().out
        assert code == 0
        # every request but the preflight's 1-token ping carries the task cap
        assert {r["max_tokens"] for r in chats(server)} == {1, 48}
        assert [r["messages"][0]["content"] for r in chats(server)
                if r["max_tokens"] == 1] == ["ping"]
        first = json.loads(out)
        assert first["cached_calls"] == 0 and first["failed_calls"] == 0
        # the fake echoes ~200 characters (~52 tokens): each reply is cut at 48
        assert first["retries"] == 0 and first["truncated_calls"] == first["llm_calls"] > 0
        served = len(chats(server))
        main(["eval", "bm25", "--task", "dialog-synth", "--task-arg", "size=tiny", "--limit",
              "2", "--model", "anything", "--base-url", server.url, "--cache",
              str(tmp_path / "c.sqlite"), "--max-tokens", "48", "--model-revision", "r1",
              "--json"])
        again = json.loads(capsys.readouterr().out)
        # only the preflight ping reached the server again; every call came from the cache
        assert len(chats(server)) == served + 1
        assert again["cached_calls"] == again["llm_calls"] > 0


@pytest.mark.parametrize("flag, value", [("--max-tokens", "0"), ("--timeout", "0"),
                                         ("--max-retries", "-1"), ("--context-window", "-5")])
def test_bad_request_flags_are_one_line_exit_2(flag, value, capsys):
    from evolve.cli import main

    code = main(["eval", "bm25", "--task", "dialog-synth", "--task-arg", "size=tiny", flag,
                 value])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and flag in err


def test_bad_limits_in_a_config_are_one_line(tmp_path):
    from evolve.config.load import load_config

    path = tmp_path / "c.toml"
    path.write_text("[models.max_tokens]\nanswerer = 5\n")
    with pytest.raises(UsageError, match="models.max_tokens: unknown role 'answerer'"):
        load_config(path)
    path.write_text("[models.extra_body.task]\nmax_tokens = 5\n")
    with pytest.raises(UsageError, match="max_tokens cannot be set here"):
        load_config(path)


def test_truncated_calls_are_persisted_in_the_lineage_database(tmp_path):
    import duckdb

    from evolve.lineage import LineageStore
    from evolve.lineage.schema import DDL
    from evolve.llm.base import CallRecord

    old = tmp_path / "old.duckdb"  # a schema-2 file: written before the column existed
    conn = duckdb.connect(str(old))
    conn.execute(DDL)
    conn.execute("ALTER TABLE llm_calls DROP COLUMN truncated")
    conn.execute("INSERT INTO schema_version (version) VALUES (1), (2)")
    conn.execute("INSERT INTO llm_calls (campaign_id, role) VALUES ('c', 'task')")
    conn.close()
    store = LineageStore(old)
    try:
        records = [CallRecord("task", "local", "chat", 10, 512, 0.0, 1.0, False, truncated=True),
                   CallRecord("judge", "local", "chat", 10, 5, 0.0, 1.0, False)]
        store.add_calls("c", records)
        rows = store.query("SELECT role, truncated FROM llm_calls ORDER BY id")
    finally:
        store.close()
    assert rows == [("task", False), ("task", True), ("judge", False)]
