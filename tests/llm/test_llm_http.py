"""OpenAI-compatible chat/embedding clients, hub and factory against the local fake server."""

from __future__ import annotations

import json
import socket
import threading
import time

import numpy as np
import pytest
from fakes.openai_server import FakeOpenAIServer, Fault

from evolve.errors import CallFailed, EndpointError, RequestTimedOut, UsageError
from evolve.llm.cache import ResponseCache
from evolve.llm.factory import build_hub, preflight
from evolve.llm.hub import ModelHub
from evolve.llm.openai_chat import (
    EndpointAuthError,
    EndpointUnreachable,
    MalformedReply,
    ModelNotFoundError,
    OpenAIChatModel,
    RetryPolicy,
    parse_chat_reply,
)
from evolve.llm.openai_embed import OpenAIEmbedder
from evolve.llm.pricing import Price, PriceTable

MSG = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello there friend"}]


def fast_retry(max_retries: int = 4, sleeps: list[float] | None = None, seed: int = 7) -> RetryPolicy:
    """Backoff in milliseconds; records the delays instead of only sleeping them."""
    import time

    def sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)
        time.sleep(min(seconds, 0.01))

    return RetryPolicy(max_retries=max_retries, base_delay=0.001, max_delay=0.01, seed=seed, sleep=sleep)


def chat_model(server: FakeOpenAIServer, name: str = "fake-chat", **kw) -> OpenAIChatModel:
    kw.setdefault("retry", fast_retry())
    kw.setdefault("timeout", 2.0)
    return OpenAIChatModel(name, base_url=server.url, api_key="test-key", **kw)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server():
    with FakeOpenAIServer() as srv:
        yield srv


# -- chat model ------------------------------------------------------------------------------
def test_json_mode_request_reaches_server(server):
    completion = chat_model(server).complete(MSG, json_mode=True, temperature=0.3, max_tokens=50)
    sent = server.requests[-1]
    assert sent["path"] == "/chat/completions"
    assert sent["json"]["response_format"] == {"type": "json_object"}
    assert sent["json"]["temperature"] == 0.3 and sent["json"]["max_tokens"] == 50
    assert sent["json"]["messages"] == MSG
    assert sent["headers"]["authorization"] == "Bearer test-key"
    assert json.loads(completion.text) == {"echo": "hello there friend", "model": "fake-chat"}
    assert completion.tokens_in == 5 and completion.tokens_out > 0
    assert completion.latency_s > 0 and completion.cached is False


def test_plain_mode_sends_no_response_format(server):
    completion = chat_model(server).complete(MSG)
    assert "response_format" not in server.requests[-1]["json"]
    assert completion.text == "echo: hello there friend"


def test_scripted_responder_and_env_endpoint(monkeypatch):
    with FakeOpenAIServer(responder=lambda req: '{"patch": "x = 1"}') as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.url)
        monkeypatch.setenv("OPENAI_API_KEY", "from-env")
        model = OpenAIChatModel("fake-chat", retry=fast_retry())
        assert model.base_url == srv.url
        assert json.loads(model.complete(MSG, json_mode=True).text) == {"patch": "x = 1"}
        assert srv.requests[-1]["headers"]["authorization"] == "Bearer from-env"


def test_retry_after_is_honoured_on_429(server):
    sleeps: list[float] = []
    server.inject(Fault.rate_limited(retry_after=0.05), Fault.rate_limited(retry_after=0.02))
    completion = chat_model(server, retry=fast_retry(sleeps=sleeps)).complete(MSG)
    assert completion.text.startswith("echo:")
    assert sleeps == [0.05, 0.02]
    assert server.counts["/chat/completions"] == 3


def test_transient_faults_are_retried_with_seeded_backoff(server):
    faults = [Fault.server_error(500), Fault.server_error(503), Fault.malformed(),
              Fault.wrong_shape(), Fault.truncated_body(), Fault.drop(),
              Fault.rate_limited(retry_after=None)]
    server.inject(*faults)
    sleeps: list[float] = []
    completion = chat_model(server, retry=fast_retry(max_retries=7, sleeps=sleeps)).complete(MSG)
    assert completion.text == "echo: hello there friend"
    assert server.counts["faults"] == 7 and server.pending_faults == 0
    # exponential with jitter in [0.5, 1] x base * 2**n (capped), same sequence for same seed
    for n, delay in enumerate(sleeps):
        cap = min(0.01, 0.001 * 2**n)
        assert 0.5 * cap <= delay <= cap
    again = fast_retry(seed=7)
    assert [again.backoff(n) for n in range(7)] == sleeps


@pytest.mark.parametrize("payload, expected", [
    ({"choices": [{"message": {"content": "hi"}}], "usage": {"prompt_tokens": 5,
                                                             "completion_tokens": 2}},
     ("hi", 5, 2)),
    ({"choices": [{"message": {"content": None}}]}, ("", None, None)),  # e.g. a refusal
    ({"choices": []}, ("", None, None)),
    ({"choices": [{"message": {"content": "x"}}], "usage": {"prompt_tokens": None}},
     ("x", None, None)),
])
def test_chat_reply_reading(payload, expected):
    assert parse_chat_reply(payload) == expected


@pytest.mark.parametrize("payload", [[], "text", {"choices": "x"}, {"choices": [3]},
                                     {"choices": [{"message": {"content": 7}}]}])
def test_chat_reply_that_is_not_a_completion_is_malformed(payload):
    with pytest.raises(MalformedReply):
        parse_chat_reply(payload)


def test_timeout_is_retried_when_sampling(server):
    server.inject(Fault.slow(3.0))
    model = chat_model(server, timeout=0.6)
    completion = model.complete(MSG, temperature=0.7)
    assert completion.text.startswith("echo:") and completion.retried == ("timed out",)
    assert server.counts["/chat/completions"] == 2


def test_greedy_timeout_is_not_retried(server):
    """At temperature 0 the same request would time out again: one attempt, then a clear
    RequestTimedOut (the old code sent a second copy to the still-busy server)."""
    server.inject(Fault.slow(3.0))
    model = chat_model(server, timeout=0.6)
    with pytest.raises(RequestTimedOut, match="not retried at temperature 0") as err:
        model.complete(MSG)
    assert isinstance(err.value, CallFailed) and "\n" not in str(err.value)
    assert server.counts["/chat/completions"] == 1


def test_retries_exhausted_gives_one_line_endpoint_error():
    with FakeOpenAIServer(fault_rate=1.0, fault_kinds=[Fault.server_error(502)]) as srv:
        with pytest.raises(EndpointUnreachable) as err:
            chat_model(srv, retry=fast_retry(max_retries=2)).complete(MSG)
        assert srv.counts["/chat/completions"] == 3
    message = str(err.value)
    assert "\n" not in message
    assert srv.url in message and "after 3 attempts" in message and "HTTP 502" in message


def test_unreachable_endpoint_gives_one_line_endpoint_error():
    url = f"http://127.0.0.1:{free_port()}/v1"
    model = OpenAIChatModel("fake-chat", base_url=url, api_key="k", retry=fast_retry(max_retries=1))
    with pytest.raises(EndpointError) as err:
        model.complete(MSG)
    assert "\n" not in str(err.value)
    assert str(err.value).startswith(f"endpoint {url} unreachable for model 'fake-chat'")


def test_auth_failure_is_not_retried():
    with FakeOpenAIServer(api_key="right-key") as srv:
        model = OpenAIChatModel("fake-chat", base_url=srv.url, api_key="wrong", retry=fast_retry())
        with pytest.raises(EndpointAuthError) as err:
            model.complete(MSG)
        assert srv.counts["/chat/completions"] == 1
    assert "\n" not in str(err.value) and "HTTP 401" in str(err.value)
    assert "Incorrect API key" in str(err.value)


def test_quota_exhausted_is_not_retried(server):
    server.inject(Fault("status", status=429, code="insufficient_quota"))
    with pytest.raises(EndpointAuthError, match="quota exhausted"):
        chat_model(server).complete(MSG)
    assert server.counts["/chat/completions"] == 1


def test_unknown_model_is_one_clear_line(server):
    with pytest.raises(ModelNotFoundError) as err:
        chat_model(server, name="gpt-nope").complete(MSG)
    assert str(err.value) == f"model 'gpt-nope' not found at {server.url}"
    assert server.counts["/chat/completions"] == 1


def test_length_finish_returns_truncated_text(server):
    server.inject(Fault.length(keep_chars=4))
    assert chat_model(server).complete(MSG).text == "echo"


def test_concurrency_limit_per_model():
    with FakeOpenAIServer(latency_s=0.08) as srv:
        model = chat_model(srv, concurrency=3)
        threads = [threading.Thread(target=model.complete, args=(MSG,)) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert srv.counts["/chat/completions"] == 12
        assert 2 <= srv.max_in_flight <= 3


def test_requests_in_flight_together_are_spread_over_several_clients():
    with FakeOpenAIServer(latency_s=1.0) as srv:
        model = chat_model(srv, concurrency=64, max_clients=3)
        for _ in range(3):
            assert model.complete(MSG).text.startswith("echo")
        assert len(model._clients) == 1  # one request at a time: one client, one pool
        # Requests join one after another (each has its client before the next starts), as
        # a ramp of evaluations does; at once, later ones could all pile onto the clients
        # that exist while a new one is being built, and how far the ring grew would depend
        # on thread timing. The 1 s latency keeps every request in flight during the ramp.
        threads = []
        for started in range(1, 41):
            threads.append(threading.Thread(target=model.complete, args=(MSG,)))
            threads[-1].start()
            # generous: building an HTTP client took over 10 s on a 2-core machine at load 12
            deadline = time.monotonic() + 60
            while sum(model._clients._in_flight) < started:
                assert time.monotonic() < deadline, "a request never got its client"
                time.sleep(0.001)
        for thread in threads:
            thread.join()
        assert srv.counts["/chat/completions"] == 43
        assert srv.max_in_flight >= 20  # the ring does not hold requests back
        assert len(model._clients) == 3  # grew past 8 in flight per client, up to the cap


# -- hub ---------------------------------------------------------------------------------------
def run_threads(fn, n: int) -> list:
    results: list = [None] * n

    def work(i: int) -> None:
        results[i] = fn(i)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_hub_concurrency_bound_across_roles():
    with FakeOpenAIServer(latency_s=0.08) as srv:
        model = chat_model(srv, concurrency=16)
        hub = ModelHub({"task": model, "judge": model}, concurrency=2)
        roles = ["task", "judge"]
        run_threads(lambda i: hub.chat(roles[i % 2], [{"role": "user", "content": f"q{i}"}]), 8)
        assert srv.max_in_flight == 2
        assert len(hub.calls) == 8


def test_cache_hit_on_second_identical_call(server, tmp_path):
    model = chat_model(server)
    hub = ModelHub({"task": model}, cache=ResponseCache(tmp_path / "cache.sqlite"),
                   prices=PriceTable({"fake-chat": Price(1.0, 2.0)}))
    first = hub.chat("task", MSG, json_mode=True)
    second = hub.chat("task", MSG, json_mode=True)
    assert server.counts["/chat/completions"] == 1
    assert (first.cached, second.cached) == (False, True)
    assert second.text == first.text and second.tokens_in == first.tokens_in
    paid, hit = hub.calls
    assert paid.cost_usd > 0 and hit.cost_usd == 0.0 and hit.cached
    # a different request (JSON mode off) is a different key
    hub.chat("task", MSG)
    assert server.counts["/chat/completions"] == 2
    # a fresh hub on the same file (a new run) still does not pay again
    hub2 = ModelHub({"task": chat_model(server)}, cache=ResponseCache(tmp_path / "cache.sqlite"))
    assert hub2.chat("task", MSG, json_mode=True).cached
    assert server.counts["/chat/completions"] == 2


def test_identical_concurrent_requests_are_paid_once(tmp_path):
    with FakeOpenAIServer(latency_s=0.05) as srv:
        hub = ModelHub({"task": chat_model(srv)}, cache=ResponseCache(None), concurrency=8)
        results = run_threads(lambda i: hub.chat("task", MSG), 6)
        assert srv.counts["/chat/completions"] == 1
        assert sorted(r.cached for r in results) == [False] + [True] * 5


def test_hub_logs_records_per_role(server):
    prices = PriceTable({"fake-chat": Price(1.0, 2.0)})  # fake-chat-2 inherits it (prefix)
    hub = ModelHub({"task": chat_model(server), "reflector": chat_model(server, name="fake-embed")},
                   prices=prices)
    hub.chat("task", MSG)
    hub.chat("judge", MSG)  # no judge model: falls back to the task model
    hub.chat("reflector", MSG, json_mode=True)
    records = hub.calls
    assert [(r.role, r.model, r.kind) for r in records] == [
        ("task", "fake-chat", "chat"), ("judge", "fake-chat", "chat"),
        ("reflector", "fake-embed", "chat"),
    ]
    assert all(r.tokens_in == 5 and r.tokens_out > 0 and r.latency_s > 0 for r in records)
    assert all(r.error is None and not r.cached for r in records)
    assert records[0].cost_usd == pytest.approx((5 * 1.0 + records[0].tokens_out * 2.0) / 1e6)
    spend = hub.spend_by_role()
    assert spend["task"]["calls"] == 1 and spend["task"]["tokens_in"] == 5
    assert spend["reflector"]["usd"] == 0.0
    assert hub.unpriced_models == {"fake-embed"}
    assert hub.describe()["reflector"] == "fake-embed"
    assert prices.cost("fake-chat-2", 10, 0) == (pytest.approx(1e-5), True)


def test_hub_logs_errors_then_reraises(server):
    hub = ModelHub({"task": chat_model(server, name="gpt-nope")})
    with pytest.raises(ModelNotFoundError):
        hub.chat("task", MSG)
    (record,) = hub.calls
    assert record.error and "not found" in record.error and record.tokens_in == 0
    assert hub.spend_by_role()["task"]["errors"] == 1


def test_drain_returns_each_record_once(server):
    hub = ModelHub({"task": chat_model(server)})
    hub.chat("task", MSG)
    assert len(hub.drain()) == 1
    assert hub.drain() == []
    hub.chat("task", [{"role": "user", "content": "other"}])
    hub.chat("task", [{"role": "user", "content": "third"}])
    assert len(hub.drain()) == 2 and hub.calls == []  # drained records leave the hub


def test_role_model_view_routes_through_hub(server):
    hub = ModelHub({"task": chat_model(server)})
    view = hub.role_model("toolkit")
    assert view.complete(MSG).text.startswith("echo:")
    assert hub.calls[0].role == "toolkit"


# -- embeddings ----------------------------------------------------------------------------------
def test_openai_embedder_batches_normalises_and_caches(server):
    cache = ResponseCache(None)
    emb = OpenAIEmbedder("fake-embed", base_url=server.url, api_key="k", batch_size=3,
                         retry=fast_retry(), cache=cache)
    texts = [f"text number {i}" for i in range(7)]
    vectors = emb.embed(texts)
    assert vectors.shape == (7, 16) and vectors.dtype == np.float32 and emb.dim == 16
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert server.counts["/embeddings"] == 3  # 3 + 3 + 1
    again = emb.embed(texts[::-1])
    assert server.counts["/embeddings"] == 3
    assert np.allclose(again, vectors[::-1])
    assert emb.embed([]).shape == (0, 16)


def test_embedder_retries_and_hub_records(server, tmp_path):
    emb = OpenAIEmbedder("fake-embed", base_url=server.url, api_key="k", retry=fast_retry())
    hub = ModelHub({"task": chat_model(server)}, emb, cache=ResponseCache(tmp_path / "c.sqlite"))
    server.inject(Fault.server_error(503))
    first = hub.embed(["alpha beta", "gamma"], role="toolkit")
    second = hub.embed(["gamma", "alpha beta"])
    assert server.counts["/embeddings"] == 2  # one failure + one success, then all cached
    assert np.allclose(second, first[::-1])
    paid, cached = hub.calls
    assert (paid.role, paid.kind, paid.cached, paid.tokens_in) == ("toolkit", "embed", False, 3)
    assert (cached.role, cached.cached, cached.tokens_in, cached.cost_usd) == ("embedder", True, 0, 0.0)


# -- factory and preflight ------------------------------------------------------------------------
def test_build_hub_remote_models_share_an_endpoint_limiter(server, tmp_path):
    hub = build_hub("fake-chat", base_url=server.url, api_key="k", embedder="hashing",
                    concurrency=3, cache_path=tmp_path / "c.sqlite",
                    role_models={"reflector": "fake-chat-2"})
    task, reflector = hub.model_for("task"), hub.model_for("reflector")
    assert isinstance(task, OpenAIChatModel) and reflector.name == "fake-chat-2"
    assert hub.model_for("judge") is task and task.limiter is reflector.limiter
    assert hub.describe() == {"task": "fake-chat", "toolkit": "fake-chat", "judge": "fake-chat",
                              "reflector": "fake-chat-2", "embedder": "hashing"}
    preflight(hub)  # both models exist
    assert server.counts["/models/fake-chat"] == 1 and server.counts["/models/fake-chat-2"] == 1
    assert hub.chat("task", MSG).text.startswith("echo:")


def test_preflight_unknown_model_and_unreachable_endpoint(server, tmp_path):
    hub = build_hub("gpt-nope", base_url=server.url, api_key="k", embedder="hashing",
                    cache_path="off")
    with pytest.raises(UsageError, match=rf"^model 'gpt-nope' not found at {server.url}$"):
        preflight(hub)
    url = f"http://127.0.0.1:{free_port()}/v1"
    dead = build_hub("fake-chat", base_url=url, api_key="k", embedder="hashing", cache_path="off")
    with pytest.raises(UsageError, match="unreachable") as err:
        preflight(dead)
    assert "\n" not in str(err.value)


def test_preflight_checks_a_remote_embedder(server):
    hub = build_hub("fake-chat", base_url=server.url, api_key="k",
                    embedder="openai:missing-embed", cache_path="off")
    with pytest.raises(UsageError, match="model 'missing-embed' not found"):
        preflight(hub)


def test_remote_model_needs_key_or_base_url(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(UsageError, match=r"^model 'gpt-x' needs OPENAI_API_KEY or --base-url$"):
        build_hub("gpt-x", embedder="hashing", cache_path="off")
    with pytest.raises(UsageError, match="unknown model role"):
        build_hub("offline", role_models={"planner": "x"})


def test_build_hub_offline_needs_nothing(monkeypatch):
    pytest.importorskip("evolve.llm.offline")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    hub = build_hub("offline", embedder="hashing")
    assert {hub.model_for(r).name for r in ("task", "toolkit", "judge", "reflector")} == {"offline"}
    preflight(hub)  # nothing remote: no request, no error
    hub.chat("task", MSG)
    hub.chat("task", MSG)
    assert [r.cached for r in hub.calls] == [False, False]  # the offline model is not cached
    assert hub.calls[0].cost_usd == 0.0 and not hub.unpriced_models
