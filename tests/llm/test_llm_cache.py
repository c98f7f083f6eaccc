"""ResponseCache keys, persistence (threads and processes) and the hub's cache policy."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from evolve.llm.base import Completion
from evolve.llm.cache import ResponseCache, chat_key, embed_key
from evolve.llm.hub import ModelHub
from evolve.llm.pricing import Price, PriceTable

MSG = [{"role": "user", "content": "What is the capital of France?"}]


class CountingModel:
    """A ChatModel stub that counts calls and can fail on demand."""

    def __init__(self, name: str = "stub-model", fail: bool = False) -> None:
        self.name = name
        self.calls = 0
        self.fail = fail
        self._lock = threading.Lock()

    def complete(self, messages, *, json_mode=False, temperature=0.0, max_tokens=None):
        with self._lock:
            self.calls += 1
            n = self.calls
        if self.fail:
            raise RuntimeError("boom")
        time.sleep(0.01)
        return Completion(text=f"answer {n} json={json_mode}", tokens_in=11, tokens_out=3, latency_s=0.01)


class CountingEmbedder:
    name = "stub-embed"
    dim = 4
    cacheable = True

    def __init__(self) -> None:
        self.texts: list[str] = []

    def embed(self, texts):
        self.texts += texts
        rows = np.array([[len(t), 1.0, t.count("a"), 2.0] for t in texts], dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


# -- keys -----------------------------------------------------------------------------------------
def test_chat_key_is_canonical_and_sensitive():
    base = chat_key("m", MSG)
    assert base == chat_key("m", [{"content": MSG[0]["content"], "role": "user"}])  # key order
    assert base == chat_key("m", MSG, temperature=0)  # 0 == 0.0
    assert len(base) == 64
    variants = [
        chat_key("m2", MSG),
        chat_key("m", [{"role": "user", "content": "What is the capital of Spain?"}]),
        chat_key("m", MSG, json_mode=True),
        chat_key("m", MSG, temperature=0.7),
        chat_key("m", MSG, max_tokens=10),
        chat_key("m", MSG, kind="judge"),
        chat_key("m", MSG, salt="sample-2"),
    ]
    assert len({base, *variants}) == 8
    assert embed_key("e", "x") != embed_key("e2", "x") != embed_key("e", "y")


# -- storage ----------------------------------------------------------------------------------------
def test_persistent_cache_survives_reopen_and_uses_wal(tmp_path):
    path = tmp_path / "sub" / "cache.sqlite"
    with ResponseCache(path) as cache:
        cache.put_chat("k1", "m", "hello", 7, 2)
        assert cache.get_chat("k1").text == "hello"
        assert cache.get_chat("missing") is None
    with ResponseCache(path) as again:
        hit = again.get_chat("k1")
        assert (hit.text, hit.tokens_in, hit.tokens_out) == ("hello", 7, 2)
        assert again.stats() == {"chat": 1, "embed": 0, "hits": 1, "misses": 0}
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_in_memory_cache_writes_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cache = ResponseCache(None)
    cache.put_chat("k", "m", "v", 1, 1)
    assert cache.get_chat("k").text == "v"
    assert list(tmp_path.iterdir()) == []
    assert ResponseCache(None).get_chat("k") is None  # each in-memory cache is its own


def test_cache_shared_between_processes(tmp_path):
    path = tmp_path / "cache.sqlite"
    ResponseCache(path).put_chat("parent", "m", "from parent", 1, 1)
    code = (
        "import sys; from evolve.llm.cache import ResponseCache\n"
        "c = ResponseCache(sys.argv[1])\n"
        "print(c.get_chat('parent').text)\n"
        "c.put_chat('child', 'm', 'from child', 2, 2)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "from parent"
    assert ResponseCache(path).get_chat("child").text == "from child"


def test_cache_is_thread_safe(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    errors: list[BaseException] = []

    def work(w: int) -> None:
        try:
            for i in range(50):
                cache.put_chat(f"{w}-{i}", "m", f"v{w}-{i}", i, 1)
                assert cache.get_chat(f"{w}-{i}").text == f"v{w}-{i}"
                cache.put_embeddings("e", [f"t{w}-{i}"], np.ones((1, 3)))
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    stats = cache.stats()
    assert stats["chat"] == 300 and stats["embed"] == 300


def test_embedding_cache_roundtrip(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    vectors = np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32)
    cache.put_embeddings("e", ["a", "b", "c"], vectors)
    got = cache.get_embeddings("e", ["c", "zzz", "a", "c"])
    assert got[1] is None
    assert np.array_equal(got[0], vectors[2]) and np.array_equal(got[3], vectors[2])
    assert np.array_equal(got[2], vectors[0]) and got[0].dtype == np.float32
    assert cache.get_embeddings("other-model", ["a"]) == [None]
    with pytest.raises(ValueError):
        cache.put_embeddings("e", ["x"], vectors)


# -- hub policy ------------------------------------------------------------------------------------
def test_unchanged_request_is_never_paid_twice(tmp_path):
    path = tmp_path / "c.sqlite"
    model = CountingModel()
    prices = PriceTable({"stub-model": Price(1.0, 1.0)})
    hub = ModelHub({"task": model}, cache=ResponseCache(path), prices=prices)
    first = hub.chat("task", MSG)
    assert hub.chat("task", MSG) == Completion(first.text, 11, 3, True, hub.calls[1].latency_s)
    # a new process-like hub on the same file replays at zero cost
    replay = ModelHub({"task": CountingModel()}, cache=ResponseCache(path), prices=prices)
    assert replay.chat("task", MSG).text == first.text
    assert model.calls == 1 and replay.model_for("task").calls == 0
    spend = replay.spend_by_role()["task"]
    assert spend == {"calls": 1, "tokens_in": 0, "tokens_out": 0, "usd": 0.0, "cached": 1, "errors": 0}


def test_salt_and_use_cache_false_force_fresh_calls():
    model = CountingModel()
    hub = ModelHub({"reflector": model, "task": model}, cache=ResponseCache(None))
    a = hub.chat("reflector", MSG, temperature=1.0, salt="child-1")
    b = hub.chat("reflector", MSG, temperature=1.0, salt="child-2")
    assert a.text != b.text and model.calls == 2
    hub.chat("reflector", MSG, use_cache=False)
    hub.chat("reflector", MSG, use_cache=False)
    assert model.calls == 4
    assert hub.chat("reflector", MSG, temperature=1.0, salt="child-1").cached


def test_errors_are_not_cached_and_offline_is_not_cached():
    failing = CountingModel(fail=True)
    hub = ModelHub({"task": failing}, cache=ResponseCache(None))
    for _ in range(2):
        with pytest.raises(RuntimeError):
            hub.chat("task", MSG)
    assert failing.calls == 2 and [r.error for r in hub.calls] == ["RuntimeError: boom"] * 2
    offline = CountingModel(name="offline")
    hub = ModelHub({"task": offline}, cache=ResponseCache(None))
    hub.chat("task", MSG)
    hub.chat("task", MSG)
    assert offline.calls == 2 and hub.cache.stats()["chat"] == 0


def test_hub_embedding_cache_only_computes_missing_texts():
    emb = CountingEmbedder()
    hub = ModelHub({"task": CountingModel()}, emb, cache=ResponseCache(None))
    first = hub.embed(["alpha", "banana"])
    second = hub.embed(["banana", "cherry", "alpha"])
    assert emb.texts == ["alpha", "banana", "cherry"]
    assert np.allclose(second[0], first[1]) and np.allclose(second[2], first[0])
    assert second.shape == (3, 4) and second.dtype == np.float32
    assert [r.cached for r in hub.calls] == [False, False]  # 2nd call was partly computed
    hub.embed(["cherry"])
    assert hub.calls[-1].cached and hub.embed([]).shape == (0, 4)
