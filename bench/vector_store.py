"""The vector store every vector seed uses (``sandbox/chroma.py``), old and new side by side.

Run: ``python bench/vector_store.py [--adds 1000,10000] [--rows 10000,100000] [--queries 30]
[--repeats 3] [--space cosine] [--dim 1280] [--skip-reference-adds-above 10000]``.

"reference" is the store as it was before the matrix rewrite (``tests/fakes/chroma_reference.py``,
kept for the property test), "new" is ``sandbox/chroma.py``; both run in this process, on the
same vectors, interleaved, so machine load hits both alike: read the ratios.

- ingest: ``--adds`` single ``add(ids=[i], embeddings=[v], metadatas=[m])`` calls of
  unit-normalised ``--dim`` vectors (what the hybrid offline embedder produces), timed in full;
  the new store is timed ``--repeats`` times (median), the reference once (it is quadratic);
- query: collections of ``--rows`` rows (one bulk add, not timed), then ``--queries`` queries of
  ``n_results=10``, alternating reference and new, median ms each: unfiltered, ``where`` on one
  key (a quarter of the rows match), and ``$and`` of an equality and a range.

Every query's ids are compared between the two stores (a mismatch is printed and exits 1).
BLAS runs on one thread (``OPENBLAS_NUM_THREADS=1``, as in the sandbox) unless set already.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: the sandbox's setting

import numpy as np  # noqa: E402
from _fake_llm import load_text, print_table, ratio  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from evolve_sandbox.chroma import ChromaClient  # noqa: E402
from fakes.chroma_reference import ChromaClient as ReferenceClient  # noqa: E402

KINDS = ("fact", "event", "plan", "note")
FILTERS = {
    "query": None,
    "query where kind=fact": {"kind": "fact"},
    "query where $and(kind, day>=)": {"$and": [{"kind": {"$in": ["fact", "plan"]}},
                                               {"day": {"$gte": 15}}]},
}


def unit_vectors(count: int, dim: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((count, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def metadata(i: int) -> dict:
    return {"kind": KINDS[i % 4], "day": i % 28, "session": f"s{i // 50}"}


def collection(client_class: type, space: str):
    return client_class(lambda texts: []).create_collection("bench", metadata={"hnsw:space": space})


def ingest_seconds(client_class: type, vectors: np.ndarray, space: str) -> float:
    store = collection(client_class, space)
    start = time.perf_counter()
    for i, vector in enumerate(vectors):
        store.add(ids=[str(i)], embeddings=[vector], metadatas=[metadata(i)])
    elapsed = time.perf_counter() - start
    assert store.count() == len(vectors)
    return elapsed


def bench_ingest(args: argparse.Namespace) -> list[list]:
    rows = []
    for count in args.adds:
        vectors = unit_vectors(count, args.dim, seed=count)
        new = statistics.median(ingest_seconds(ChromaClient, vectors, args.space)
                                for _ in range(args.repeats))
        old = (ingest_seconds(ReferenceClient, vectors, args.space)
               if count <= args.skip_reference_adds_above else None)
        rows.append([f"{count:,} single adds (s)", f"{old:.2f}" if old is not None else "skipped",
                     f"{new:.3f}", ratio(old, new, 1), "<= 3" if count == 10_000 else ""])
    return rows


def bench_queries(args: argparse.Namespace) -> tuple[list[list], list[str]]:
    rows, mismatches = [], []
    for count in args.rows:
        vectors = unit_vectors(count, args.dim, seed=1)
        ids = [str(i) for i in range(count)]
        metas = [metadata(i) for i in range(count)]
        stores = []
        for client_class in (ReferenceClient, ChromaClient):
            store = collection(client_class, args.space)
            store.add(ids=ids, embeddings=vectors, metadatas=metas)
            stores.append(store)
        queries = unit_vectors(args.queries, args.dim, seed=2)
        for label, where in FILTERS.items():
            times: list[list[float]] = [[], []]
            for query in queries:
                found = []
                for side, store in enumerate(stores):
                    start = time.perf_counter()
                    result = store.query(query_embeddings=[query], n_results=10, where=where)
                    times[side].append(time.perf_counter() - start)
                    found.append(result["ids"])
                if found[0] != found[1]:
                    mismatches.append(f"{label} at {count:,} rows: {found[0]} != {found[1]}")
            old, new = (statistics.median(t) * 1000 for t in times)
            target = {10_000: "<= 5", 100_000: "<= 50"}.get(count, "") if where is None else ""
            rows.append([f"{label} @ {count:,} rows (ms)", f"{old:.1f}", f"{new:.2f}",
                         ratio(old, new, 1), target])
        del stores
    return rows, mismatches


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--adds", default="1000,10000")
    parser.add_argument("--rows", default="10000,100000")
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--space", default="cosine", choices=["cosine", "l2", "ip"])
    parser.add_argument("--dim", type=int, default=1280)
    parser.add_argument("--skip-reference-adds-above", type=int, default=10_000)
    args = parser.parse_args()
    args.adds = [int(x) for x in args.adds.split(",") if x]
    args.rows = [int(x) for x in args.rows.split(",") if x]
    print(f"load before: {load_text()}; space {args.space}, dim {args.dim}, "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
    rows = bench_ingest(args)
    query_rows, mismatches = bench_queries(args)
    print_table(["measurement", "reference", "new", "speed-up", "target"], rows + query_rows,
                title="Vector store (sandbox/chroma.py): reference (before) vs new, same run")
    print(f"load after: {load_text()}")
    for line in mismatches:
        print("MISMATCH", line)
    return 1 if mismatches else 0


if __name__ == "__main__":
    raise SystemExit(main())
