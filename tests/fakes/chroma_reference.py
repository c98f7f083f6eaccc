"""Reference copy of the vector store as it was before the matrix rewrite (tests only).

Kept verbatim (apart from this paragraph) from sandbox/chroma.py: the property test in
tests/sandboxing/test_chroma_store.py checks that the current store returns exactly what this one does
(same ids, same order, same distances to float tolerance). Slow by design: every add copies
the whole matrix and every query loops over every row in Python. Do not optimise it.
One change from the original: a row's dot product with the query is summed by ``einsum`` (one
fixed order per row) instead of a BLAS matrix-vector product, whose rounding on some CPUs
depends on how many rows it is given, so near-ties between two rows were ordered by the
filter's row count rather than by their distances (see sandbox/chroma_matrix.py).

A Chroma-compatible vector store backed by numpy (no chromadb dependency).

Covers the part of the chromadb client API memory programs use: ``get_or_create_collection``,
``create_collection``, ``get_collection``, ``delete_collection``, ``list_collections`` and on a
collection ``add``, ``upsert``, ``update``, ``query``, ``get``, ``delete``, ``count``, ``peek``.
Results have chromadb's shapes: ``query`` returns lists of lists (one list per query text).

Distances follow chromadb's spaces, chosen with ``metadata={"hnsw:space": ...}``: ``l2``
(default, squared euclidean), ``cosine`` (1 - cosine similarity) or ``ip`` (1 - dot product).
Embeddings come from the campaign's embedder through ``embed_fn`` (unit-normalised rows).
Search is exact (brute force), which is faster than HNSW at the sizes evaluations reach.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

EmbedFn = Callable[[list[str]], list[list[float]]]
_SPACES = ("l2", "cosine", "ip")


def _as_list(value: Any) -> list | None:
    if value is None:
        return None
    if isinstance(value, (str, dict)):
        return [value]
    return list(value)


def _match_value(actual: Any, condition: Any) -> bool:
    if not isinstance(condition, dict):
        return actual == condition
    for op, operand in condition.items():
        if op == "$eq":
            ok = actual == operand
        elif op == "$ne":
            ok = actual != operand
        elif op in ("$gt", "$gte", "$lt", "$lte"):
            if actual is None or isinstance(actual, bool) != isinstance(operand, bool):
                return False
            try:
                ok = {
                    "$gt": actual > operand,
                    "$gte": actual >= operand,
                    "$lt": actual < operand,
                    "$lte": actual <= operand,
                }[op]
            except TypeError:
                return False
        elif op == "$in":
            ok = actual in operand
        elif op == "$nin":
            ok = actual not in operand
        elif op == "$contains":  # chromadb >= 0.6 allows it on array metadata
            ok = isinstance(actual, (list, str)) and operand in actual
        elif op == "$not_contains":
            ok = not (isinstance(actual, (list, str)) and operand in actual)
        else:
            raise ValueError(f"unsupported where operator {op!r}")
        if not ok:
            return False
    return True


def match_where(metadata: dict[str, Any] | None, where: dict[str, Any] | None) -> bool:
    """True when ``metadata`` satisfies a chromadb ``where`` filter."""
    if not where:
        return True
    metadata = metadata or {}
    for key, condition in where.items():
        if key == "$and":
            if not all(match_where(metadata, sub) for sub in condition):
                return False
        elif key == "$or":
            if not any(match_where(metadata, sub) for sub in condition):
                return False
        elif not _match_value(metadata.get(key), condition):
            return False
    return True


def match_document(document: str | None, where_document: dict[str, Any] | None) -> bool:
    """True when ``document`` satisfies a chromadb ``where_document`` filter."""
    if not where_document:
        return True
    text = document or ""
    for op, operand in where_document.items():
        if op == "$contains":
            ok = operand in text
        elif op == "$not_contains":
            ok = operand not in text
        elif op == "$and":
            ok = all(match_document(text, sub) for sub in operand)
        elif op == "$or":
            ok = any(match_document(text, sub) for sub in operand)
        else:
            raise ValueError(f"unsupported where_document operator {op!r}")
        if not ok:
            return False
    return True


class Collection:
    """One named collection: parallel lists of ids, documents, metadatas and a vector matrix."""

    def __init__(self, name: str, embed_fn: EmbedFn, metadata: dict[str, Any] | None = None):
        self.name = name
        self.metadata = dict(metadata or {})
        self.space = str(self.metadata.get("hnsw:space", "l2"))
        if self.space not in _SPACES:
            raise ValueError(f"unsupported hnsw:space {self.space!r}")
        self._embed_fn = embed_fn
        self._lock = threading.RLock()
        self._ids: list[str] = []
        self._docs: list[str | None] = []
        self._metas: list[dict[str, Any] | None] = []
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        self._index: dict[str, int] = {}

    # -- helpers -------------------------------------------------------------------------
    def _embed(self, documents: Sequence[str]) -> np.ndarray:
        if not documents:
            return np.zeros((0, self._vectors.shape[1] if self._vectors.size else 0), np.float32)
        vectors = np.asarray(self._embed_fn([str(d) for d in documents]), dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(documents):
            raise ValueError("embedder returned a malformed matrix")
        return vectors

    def _vectors_for(self, documents: list | None, embeddings: Any) -> np.ndarray:
        if embeddings is not None:
            return np.atleast_2d(np.asarray(embeddings, dtype=np.float32))
        if documents is None:
            raise ValueError("You must provide either embeddings or documents")
        return self._embed(documents)

    def _append_matrix(self, vectors: np.ndarray) -> None:
        if self._vectors.size == 0:
            self._vectors = vectors.copy()
        else:
            if vectors.shape[1] != self._vectors.shape[1]:
                raise ValueError("embedding dimension does not match the collection")
            self._vectors = np.vstack([self._vectors, vectors])

    def _normalise_args(self, ids: Any, documents: Any, metadatas: Any) -> tuple:
        id_list = [str(i) for i in (_as_list(ids) or [])]
        docs = _as_list(documents)
        metas = _as_list(metadatas)
        if not id_list:
            raise ValueError("Expected ids to be a non-empty list")
        if len(set(id_list)) != len(id_list):
            raise ValueError("Expected IDs to be unique within one call")
        for name, values in (("documents", docs), ("metadatas", metas)):
            if values is not None and len(values) != len(id_list):
                raise ValueError(f"Number of {name} must match number of ids")
        return id_list, docs, metas

    # -- writes --------------------------------------------------------------------------
    def add(self, ids: Any, documents: Any = None, metadatas: Any = None,
            embeddings: Any = None, **_: Any) -> None:
        """Add new entries; ids already present are skipped (as chromadb does)."""
        id_list, docs, metas = self._normalise_args(ids, documents, metadatas)
        vectors = self._vectors_for(docs, embeddings)
        with self._lock:
            fresh = [k for k, i in enumerate(id_list) if i not in self._index]
            if not fresh:
                return
            for k in fresh:
                self._index[id_list[k]] = len(self._ids)
                self._ids.append(id_list[k])
                self._docs.append(None if docs is None else str(docs[k]))
                self._metas.append(None if metas is None else dict(metas[k] or {}))
            self._append_matrix(vectors[fresh])

    def upsert(self, ids: Any, documents: Any = None, metadatas: Any = None,
               embeddings: Any = None, **_: Any) -> None:
        """Insert new entries and replace existing ones."""
        id_list, docs, metas = self._normalise_args(ids, documents, metadatas)
        vectors = self._vectors_for(docs, embeddings)
        with self._lock:
            fresh = []
            for k, item_id in enumerate(id_list):
                row = self._index.get(item_id)
                if row is None:
                    fresh.append(k)
                    continue
                self._docs[row] = None if docs is None else str(docs[k])
                self._metas[row] = None if metas is None else dict(metas[k] or {})
                self._vectors[row] = vectors[k]
            for k in fresh:
                self._index[id_list[k]] = len(self._ids)
                self._ids.append(id_list[k])
                self._docs.append(None if docs is None else str(docs[k]))
                self._metas.append(None if metas is None else dict(metas[k] or {}))
            if fresh:
                self._append_matrix(vectors[fresh])

    def update(self, ids: Any, documents: Any = None, metadatas: Any = None,
               embeddings: Any = None, **_: Any) -> None:
        """Change existing entries; unknown ids are ignored. Omitted fields are kept."""
        id_list, docs, metas = self._normalise_args(ids, documents, metadatas)
        vectors = None
        if docs is not None or embeddings is not None:
            vectors = self._vectors_for(docs, embeddings)
        with self._lock:
            for k, item_id in enumerate(id_list):
                row = self._index.get(item_id)
                if row is None:
                    continue
                if docs is not None:
                    self._docs[row] = str(docs[k])
                if metas is not None:
                    merged = dict(self._metas[row] or {})
                    merged.update(metas[k] or {})
                    self._metas[row] = merged
                if vectors is not None:
                    self._vectors[row] = vectors[k]

    def delete(self, ids: Any = None, where: dict | None = None,
               where_document: dict | None = None) -> None:
        """Remove entries by id and/or filter."""
        with self._lock:
            rows = self._select_rows(_as_list(ids), where, where_document)
            if ids is None and where is None and where_document is None:
                rows = []
            keep = sorted(set(range(len(self._ids))) - set(rows))
            self._ids = [self._ids[r] for r in keep]
            self._docs = [self._docs[r] for r in keep]
            self._metas = [self._metas[r] for r in keep]
            self._vectors = self._vectors[keep] if self._vectors.size else self._vectors
            self._index = {item_id: r for r, item_id in enumerate(self._ids)}

    # -- reads ---------------------------------------------------------------------------
    def count(self) -> int:
        return len(self._ids)

    def _select_rows(self, ids: list | None, where: dict | None,
                     where_document: dict | None) -> list[int]:
        if ids is not None:
            candidates = [self._index[str(i)] for i in ids if str(i) in self._index]
        else:
            candidates = list(range(len(self._ids)))
        return [
            r for r in candidates
            if match_where(self._metas[r], where) and match_document(self._docs[r], where_document)
        ]

    def get(self, ids: Any = None, where: dict | None = None, limit: int | None = None,
            offset: int | None = None, where_document: dict | None = None,
            include: Sequence[str] = ("documents", "metadatas")) -> dict[str, Any]:
        """Entries by id and/or filter, in insertion order (flat lists)."""
        with self._lock:
            rows = self._select_rows(_as_list(ids), where, where_document)
            start = offset or 0
            rows = rows[start:start + limit] if limit is not None else rows[start:]
            result: dict[str, Any] = {"ids": [self._ids[r] for r in rows]}
            result["documents"] = [self._docs[r] for r in rows] if "documents" in include else None
            result["metadatas"] = [self._metas[r] for r in rows] if "metadatas" in include else None
            result["embeddings"] = (
                [self._vectors[r].tolist() for r in rows] if "embeddings" in include else None
            )
            return result

    def peek(self, limit: int = 10) -> dict[str, Any]:
        return self.get(limit=limit)

    def _distances(self, query: np.ndarray, matrix: np.ndarray) -> np.ndarray:
        if self.space == "l2":
            diff = matrix - query[None, :]
            return np.einsum("ij,ij->i", diff, diff)
        sims = np.einsum("ij,j->i", matrix, query)
        if self.space == "cosine":
            norms = np.linalg.norm(matrix, axis=1) * (np.linalg.norm(query) or 1.0)
            sims = sims / np.where(norms == 0, 1.0, norms)
        return 1.0 - sims

    def query(self, query_texts: Any = None, n_results: int = 10, where: dict | None = None,
              where_document: dict | None = None, query_embeddings: Any = None,
              include: Sequence[str] = ("documents", "metadatas", "distances"),
              **_: Any) -> dict[str, Any]:
        """Nearest entries per query, closest first, as chromadb's lists of lists."""
        if query_embeddings is not None:
            queries = np.atleast_2d(np.asarray(query_embeddings, dtype=np.float32))
        else:
            texts = _as_list(query_texts)
            if not texts:
                raise ValueError("You must provide either query_texts or query_embeddings")
            queries = self._embed(texts)
        out: dict[str, Any] = {"ids": [], "documents": [], "metadatas": [], "distances": []}
        with self._lock:
            rows = np.asarray(self._select_rows(None, where, where_document), dtype=np.int64)
            for query in queries:
                if rows.size == 0:
                    order = np.zeros(0, dtype=np.int64)
                    dists = np.zeros(0)
                else:
                    dists = self._distances(query, self._vectors[rows])
                    k = max(0, min(int(n_results), rows.size))
                    order = np.argsort(dists, kind="stable")[:k]
                picked = rows[order] if rows.size else order
                out["ids"].append([self._ids[r] for r in picked])
                out["documents"].append([self._docs[r] for r in picked])
                out["metadatas"].append([self._metas[r] for r in picked])
                out["distances"].append([float(d) for d in dists[order]])
        for key in ("documents", "metadatas", "distances"):
            if key not in include:
                out[key] = None
        out["embeddings"] = None
        return out


class ChromaClient:
    """The ``toolkit.chroma`` object: a chromadb-like client holding named collections."""

    def __init__(self, embed_fn: EmbedFn) -> None:
        self._embed_fn = embed_fn
        self._collections: dict[str, Collection] = {}
        self._lock = threading.Lock()

    def get_or_create_collection(self, name: str, metadata: dict | None = None,
                                 embedding_function: Any = None, **_: Any) -> Collection:
        with self._lock:
            if name not in self._collections:
                self._collections[name] = Collection(name, self._embed_fn, metadata)
            return self._collections[name]

    def create_collection(self, name: str, metadata: dict | None = None,
                          embedding_function: Any = None, get_or_create: bool = False,
                          **_: Any) -> Collection:
        with self._lock:
            if name in self._collections:
                if get_or_create:
                    return self._collections[name]
                raise ValueError(f"Collection {name} already exists")
            self._collections[name] = Collection(name, self._embed_fn, metadata)
            return self._collections[name]

    def get_collection(self, name: str, **_: Any) -> Collection:
        with self._lock:
            if name not in self._collections:
                raise ValueError(f"Collection {name} does not exist.")
            return self._collections[name]

    def delete_collection(self, name: str) -> None:
        with self._lock:
            self._collections.pop(name, None)

    def list_collections(self) -> list[Collection]:
        with self._lock:
            return list(self._collections.values())

    def reset(self) -> None:
        with self._lock:
            self._collections.clear()
