"""The numpy vector store (sandbox/chroma.py) against a copy of its previous implementation.

The property test drives both stores with the same random sequence of adds, upserts, updates,
deletes, gets and queries (three distance spaces, duplicate and zero vectors, integer-valued
vectors that tie exactly, metadata of every type chromadb allows, nested ``where`` filters) and
requires the same ids, documents and metadatas in the same order and the same distances.
Other tests pin what the rewrite changed on purpose: amortised appends, copied metadata,
filters validated before any row is read, mismatched embeddings refused before any write.
"""

from __future__ import annotations

import random
import statistics
import time
import zlib

import numpy as np
import pytest
from evolve_sandbox import chroma_matrix
from evolve_sandbox.chroma import ChromaClient
from fakes.chroma_reference import ChromaClient as ReferenceClient

KEYS = ["kind", "n", "flag", "tags", "day"]
KINDS = ["fact", "event", "plan", "1"]


def embed_fn(dim: int):
    def embed(texts: list[str]) -> list[list[float]]:
        rows = []
        for text in texts:
            rng = np.random.default_rng(zlib.crc32(text.encode()))
            rows.append(rng.integers(-2, 3, size=dim).astype(float).tolist())
        return rows
    return embed


def random_meta(rng: random.Random) -> dict | None:
    if rng.random() < 0.1:
        return None
    meta = {}
    if rng.random() < 0.8:
        meta["kind"] = rng.choice(KINDS)
    if rng.random() < 0.7:
        meta["n"] = rng.choice([0, 1, 2, 3, 1.0, 2.5, -1, True, False])
    if rng.random() < 0.4:
        meta["flag"] = rng.choice([True, False, None])
    if rng.random() < 0.3:
        meta["tags"] = rng.sample(["a", "b", "c"], rng.randint(0, 2))
    if rng.random() < 0.5:
        meta["day"] = f"2024-01-{rng.randint(1, 28):02d}"
    return meta


def random_condition(rng: random.Random):
    key = rng.choice(KEYS)
    value = {"kind": lambda: rng.choice(KINDS + [1]),
             "n": lambda: rng.choice([0, 1, 2, 1.0, 2.5, True, False, None]),
             "flag": lambda: rng.choice([True, False, None, 1]),
             "tags": lambda: rng.choice(["a", "b"]),
             "day": lambda: f"2024-01-{rng.randint(1, 28):02d}"}[key]
    op = rng.choice(["plain", "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin",
                     "$contains", "$not_contains", "both"])
    if op == "plain":
        return {key: value()}
    if op in ("$in", "$nin"):
        return {key: {op: [value() for _ in range(rng.randint(0, 3))]}}
    if op == "both":
        return {key: {"$gte": value(), "$lte": value()}}
    if op in ("$contains", "$not_contains"):  # a non-string operand raises in both stores
        return {key: {op: rng.choice(["a", "b", "fa", "01", "1"])}}
    return {key: {op: value()}}


def random_where(rng: random.Random, depth: int = 0):
    roll = rng.random()
    if depth < 2 and roll < 0.25:
        return {rng.choice(["$and", "$or"]): [random_where(rng, depth + 1)
                                              for _ in range(rng.randint(0, 3))]}
    if roll < 0.35:
        return {**random_condition(rng), **random_condition(rng)}
    return random_condition(rng)


def random_vectors(rng: random.Random, nrng: np.random.Generator, dim: int, count: int,
                   pool: list[np.ndarray]) -> list[list[float]]:
    rows = []
    for _ in range(count):
        roll = rng.random()
        if pool and roll < 0.2:
            vector = pool[rng.randrange(len(pool))]  # an exact duplicate: distance ties
        elif roll < 0.25:
            vector = np.zeros(dim)
        elif roll < 0.6:
            vector = nrng.integers(-2, 3, size=dim).astype(float)  # exact float32 products
        else:
            vector = nrng.standard_normal(dim)
        pool.append(vector)
        rows.append(vector.tolist())
    return rows


def assert_same(new: dict, old: dict) -> None:
    assert new.keys() == old.keys()
    for key in new:
        if key == "distances" and new[key] is not None:
            assert len(new[key]) == len(old[key])
            for got, want in zip(new[key], old[key], strict=True):
                np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
        elif key == "embeddings" and new[key] is not None:
            np.testing.assert_allclose(np.asarray(new[key], dtype=float).ravel(),
                                       np.asarray(old[key], dtype=float).ravel())
        else:
            assert new[key] == old[key], key


def run_script(seed: int, space: str, dim: int, prefill: int, steps: int) -> None:
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    metadata = None if space == "l2" and seed % 2 else {"hnsw:space": space}
    stores = [client(embed_fn(dim)).get_or_create_collection("c", metadata=metadata)
              for client in (ChromaClient, ReferenceClient)]
    pool: list[np.ndarray] = []
    next_id = 0

    def both(method: str, **kwargs):
        results = [getattr(store, method)(**kwargs) for store in stores]
        if results[0] is not None:
            assert_same(*results)
        return results[0]

    if prefill:
        ids = [f"p{i}" for i in range(prefill)]
        both("add", ids=ids, embeddings=random_vectors(rng, nrng, dim, prefill, pool),
             metadatas=[random_meta(rng) for _ in ids], documents=[f"doc {i}" for i in ids])
    for _ in range(steps):
        op = rng.choice(["add", "add", "add_docs", "upsert", "update", "delete", "get",
                         "query", "query", "query", "query_many"])
        known = [f"p{i}" for i in range(prefill)] + [f"i{i}" for i in range(next_id)]
        if op in ("add", "upsert") or (op == "update" and rng.random() < 0.5):
            count = rng.randint(1, 4)
            ids = [rng.choice(known) if known and rng.random() < 0.3 else f"i{next_id + k}"
                   for k in range(count)]
            ids = list(dict.fromkeys(ids))
            next_id += count
            kwargs = {"ids": ids, "embeddings": random_vectors(rng, nrng, dim, len(ids), pool)}
            if rng.random() < 0.7:
                kwargs["metadatas"] = [random_meta(rng) for _ in ids]
            if rng.random() < 0.7:
                kwargs["documents"] = [f"text {rng.randint(0, 50)}" for _ in ids]
            both(op, **kwargs)
        elif op == "add_docs":
            ids = [f"i{next_id}"]
            next_id += 1
            both("add", ids=ids, documents=[f"note {rng.randint(0, 20)}"],
                 metadatas=[random_meta(rng)])
        elif op == "update":
            ids = rng.sample(known, min(len(known), rng.randint(1, 3))) if known else ["x"]
            both("update", ids=ids, metadatas=[random_meta(rng) for _ in ids])
        elif op == "delete":
            roll = rng.random()
            if roll < 0.4 and known:
                both("delete", ids=rng.sample(known, min(len(known), rng.randint(1, 20))))
            elif roll < 0.8:
                both("delete", where=random_where(rng))
            else:
                both("delete", where_document={"$contains": str(rng.randint(0, 9))})
        elif op == "get":
            kwargs = {"include": rng.choice([("documents", "metadatas"), ("embeddings",),
                                             ("metadatas", "embeddings")])}
            if rng.random() < 0.3 and known:
                kwargs["ids"] = [rng.choice(known) for _ in range(rng.randint(1, 5))]
            if rng.random() < 0.6:
                kwargs["where"] = random_where(rng)
            if rng.random() < 0.2:
                kwargs["where_document"] = {"$not_contains": str(rng.randint(0, 9))}
            if rng.random() < 0.3:
                kwargs["limit"], kwargs["offset"] = rng.randint(0, 10), rng.randint(0, 5)
            both("get", **kwargs)
        else:
            many = op == "query_many"
            kwargs = {"n_results": rng.choice([1, 3, 10, 40])}
            if rng.random() < 0.4 and pool:
                queries = [pool[rng.randrange(len(pool))].tolist()
                           for _ in range(rng.randint(2, 3) if many else 1)]
            else:
                queries = random_vectors(rng, nrng, dim, rng.randint(2, 3) if many else 1, [])
            if rng.random() < 0.15:
                kwargs["query_texts"] = [f"note {rng.randint(0, 20)}"]
            else:
                kwargs["query_embeddings"] = queries
            if rng.random() < 0.4:
                kwargs["where"] = random_where(rng)
            if rng.random() < 0.1:
                kwargs["where_document"] = {"$contains": "text"}
            both("query", **kwargs)
        assert stores[0].count() == stores[1].count()
    assert_same(stores[0].get(include=("documents", "metadatas", "embeddings")),
                stores[1].get(include=("documents", "metadatas", "embeddings")))


@pytest.fixture(params=["matrix-vector", "matrix-matrix"])
def products(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways of scoring several queries: the test matrices are all small enough for one
    matrix-vector product per query, so the matrix-matrix path is forced by a zero bound."""
    if request.param == "matrix-matrix":
        monkeypatch.setattr(chroma_matrix, "SMALL_MATRIX_FLOATS", 0)
    return request.param


@pytest.mark.parametrize("space", ["cosine", "l2", "ip"])
@pytest.mark.parametrize("seed", range(6))
def test_same_results_as_the_reference_small(space: str, seed: int, products: str) -> None:
    run_script(seed, space, dim=6, prefill=0, steps=250)


@pytest.mark.parametrize("space", ["cosine", "l2", "ip"])
@pytest.mark.parametrize("seed", range(3))
def test_same_results_as_the_reference_with_partial_sort(space: str, seed: int,
                                                         products: str) -> None:
    # Above a few hundred rows queries take the argpartition path and dead slots pile up.
    run_script(100 + seed, space, dim=48, prefill=1500, steps=150)


def test_several_queries_on_a_small_matrix_take_matrix_vector_products(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Below the bound no matrix-matrix product is made, above it one is."""
    rows = np.random.default_rng(3).standard_normal((50, 8)).astype(np.float32)
    matrix = chroma_matrix.SlotMatrix()
    matrix.append(rows)
    queries = rows[:3] + 0.5
    assert chroma_matrix.per_query_products(queries, matrix.vectors)
    small = chroma_matrix.nearest("cosine", matrix, queries, None, 4)
    monkeypatch.setattr(chroma_matrix, "SMALL_MATRIX_FLOATS", rows.size - 1)
    assert not chroma_matrix.per_query_products(queries, matrix.vectors)
    assert chroma_matrix.per_query_products(queries[:1], matrix.vectors)
    large = chroma_matrix.nearest("cosine", matrix, queries, None, 4)
    for (slots_a, dists_a), (slots_b, dists_b) in zip(small, large, strict=True):
        assert slots_a.tolist() == slots_b.tolist()
        np.testing.assert_array_equal(dists_a, dists_b)  # both re-scored exactly


def test_delete_everything_then_a_new_dimension() -> None:
    stores = [c(embed_fn(4)).get_or_create_collection("c") for c in (ChromaClient,
                                                                     ReferenceClient)]
    for store in stores:
        store.add(ids=["a", "b"], embeddings=[[1, 0, 0, 0], [0, 1, 0, 0]])
        store.delete(where={})
        store.add(ids=["c"], embeddings=[[1, 2]], metadatas=[{"k": 1}])
    assert_same(stores[0].query(query_embeddings=[[1, 1]]),
                stores[1].query(query_embeddings=[[1, 1]]))
    assert stores[0].count() == 1


def test_single_adds_cost_does_not_grow_with_the_collection() -> None:
    """Each add copies only its row: the 3,000th add costs what the first ones did.

    The previous store copied the whole matrix on every add (~25x slower per add at 3,000
    rows of 1280-d vectors); medians of 500 adds per window keep load spikes out.
    """
    store = ChromaClient(embed_fn(4)).get_or_create_collection("c")
    vectors = np.random.default_rng(0).standard_normal((3000, 1280)).astype(np.float32)
    times = []
    for i, vector in enumerate(vectors):
        start = time.perf_counter()
        store.add(ids=[str(i)], embeddings=[vector], metadatas=[{"n": i % 7}])
        times.append(time.perf_counter() - start)
    early, late = statistics.median(times[100:600]), statistics.median(times[-500:])
    assert late < 4 * early, (early, late)
    assert store.count() == 3000


def test_returned_metadata_is_a_copy() -> None:
    store = ChromaClient(embed_fn(4)).get_or_create_collection("c")
    store.add(ids=["a"], embeddings=[[1, 0, 0, 0]], metadatas=[{"kind": "fact"}])
    store.get()["metadatas"][0]["kind"] = "changed"
    store.query(query_embeddings=[[1, 0, 0, 0]])["metadatas"][0][0]["kind"] = "changed"
    assert store.get(where={"kind": "fact"})["metadatas"] == [{"kind": "fact"}]


def test_a_bad_where_operator_is_refused_even_on_an_empty_collection() -> None:
    store = ChromaClient(embed_fn(4)).get_or_create_collection("c")
    with pytest.raises(ValueError, match=r"unsupported where operator '\$like'"):
        store.get(where={"kind": {"$like": "f"}})
    with pytest.raises(ValueError, match="expects a list"):
        store.query(query_embeddings=[[1, 0, 0, 0]], where={"$and": {"kind": "fact"}})


def test_mismatched_embeddings_are_refused_before_any_write() -> None:
    store = ChromaClient(embed_fn(4)).get_or_create_collection("c")
    store.add(ids=["a"], embeddings=[[1, 0, 0, 0]], documents=["first"])
    with pytest.raises(ValueError, match="Number of embeddings"):
        store.add(ids=["b"], embeddings=[[1, 0, 0, 0], [0, 1, 0, 0]])
    with pytest.raises(ValueError, match="dimension"):
        store.upsert(ids=["a"], embeddings=[[1, 0]], documents=["second"])
    assert store.get(ids=["a"])["documents"] == ["first"]
    assert store.count() == 1


@pytest.mark.parametrize("space", ["l2", "ip", "cosine"])
def test_nearly_equal_distances_keep_the_reference_order(space: str, products: str) -> None:
    """Rows far from the origin and close together: a dot-product shortcut loses the order.

    l2 scored as |m|^2 - 2 m.q + |q|^2 (and several queries scored by one matrix product)
    round differently from the reference formulas; every row near the cut must be re-scored.
    """
    nrng = np.random.default_rng(7)
    centre = nrng.standard_normal(64) * 300
    rows = centre + nrng.standard_normal((600, 64)) * 1e-3
    queries = (centre + nrng.standard_normal((3, 64)) * 1e-3).tolist()
    stores = [c(embed_fn(64)).get_or_create_collection("c", metadata={"hnsw:space": space})
              for c in (ChromaClient, ReferenceClient)]
    for store in stores:
        store.add(ids=[str(i) for i in range(len(rows))], embeddings=rows.tolist())
    for batch in (queries[:1], queries):
        new, old = (store.query(query_embeddings=batch, n_results=5) for store in stores)
        assert new["ids"] == old["ids"]
        assert_same(new, old)


@pytest.mark.parametrize("space", ["cosine", "ip", "l2"])
@pytest.mark.parametrize("groups", [3, 13])  # 3: scored over the whole matrix; 13: gathered
def test_a_rows_distance_does_not_depend_on_the_other_rows_scored(space: str,
                                                                  groups: int) -> None:
    """A filtered query ranks and scores its rows exactly as the unfiltered one does.

    A BLAS matrix-vector product rounds a row's dot product differently depending on how many
    rows it is handed (seen on AVX-512 kernels), so near-equal rows used to swap places
    between a filtered and an unfiltered query.
    """
    nrng = np.random.default_rng(11)
    rows = nrng.standard_normal((1000, 6)).astype(np.float32)
    store = ChromaClient(embed_fn(6)).get_or_create_collection(
        "c", metadata={"hnsw:space": space})
    store.add(ids=[str(i) for i in range(len(rows))], embeddings=rows.tolist(),
              metadatas=[{"g": i % groups} for i in range(len(rows))])
    for query in nrng.standard_normal((5, 6)).tolist():
        every = store.query(query_embeddings=[query], n_results=len(rows))
        rank = every["ids"][0]
        distance = dict(zip(rank, every["distances"][0], strict=True))
        for group in range(groups):
            some = store.query(query_embeddings=[query], n_results=len(rows),
                               where={"g": group})
            ids = some["ids"][0]
            assert ids == [i for i in rank if int(i) % groups == group]
            assert some["distances"][0] == [distance[i] for i in ids]
