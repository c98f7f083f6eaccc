"""A Chroma-compatible vector store backed by numpy (no chromadb dependency).

Covers the part of the chromadb client API memory programs use: ``get_or_create_collection``,
``create_collection``, ``get_collection``, ``delete_collection``, ``list_collections`` and on a
collection ``add``, ``upsert``, ``update``, ``query``, ``get``, ``delete``, ``count``, ``peek``.
Results have chromadb's shapes: ``query`` returns lists of lists (one list per query text).

Distances follow chromadb's spaces, chosen with ``metadata={"hnsw:space": ...}``: ``l2``
(default, squared euclidean), ``cosine`` (1 - cosine similarity) or ``ip`` (1 - dot product).
Embeddings come from the campaign's embedder through ``embed_fn`` (unit-normalised rows).
Search is exact (brute force), which is faster than HNSW at the sizes evaluations reach.

Layout: a collection is a list of *slots* in insertion order (ids, documents, metadatas), one
float32 matrix with a row per slot (``chroma_matrix.SlotMatrix``: amortised appends, one matrix
product per query) and value-code columns per metadata key (``chroma_filters.MetadataIndex``:
``where`` filters without a Python loop over every row). Deleted slots stay in place, marked
dead, until dead ones outnumber live ones; then everything is compacted, order kept.
Metadata dicts are copied in and out, so a caller editing a result cannot desync the index.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .chroma_filters import (
    MetadataIndex,
    match_document,
    match_where,
    validate_document,
    validate_where,
)
from .chroma_matrix import SlotMatrix, nearest

__all__ = ["ChromaClient", "Collection", "match_document", "match_where"]

EmbedFn = Callable[[list[str]], list[list[float]]]
_SPACES = ("l2", "cosine", "ip")


def _as_list(value: Any) -> list | None:
    if value is None:
        return None
    if isinstance(value, (str, dict)):
        return [value]
    return list(value)


def _copy_meta(meta: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if meta is None else dict(meta)


class Collection:
    """One named collection: slots of ids, documents and metadatas, and their vector matrix."""

    def __init__(self, name: str, embed_fn: EmbedFn, metadata: dict[str, Any] | None = None):
        self.name = name
        self.metadata = dict(metadata or {})
        self.space = str(self.metadata.get("hnsw:space", "l2"))
        if self.space not in _SPACES:
            raise ValueError(f"unsupported hnsw:space {self.space!r}")
        self._embed_fn = embed_fn
        self._lock = threading.RLock()
        self._ids: list[str | None] = []  # None marks a dead slot
        self._docs: list[str | None] = []
        self._metas: list[dict[str, Any] | None] = []
        self._matrix = SlotMatrix()
        self._meta_index = MetadataIndex()
        self._index: dict[str, int] = {}  # id -> slot

    # -- helpers -------------------------------------------------------------------------
    def _embed(self, documents: Sequence[str]) -> np.ndarray:
        vectors = np.asarray(self._embed_fn([str(d) for d in documents]), dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(documents):
            raise ValueError("embedder returned a malformed matrix")
        return vectors

    def _vectors_for(self, documents: list | None, embeddings: Any, count: int) -> np.ndarray:
        if embeddings is not None:
            vectors = np.atleast_2d(np.asarray(embeddings, dtype=np.float32))
        elif documents is None:
            raise ValueError("You must provide either embeddings or documents")
        else:
            vectors = self._embed(documents)
        if vectors.ndim != 2 or vectors.shape[0] != count:
            raise ValueError("Number of embeddings must match number of ids")
        return vectors

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

    def _append(self, id_list: list[str], docs: list | None, metas: list | None,
                vectors: np.ndarray, fresh: list[int]) -> None:
        """New slots at the end for the entries at positions ``fresh`` of the call."""
        first = self._matrix.append(vectors[fresh] if len(fresh) < len(vectors) else vectors)
        if first == 0:  # the matrix started over (first add, or everything was deleted)
            self._reset_slots()
        self._meta_index.reserve(self._matrix.capacity)
        for offset, k in enumerate(fresh):
            slot = first + offset
            meta = None if metas is None else dict(metas[k] or {})
            self._index[id_list[k]] = slot
            self._ids.append(id_list[k])
            self._docs.append(None if docs is None else str(docs[k]))
            self._metas.append(meta)
            if meta:
                self._meta_index.set_row(slot, None, meta)

    def _replace_meta(self, slot: int, meta: dict[str, Any] | None) -> None:
        self._meta_index.set_row(slot, self._metas[slot], meta)
        self._metas[slot] = meta

    def _reset_slots(self) -> None:
        self._ids, self._docs, self._metas, self._index = [], [], [], {}
        self._meta_index = MetadataIndex()

    # -- writes --------------------------------------------------------------------------
    def add(self, ids: Any, documents: Any = None, metadatas: Any = None,
            embeddings: Any = None, **_: Any) -> None:
        """Add new entries; ids already present are skipped (as chromadb does)."""
        id_list, docs, metas = self._normalise_args(ids, documents, metadatas)
        vectors = self._vectors_for(docs, embeddings, len(id_list))
        with self._lock:
            fresh = [k for k, i in enumerate(id_list) if i not in self._index]
            if fresh:
                self._append(id_list, docs, metas, vectors, fresh)

    def upsert(self, ids: Any, documents: Any = None, metadatas: Any = None,
               embeddings: Any = None, **_: Any) -> None:
        """Insert new entries and replace existing ones."""
        id_list, docs, metas = self._normalise_args(ids, documents, metadatas)
        vectors = self._vectors_for(docs, embeddings, len(id_list))
        with self._lock:
            self._matrix.check_dimension(vectors)
            fresh = []
            for k, item_id in enumerate(id_list):
                slot = self._index.get(item_id)
                if slot is None:
                    fresh.append(k)
                    continue
                self._docs[slot] = None if docs is None else str(docs[k])
                self._replace_meta(slot, None if metas is None else dict(metas[k] or {}))
                self._matrix.set_row(slot, vectors[k])
            if fresh:
                self._append(id_list, docs, metas, vectors, fresh)

    def update(self, ids: Any, documents: Any = None, metadatas: Any = None,
               embeddings: Any = None, **_: Any) -> None:
        """Change existing entries; unknown ids are ignored. Omitted fields are kept."""
        id_list, docs, metas = self._normalise_args(ids, documents, metadatas)
        vectors = None
        if docs is not None or embeddings is not None:
            vectors = self._vectors_for(docs, embeddings, len(id_list))
        with self._lock:
            if vectors is not None:
                self._matrix.check_dimension(vectors)
            for k, item_id in enumerate(id_list):
                slot = self._index.get(item_id)
                if slot is None:
                    continue
                if docs is not None:
                    self._docs[slot] = str(docs[k])
                if metas is not None:
                    merged = dict(self._metas[slot] or {})
                    merged.update(metas[k] or {})
                    self._replace_meta(slot, merged)
                if vectors is not None:
                    self._matrix.set_row(slot, vectors[k])

    def delete(self, ids: Any = None, where: dict | None = None,
               where_document: dict | None = None) -> None:
        """Remove entries by id and/or filter."""
        with self._lock:
            if ids is None and where is None and where_document is None:
                return
            slots = np.unique(self._select_slots(_as_list(ids), where, where_document))
            if slots.size == 0:
                return
            for slot in slots.tolist():
                del self._index[self._ids[slot]]
                self._replace_meta(slot, None)
                self._ids[slot] = self._docs[slot] = None
            self._matrix.kill(slots)
            if self._matrix.wants_compaction():
                self._compact()

    def _compact(self) -> None:
        keep = self._matrix.compact().tolist()
        self._ids = [self._ids[s] for s in keep]
        self._docs = [self._docs[s] for s in keep]
        self._metas = [self._metas[s] for s in keep]
        # compact() kept the live slots only: no None id is left
        self._index = {item_id: slot for slot, item_id in enumerate(self._ids)
                       if item_id is not None}
        self._meta_index.rebuild(self._metas, self._matrix.capacity)

    # -- reads ---------------------------------------------------------------------------
    def count(self) -> int:
        return len(self._index)

    def _select_slots(self, ids: list | None, where: dict | None,
                      where_document: dict | None) -> np.ndarray:
        """Live slots matching the filters: in ``ids`` order if given, else insertion order."""
        validate_where(where)
        validate_document(where_document)
        size = self._matrix.size
        mask = self._meta_index.mask(where, size, self._metas) if where else None
        if ids is None:
            live = self._matrix.live
            found = np.flatnonzero(live if mask is None else live & mask)
            if not where_document:
                return found
            slots = found.tolist()
        else:
            slots = [self._index[str(i)] for i in ids if str(i) in self._index]
            if mask is not None:
                slots = [s for s in slots if mask[s]]
        if where_document:
            slots = [s for s in slots if match_document(self._docs[s], where_document)]
        return np.asarray(slots, dtype=np.int64)

    def get(self, ids: Any = None, where: dict | None = None, limit: int | None = None,
            offset: int | None = None, where_document: dict | None = None,
            include: Sequence[str] = ("documents", "metadatas")) -> dict[str, Any]:
        """Entries by id and/or filter, in insertion order (flat lists)."""
        with self._lock:
            slots = self._select_slots(_as_list(ids), where, where_document).tolist()
            start = offset or 0
            slots = slots[start:start + limit] if limit is not None else slots[start:]
            result: dict[str, Any] = {"ids": [self._ids[s] for s in slots]}
            result["documents"] = ([self._docs[s] for s in slots]
                                   if "documents" in include else None)
            result["metadatas"] = ([_copy_meta(self._metas[s]) for s in slots]
                                   if "metadatas" in include else None)
            result["embeddings"] = (self._matrix.vectors[slots].tolist()
                                    if "embeddings" in include else None)
            return result

    def peek(self, limit: int = 10) -> dict[str, Any]:
        return self.get(limit=limit)

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
            candidates = None
            if where or where_document or self._matrix.dead:
                candidates = self._select_slots(None, where, where_document)
            for slots, dists in nearest(self.space, self._matrix, queries, candidates, n_results):
                picked = slots.tolist()
                out["ids"].append([self._ids[s] for s in picked])
                out["documents"].append([self._docs[s] for s in picked])
                out["metadatas"].append([_copy_meta(self._metas[s]) for s in picked])
                out["distances"].append(dists.tolist())
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
