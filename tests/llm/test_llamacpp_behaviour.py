"""Transport against a server that behaves like llama.cpp: one slot, runaway generations,
work that goes on for a dropped client; timeouts per attempt, retries that do not pile up,
Retry-After, clean 4xx rejections, and Ctrl-C during `evolve eval`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fakes.faults import Fault
from fakes.llamacpp import LlamaCpp, fields_responder
from fakes.openai_server import FakeOpenAIServer

from evolve.errors import CallFailed, RequestRejected, RequestTimedOut
from evolve.llm.cancel import CallCancelled, interrupt_all, reset_interrupt
from evolve.llm.hub import ModelHub
from evolve.llm.openai_chat import OpenAIChatModel, RetryPolicy

MSG = [{"role": "user", "content": "hello"}]
ROOT = Path(__file__).resolve().parents[2]


def model(server: FakeOpenAIServer, name: str = "whatever-you-like", **kw) -> OpenAIChatModel:
    kw.setdefault("retry", RetryPolicy(max_retries=4, base_delay=0.01, max_delay=0.05))
    return OpenAIChatModel(name, base_url=server.url, api_key="k", **kw)


def get(server: FakeOpenAIServer, path: str) -> int:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


# -- the fake's llama.cpp behaviours ----------------------------------------------------------
def test_fake_answers_any_model_name_and_404s_like_llama_cpp_python():
    with FakeOpenAIServer(llamacpp=LlamaCpp(runaway=False)) as server:
        assert model(server, "no-such-model").complete(MSG).text.startswith("echo:")
        assert get(server, "/v1/models/local") == 404
        assert get(server, "/props") == 404
        assert get(server, "/v1/models") == 200
    with FakeOpenAIServer(llamacpp=LlamaCpp(props=True, model_route=True)) as server:
        assert get(server, "/props") == 200 and get(server, "/v1/models/local") == 200


def test_fake_serves_one_request_at_a_time_and_runs_on_for_dropped_clients():
    llama = LlamaCpp(seconds_per_token=0.01)
    with FakeOpenAIServer(llamacpp=llama) as server:
        m = model(server, concurrency=3)
        threads = [threading.Thread(target=m.complete, args=(MSG,), kwargs={"max_tokens": 8})
                   for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert llama.stats["generations"] == 3 and llama.stats["max_generating"] == 1
        # a client that gives up: the generation still runs to its end
        impatient = model(server, timeout=0.2, retry=RetryPolicy(max_retries=0))
        with pytest.raises(RequestTimedOut):
            impatient.complete(MSG, max_tokens=50)  # 50 tokens x 10 ms = 0.5 s
        deadline = time.monotonic() + 5
        while llama.stats["abandoned"] < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert llama.stats["abandoned"] == 1


def test_fields_responder_nests_and_echoes_placeholders():
    respond = fields_responder({"question": "", "keywords": ["Nora"]}, nest="query",
                               placeholder=True)
    reply = json.loads(respond({"response_format": {"type": "json_object"}}))
    assert reply == {"query": {"question": "<string>", "keywords": ["<string>", "Nora"]}}
    assert respond({}) == "an answer"


# -- timeouts ---------------------------------------------------------------------------------
def test_timeout_counts_the_attempt_not_the_wait_for_our_own_slots():
    """Three calls through one slot, 0.6 s each, timeout 1 s: the later calls wait up to 1.2 s
    for the slot, yet none times out (the timeout starts when the request is sent)."""
    llama = LlamaCpp(seconds_per_token=0.02, serialised=False)
    with FakeOpenAIServer(llamacpp=llama) as server:
        m = model(server, concurrency=1, timeout=1.0, retry=RetryPolicy(max_retries=0))
        results: list[object] = []

        def call() -> None:
            try:
                results.append(m.complete(MSG, max_tokens=30))  # 30 x 20 ms = 0.6 s
            except Exception as exc:  # noqa: BLE001 - the assertion shows it
                results.append(exc)

        threads = [threading.Thread(target=call) for _ in range(3)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert time.monotonic() - started >= 1.7
        assert all(not isinstance(r, Exception) for r in results), results


def test_greedy_timeout_sends_no_duplicate_to_a_busy_server():
    """Old code: a timed-out request was sent again up to max_retries times while the one-slot
    server was still generating the abandoned copy (5 generations for one call)."""
    llama = LlamaCpp(seconds_per_token=0.01)
    with FakeOpenAIServer(llamacpp=llama) as server:
        m = model(server, timeout=0.3)
        hub = ModelHub({"task": m})
        with pytest.raises(RequestTimedOut, match="not retried at temperature 0"):
            hub.chat("task", MSG)  # 512 tokens x 10 ms: 5 s of generation
        assert server.counts["/chat/completions"] == 1
        (record,) = hub.calls
        assert record.error and record.error.startswith("RequestTimedOut")


# -- retries ----------------------------------------------------------------------------------
def test_retry_after_on_503_is_honoured_and_retries_are_counted():
    """Ollama answers 503 when its queue is full; old code ignored Retry-After there."""
    sleeps: list[float] = []
    with FakeOpenAIServer(llamacpp=LlamaCpp(runaway=False)) as server:
        server.inject(Fault("status", status=503, retry_after=0.25))
        hub = ModelHub({"task": model(server, retry=RetryPolicy(max_retries=2,
                                                                sleep=sleeps.append))})
        assert hub.chat("task", MSG).retried == ("HTTP 503",)
        assert sleeps == [0.25]
        assert hub.calls[0].retries == 1 and hub.calls[0].retry_errors == "HTTP 503"


def test_retries_before_a_final_failure_are_in_the_call_record():
    with FakeOpenAIServer(fault_rate=1.0, fault_kinds=[Fault.server_error(502)]) as server:
        hub = ModelHub({"task": OpenAIChatModel(
            "fake-chat", base_url=server.url, api_key="k",
            retry=RetryPolicy(max_retries=2, sleep=lambda s: None))})
        with pytest.raises(CallFailed):
            hub.chat("task", MSG)
        (record,) = hub.calls
        assert record.retries == 2 and record.retry_errors == "HTTP 502; HTTP 502"


def test_context_length_exceeded_is_a_rejection_with_the_servers_words():
    with FakeOpenAIServer(llamacpp=LlamaCpp(n_ctx=64)) as server:
        with pytest.raises(RequestRejected) as err:
            model(server).complete([{"role": "user", "content": "w" * 400}])
        assert server.counts["/chat/completions"] == 1  # never retried
    message = str(err.value)
    assert "HTTP 400 context_length_exceeded" in message
    assert "exceed context window of 64" in message and "\n" not in message


# -- interrupt --------------------------------------------------------------------------------
def test_interrupt_ends_a_blocked_request_at_once():
    """Closing a client does not wake a thread blocked reading from a slow server; shutting
    the tracked sockets does."""
    llama = LlamaCpp(seconds_per_token=0.05)  # 512 tokens: ~25 s
    with FakeOpenAIServer(llamacpp=llama) as server:
        m = model(server, timeout=60)
        outcome: list[object] = []
        worker = threading.Thread(target=lambda: _capture(outcome, m.complete, MSG))
        worker.start()
        while llama.stats["generations"] < 1:
            time.sleep(0.02)
        started = time.monotonic()
        try:
            assert interrupt_all() >= 1
            worker.join(5)
            elapsed = time.monotonic() - started
            with pytest.raises(CallCancelled):
                model(server).complete(MSG)  # no new request starts once interrupted
        finally:
            reset_interrupt()
        assert not worker.is_alive() and elapsed < 2
        assert isinstance(outcome[0], CallCancelled)


def _capture(out: list[object], fn, *args) -> None:
    try:
        out.append(fn(*args))
    except Exception as exc:  # noqa: BLE001
        out.append(exc)


def _start_eval(server: FakeOpenAIServer, tmp_path: Path) -> subprocess.Popen:
    env = {**os.environ, "OPENAI_API_KEY": "k", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "evolve.cli", "eval", "bm25", "--task", "dialog-synth",
         "--task-arg", "size=tiny", "--model", "local", "--base-url", server.url,
         "--cache", "off", "--concurrency", "4", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)


def _wait_for_generation(llama: LlamaCpp, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while llama.stats["generations"] < 2 and time.monotonic() < deadline:  # past the ping
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    time.sleep(0.3)  # the evaluation's calls are in flight and queued


def test_sigint_during_eval_exits_130_within_5_seconds(tmp_path):
    """Old code printed "interrupted" and lived on until every queued call had been answered
    (here: minutes of slow generations)."""
    llama = LlamaCpp(seconds_per_token=0.2)  # 512 tokens per reply: ~100 s each
    with FakeOpenAIServer(llamacpp=llama) as server:
        proc = _start_eval(server, tmp_path)
        try:
            _wait_for_generation(llama, proc)
            started = time.monotonic()
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=15)
            elapsed = time.monotonic() - started
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 130, err
    assert elapsed < 5, f"took {elapsed:.1f} s"
    assert "cancelling model calls" in err and "Traceback" not in err


def test_second_sigint_abandons_at_once(tmp_path):
    llama = LlamaCpp(seconds_per_token=0.2)
    with FakeOpenAIServer(llamacpp=llama) as server:
        proc = _start_eval(server, tmp_path)
        try:
            _wait_for_generation(llama, proc)
            proc.send_signal(signal.SIGINT)
            time.sleep(0.05)
            started = time.monotonic()
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=15)
            elapsed = time.monotonic() - started
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    # 130 from our handler, or -SIGINT when the press lands while the interpreter is already
    # finalising (its default handler is back then): a shell reports 130 for both
    assert proc.returncode in (130, -signal.SIGINT) and elapsed < 5, err
    assert "Traceback" not in err


def test_fake_counts_tokens_by_a_given_rule():
    words = LlamaCpp(n_ctx=50, count_rule=lambda text: len(text.split()))
    with FakeOpenAIServer(llamacpp=words, responder=lambda r: "one two three four five six") \
            as server:
        reply = model(server).complete(MSG, max_tokens=4)
        assert reply.truncated and reply.text.split() == ["one", "two", "three", "four"]
        with pytest.raises(RequestRejected, match="exceed context window of 50"):
            model(server).complete([{"role": "user", "content": "w " * 60}])
