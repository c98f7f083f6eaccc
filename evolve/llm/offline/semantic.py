"""Word-embedding overlap for the offline reader: "buy" supports "selling", "wood" "oak".

Lexical overlap misses a sentence that answers a question in other words ("Where did Callum
buy the van?" / "A farmer in Kilmacolm was selling it"). ``WordSimilarity`` compares the
question's content words with a memory's words by the cosine of their static ``wordllama``
embeddings (the model ships inside its PyPI wheel: nothing is downloaded) and keeps the
pairs at or above ``THRESHOLD``. The reader gives such a match part of a lexical match's
weight (``answer.overlap``), so an exact word still counts for more.

Measured on single words: related pairs score 0.22-0.54 ("buy"/"selling" 0.22, "fish"/
"salmon" 0.34, "teach"/"instructor" 0.54), unrelated ones -0.10-0.10; hypernyms of rare
nouns are often missed ("job"/"fishmonger" 0.00). Similarities are rounded to three decimals
so that a run does not depend on the last bits of a BLAS sum.
"""

from __future__ import annotations

import logging
import re
import threading

import numpy as np

from .text import STOPWORDS, stem

_LOG = logging.getLogger(__name__)
THRESHOLD = 0.2
MAX_CACHED_WORDS = 20_000  # 2 KB each: at most about 40 MB of cached vectors
_WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]+")


def surface_words(text: str) -> dict[str, str]:
    """Stem -> the first word form of ``text`` with that stem (content words only)."""
    out: dict[str, str] = {}
    for match in _WORD.finditer(text):
        word = match.group(0).lower().replace("’", "'")
        if word in STOPWORDS or len(word) < 3:
            continue
        out.setdefault(stem(word), word)
    return out


class WordSimilarity:
    """Cosine similarity of words by their static embeddings (vectors cached per word).

    Contract: ``matches(question_words, memory_words)`` -> for each question stem, the memory
    stems whose words are at least ``THRESHOLD`` similar, with the similarity; a pure function
    of its inputs. The model loads on first use; if it cannot be loaded, nothing matches and
    the reader stays lexical."""

    def __init__(self) -> None:
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self._model: object | None = None
        self._failed = False

    def _embed(self, words: list[str]) -> None:
        missing = [w for w in dict.fromkeys(words) if w not in self._vectors]
        if not missing or self._failed:
            return
        if len(self._vectors) + len(missing) > MAX_CACHED_WORDS:
            # a long-lived process reading ever new text must not grow without bound; a
            # vector is a pure function of its word, so dropping them changes no result
            self._vectors.clear()
            missing = list(dict.fromkeys(words))
        try:
            if self._model is None:
                from evolve.llm.embedders import WordLlamaEmbedder

                self._model = WordLlamaEmbedder()
            vectors = np.asarray(self._model.embed(missing), dtype=np.float64)  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001 - no model: the reader is lexical only
            self._failed = True
            # said once, because answers differ from a machine where the model loads
            _LOG.warning("offline reader: word embeddings unavailable (%s); its overlap is "
                         "lexical only, so its answers can differ from other machines'", exc)
            return
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = vectors / np.where(norms == 0, 1.0, norms)
        for word, vector in zip(missing, vectors, strict=True):
            self._vectors[word] = vector

    def matches(self, question_words: dict[str, str], memory_words: dict[str, str]
                ) -> dict[str, dict[str, float]]:
        if not question_words or not memory_words:
            return {}
        with self._lock:
            self._embed([*question_words.values(), *memory_words.values()])
            if self._failed:
                return {}
            q_stems = list(question_words)
            m_stems = list(memory_words)
            q = np.stack([self._vectors[question_words[s]] for s in q_stems])
            m = np.stack([self._vectors[memory_words[s]] for s in m_stems])
        sims = np.round(q @ m.T, 3)
        out: dict[str, dict[str, float]] = {}
        for i, s in enumerate(q_stems):
            hits = np.nonzero(sims[i] >= THRESHOLD)[0]
            if hits.size:
                out[s] = {m_stems[j]: float(sims[i, j]) for j in hits if m_stems[j] != s}
        return out


SIMILARITY = WordSimilarity()

