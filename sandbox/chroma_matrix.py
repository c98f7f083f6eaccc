"""Vector storage and exact nearest-neighbour search for the numpy vector store (``sandbox.chroma``).

``SlotMatrix`` keeps one collection's vectors in one contiguous float32 matrix whose capacity
doubles when full, so ``add`` copies only the new rows (amortised O(1) per row; the matrix as a
whole is copied log2(n) times, not n times). Row ``i`` of the matrix is *slot* ``i``; a delete
only marks its slot dead and the matrix is compacted (order kept) once dead slots outnumber
live ones. Each slot's euclidean norm is computed once, when its vector is written.

``nearest`` ranks the candidate slots of each query by fast BLAS products and a partial sort
(``argpartition``), and returns exactly what a full stable ``argsort`` of the exact distances
would: the same slots in the same order (ties by slot order, i.e. insertion order) and the
same distances, computed with the same float32 formulas as chromadb-style exact search:

- ``cosine``: ``1 - (m . q) / (|m| |q|)``; ``ip``: ``1 - m . q``; ``l2``: ``sum((m - q) ** 2)``.

*Exact* means each row's dot product summed in one fixed order (``einsum`` over the row), so a
row's distance depends on that row and the query only. A BLAS product is faster but rounds
differently depending on how many rows it is given and where they sit (on AVX-512 kernels
one row's score changes in the last bit between the whole matrix and a filtered subset), so
two nearly equal rows could swap places with the filter. Fast scores come from BLAS: one
matrix-vector product per query when there is one query or the scored rows are few (at most
``SMALL_MATRIX_FLOATS`` values, ~3,000 rows of 1280-d), which skips the packing a
matrix-matrix product does first (2,000 rows, 2-4 queries: ~0.3-0.6 ms against ~1-1.7 ms);
one matrix-matrix product for several queries against more rows, which reads the matrix once.
Every slot whose fast score lies within a proven rounding bound of the k-th best (a handful)
is then re-scored exactly before the final order is taken, so rounding never changes which
slots are returned.
"""

from __future__ import annotations

import numpy as np

MIN_CAPACITY = 64
SMALL_MATRIX_FLOATS = 1 << 22  # 16 MiB of float32: rows scored per query by matrix-vector
_UNIT_ROUNDOFF = float(np.finfo(np.float32).eps) / 2


class SlotMatrix:
    """Vectors, norms and live flags of a collection's slots (see the module docstring)."""

    def __init__(self) -> None:
        self.dim = 0
        self.size = 0  # slots in use, live or dead
        self.dead = 0
        self._data = np.zeros((0, 0), dtype=np.float32)
        self._norms = np.zeros(0, dtype=np.float32)
        self._live = np.zeros(0, dtype=bool)

    @property
    def capacity(self) -> int:
        return int(self._live.size)

    @property
    def vectors(self) -> np.ndarray:
        """The slots' vectors (a view, no copy)."""
        return self._data[:self.size]

    @property
    def norms(self) -> np.ndarray:
        return self._norms[:self.size]

    @property
    def live(self) -> np.ndarray:
        return self._live[:self.size]

    def check_dimension(self, vectors: np.ndarray) -> None:
        if vectors.ndim != 2:
            raise ValueError("embeddings must be a list of equal-length vectors")
        if self.dim and self.size - self.dead > 0 and vectors.shape[1] != self.dim:
            raise ValueError(f"embedding dimension {vectors.shape[1]} does not match the "
                             f"collection's dimension {self.dim}")

    def append(self, vectors: np.ndarray) -> int:
        """Store ``vectors`` in new slots at the end; returns the first new slot."""
        self.check_dimension(vectors)
        if self.size - self.dead == 0:
            self.clear()
            self.dim = int(vectors.shape[1])
        first, count = self.size, int(vectors.shape[0])
        if first + count > self.capacity:
            self._grow(max(MIN_CAPACITY, 2 * self.capacity, first + count))
        self._data[first:first + count] = vectors
        self._norms[first:first + count] = np.linalg.norm(self._data[first:first + count], axis=1)
        self._live[first:first + count] = True
        self.size += count
        return first

    def _grow(self, capacity: int) -> None:
        data = np.empty((capacity, self.dim), dtype=np.float32)
        if self.size:
            data[:self.size] = self._data[:self.size]
        norms = np.zeros(capacity, dtype=np.float32)
        norms[:self.size] = self._norms[:self.size]
        live = np.zeros(capacity, dtype=bool)
        live[:self.size] = self._live[:self.size]
        self._data, self._norms, self._live = data, norms, live

    def set_row(self, slot: int, vector: np.ndarray) -> None:
        self._data[slot] = vector
        self._norms[slot] = np.linalg.norm(self._data[slot:slot + 1], axis=1)[0]

    def kill(self, slots: np.ndarray) -> None:
        """Mark ``slots`` dead (each at most once)."""
        self._live[slots] = False
        self.dead += int(slots.size)

    def wants_compaction(self) -> bool:
        return self.dead > 0 and (self.dead > self.size - self.dead or self.size == self.dead)

    def compact(self) -> np.ndarray:
        """Drop dead slots, keeping order; returns the old slot of each remaining slot."""
        keep = np.flatnonzero(self._live[:self.size])
        if keep.size == 0:
            self.clear()
            return keep
        count = int(keep.size)
        self._data[:count] = self._data[keep]
        self._norms[:count] = self._norms[keep]
        self._live[:count] = True
        self._live[count:] = False
        self.size, self.dead = count, 0
        return keep

    def clear(self) -> None:
        """Forget every slot and the dimension (the next append sets it again)."""
        self.dim = self.size = self.dead = 0
        self._data = np.zeros((0, 0), dtype=np.float32)
        self._norms = np.zeros(0, dtype=np.float32)
        self._live = np.zeros(0, dtype=bool)


# -- search ------------------------------------------------------------------------------------

def exact_distances(space: str, query: np.ndarray, rows: np.ndarray,
                    norms: np.ndarray) -> np.ndarray:
    """Distances of ``rows`` to one query, by the reference float32 formulas (module docstring:
    ``einsum`` sums each row in the same order whichever rows it is given)."""
    if space == "l2":
        diff = rows - query[None, :]
        return np.einsum("ij,ij->i", diff, diff)
    sims = np.einsum("ij,j->i", rows, query)
    if space == "cosine":
        scale = norms * (np.linalg.norm(query) or 1.0)
        sims = sims / np.where(scale == 0, 1.0, scale)
    return 1.0 - sims


def per_query_products(queries: np.ndarray, rows: np.ndarray) -> bool:
    """Whether ``rows`` are scored by one matrix-vector product per query (module docstring)."""
    return len(queries) == 1 or rows.size <= SMALL_MATRIX_FLOATS


def _fast_distances(space: str, queries: np.ndarray, rows: np.ndarray,
                    norms: np.ndarray) -> np.ndarray:
    """(queries x rows) distances from BLAS products: exact to within ``_rounding_bound``."""
    if per_query_products(queries, rows):
        products = np.stack([rows @ query for query in queries])
    else:
        products = queries @ rows.T
    if space == "l2":
        q_norms = np.einsum("ij,ij->i", queries, queries)
        return (norms * norms)[None, :] - 2.0 * products + q_norms[:, None]
    if space == "cosine":
        q_norms = np.linalg.norm(queries, axis=1)
        q_norms = np.where(q_norms == 0, 1.0, q_norms).astype(np.float32)
        scale = norms[None, :] * q_norms[:, None]
        products = products / np.where(scale == 0, 1.0, scale)
    return 1.0 - products


def _rounding_bound(space: str, query: np.ndarray, norms: np.ndarray) -> float:
    """An upper bound of |fast - exact| for any row (float32 dot products of length d).

    A length-d float32 dot product is off by at most about d * u * sum|m_i q_i| (u the unit
    roundoff) whatever the summation order, and sum|m_i q_i| <= |m| |q|; both the fast and the
    exact score carry such an error, hence the factor 2, and another 2 for the few additions.
    """
    dim = query.shape[0] + 2
    q_norm = float(np.linalg.norm(query))
    top = float(norms.max()) if norms.size else 0.0
    scale = {"cosine": 1.0, "ip": top * q_norm, "l2": (top + q_norm) ** 2}[space]
    return 4.0 * dim * _UNIT_ROUNDOFF * scale + 1e-30


def stable_smallest(distances: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k smallest distances, as ``argsort(kind="stable")[:k]`` orders them."""
    n = distances.size
    if k >= n or n <= 4 * MIN_CAPACITY:
        return np.argsort(distances, kind="stable")[:k]
    part = np.argpartition(distances, k - 1)[:k]
    kth = distances[part].max()
    if kth != kth:  # fewer than k non-NaN distances: NaNs sort last, as in a full sort
        return np.argsort(distances, kind="stable")[:k]
    below = np.flatnonzero(distances < kth)
    ties = np.flatnonzero(distances == kth)[:k - below.size]
    chosen = np.concatenate([below, ties])
    return chosen[np.lexsort((chosen, distances[chosen]))]


def nearest(space: str, matrix: SlotMatrix, queries: np.ndarray, candidates: np.ndarray | None,
            k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per query: the k nearest candidate slots (closest first) and their exact distances.

    ``candidates`` are slots in ascending order (None: every slot, all live).
    """
    count = matrix.size if candidates is None else int(candidates.size)
    k = max(0, min(int(k), count))
    if k == 0:
        return [(np.zeros(0, np.int64), np.zeros(0, np.float32)) for _ in queries]
    if queries.ndim != 2 or queries.shape[1] != matrix.dim:
        raise ValueError(f"query dimension {queries.shape[-1]} does not match the "
                         f"collection's dimension {matrix.dim}")
    if candidates is None:
        slots = np.arange(matrix.size)
        fast = _fast_distances(space, queries, matrix.vectors, matrix.norms)
    elif 8 * count > matrix.size:
        # A gather allocates and writes a fresh copy of the rows (page faults included): above
        # an eighth of the slots one product over the whole matrix is cheaper.
        slots = candidates
        fast = _fast_distances(space, queries, matrix.vectors, matrix.norms)[:, candidates]
    else:
        slots = candidates
        fast = _fast_distances(space, queries, matrix.vectors[candidates],
                               matrix.norms[candidates])
    results = []
    for query, scores in zip(queries, fast, strict=True):
        if np.isfinite(scores).all():
            kth = scores[np.argpartition(scores, k - 1)[k - 1]] if k < count else scores.max()
            bound = _rounding_bound(space, query, matrix.norms)
            near = np.flatnonzero(scores <= kth + 2 * bound)
        else:  # inf/NaN somewhere: no bound holds, score every candidate exactly
            near = np.arange(count)
        picked = slots[near]
        exact = exact_distances(space, query, matrix.vectors[picked], matrix.norms[picked])
        order = stable_smallest(exact, k)
        results.append((picked[order], exact[order]))
    return results
