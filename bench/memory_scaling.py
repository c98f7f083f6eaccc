"""Ingestion and read cost of the seed programs as memory grows to 10,000 episodes (issue #6).

Run: ``python bench/memory_scaling.py [--sizes 100,1000,10000] [--seeds core|all|a,b,...]
[--modes sandbox,inprocess] [--reads 50] [--cap 120]``. Shorter: ``--sizes 100,1000
--seeds vector_search,bm25``. All 13+ seeds: ``--seeds all`` (roughly an hour at 10,000).
The default ``--seeds core`` is no_memory, full_context, vector_search, bm25, mem0_facts.

Corpus: dialog-synth sessions (``generate_samples("full", seed=k)`` for k = 0, 1, ...,
240 sessions per k, concatenated in order) as episodes, and ``--reads`` questions of the
conversations held by the first ``min(--sizes)`` episodes, so every size is read with the same
questions. Per seed, the offline task model fills the program's KnowledgeItem for every
episode and its Query for every question ONCE, before and outside any timing.

Each (seed, size, mode) then runs in a fresh process (so its peak memory is its own), writing
the first ``size`` items in order and reading the questions:

- ``sandbox``: through ``SandboxSession`` (the jailed worker of a real evaluation), toolkit
  callbacks served by the offline embedder and the offline model;
- ``inprocess``: the program loaded in the process itself with ``sandbox.toolkit.Toolkit``
  (as an exported harness runs it).

One warm-up write and read (then a fresh KnowledgeBase) precede the timing, so imports and
model loading are not counted. Reported: total write time, ms per write, mean ms per read,
peak RSS (VmHWM) of the sandbox worker (the jailed Python process under ``session.pid``) and of
the process driving it ("orchestrator"; in-process: the only process), and the RSS that process
had before the first write (mostly the items held in memory). A (seed, size, mode) that exceeds
``--cap`` seconds (writes and reads together) is stopped and reported as "timeout" with how far
it got. Finally the growth of the per-call costs from 1,000 to 10,000 episodes (and from 100 to
1,000) is printed per seed: ~1x means constant per call, ~10x linear in the memory size.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import multiprocessing
import os
import pickle
import shutil
import tempfile
import time
import types
from pathlib import Path
from typing import Any

# BLAS on one thread in every process of the bench, as the sandbox's worker has it: with two
# threads on two busy cores each vector query of an in-process run cost ~5x more (mem0_facts at
# 1,000 episodes: 100 ms per write in-process against 19 ms in the sandbox, load average 17).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy; spawned children inherit it

from _fake_llm import descendants, load_text, mb, print_table, proc_status_kb, ratio  # noqa: E402

CORE_SEEDS = ["no_memory", "full_context", "vector_search", "bm25", "mem0_facts"]
SESSIONS_PER_DATA_SEED = 240


# -- corpus and items (outside the timing) ------------------------------------------------------

def build_corpus(n_episodes: int, n_questions: int, first_size: int
                 ) -> tuple[list[str], list[str]]:
    """Episode texts (``n_episodes``, in order) and questions about the first ``first_size``."""
    from evolve.tasks.locomo import LocomoTask
    from evolve.tasks.synth.dialog_synth import generate_samples

    data_seeds = max(1, math.ceil(n_episodes / SESSIONS_PER_DATA_SEED))
    samples = [s for k in range(data_seeds) for s in generate_samples("full", seed=k)]
    groups = LocomoTask(samples, source="bench:memory_scaling").groups("all")
    texts, covered, seen = [], [], 0
    for group in groups:
        if seen + len(group.episodes) <= first_size:
            covered.extend(group.items)
        seen += len(group.episodes)
        texts.extend(e.text for e in group.episodes)
    if not covered:  # smallest size below one conversation: questions of the first one
        covered = list(groups[0].items)
    step = max(1, len(covered) // n_questions)
    questions = [it.question for it in covered[::step][:n_questions]]
    return texts[:n_episodes], questions


def program_view(source: str) -> types.SimpleNamespace:
    """constants / item_fields / query_fields of a program (loaded in-process, no callbacks)."""
    from evolve_sandbox.program import load_program
    from evolve_sandbox.toolkit import Toolkit

    info = load_program(source, Toolkit(lambda t: [], lambda m, o: "", lambda lv, m: None)).info
    return types.SimpleNamespace(**info)


def fill_items(source: str, texts: list[str], questions: list[str], memo: dict[str, Any]
               ) -> tuple[list[dict], list[dict], float]:
    """KnowledgeItems and Queries from the offline task model; reused by programs whose
    instructions and schemas are identical. Returns (items, queries, seconds spent)."""
    from evolve.agent.qa_agent import QAAgent
    from evolve.llm.factory import build_hub

    view = program_view(source)
    c = view.constants
    key_of = {"item": [c["INSTRUCTION_KNOWLEDGE_ITEM"], view.item_fields],
              "query": [c["INSTRUCTION_QUERY"], view.query_fields]}
    keys = {k: hashlib.sha256(json.dumps(v, sort_keys=True).encode()).hexdigest()
            for k, v in key_of.items()}
    started = time.monotonic()
    agent = QAAgent(build_hub(cache_path="off"), view)
    if keys["item"] not in memo:
        items = []
        for text in texts:
            item = agent.extract(text).item
            items.append(item if item is not None else {})
        memo[keys["item"]] = items
    if keys["query"] not in memo:
        memo[keys["query"]] = [agent.form_query(q).query for q in questions]
    return memo[keys["item"]], memo[keys["query"]], time.monotonic() - started


# -- one measurement, in its own process ---------------------------------------------------------

class OfflineCallbacks:
    """Toolkit callbacks of the sandbox: offline embedder and offline model."""

    def __init__(self) -> None:
        from evolve.llm.embedder_factory import make_embedder
        from evolve.llm.offline import OfflineModel

        self.embedder = make_embedder("offline")
        self.model = OfflineModel()
        self.llm_calls = 0

    def embed(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed(list(texts)).tolist()

    def llm(self, messages: list[dict], options: dict) -> str:
        self.llm_calls += 1
        return self.model.complete(messages, json_mode=bool(options.get("json_mode"))).text

    def log(self, level: str, message: str) -> None:
        pass


def _open(source: str, mode: str, cap: float, callbacks: OfflineCallbacks) -> Any:
    """(write, read, reset, worker pid or None, closer) for ``mode``."""
    if mode == "sandbox":
        from evolve.jail import SandboxLimits, SandboxSession

        session = SandboxSession(source, callbacks, SandboxLimits(call_timeout_s=cap), "auto")
        session.start()
        return session.write, session.read, session.reset, lambda: session.pid, session.close
    from evolve_sandbox.program import build_instance, load_program
    from evolve_sandbox.toolkit import Toolkit

    def fresh() -> Any:
        return load_program(source, Toolkit(callbacks.embed, callbacks.llm, callbacks.log))

    holder = [fresh()]

    def reset() -> None:
        holder[0] = fresh()

    def write(item: dict, raw: str) -> None:
        holder[0].kb.write(build_instance(holder[0].item_cls, item), raw)

    def read(query: dict) -> str:
        return holder[0].kb.read(build_instance(holder[0].query_cls, query))

    return write, read, reset, lambda: None, lambda: None


def _worker_hwm(pid: int | None) -> int | None:
    if pid is None:
        return None
    values = [proc_status_kb(p, "VmHWM") for p in [pid, *descendants(pid)]]
    values = [v for v in values if v is not None]
    return max(values) if values else None


def measure(conn: Any, job: dict[str, Any]) -> None:
    """Child process: write ``size`` items, read the queries, report figures on ``conn``."""
    with open(job["data"], "rb") as handle:
        data = pickle.load(handle)
    size, cap = job["size"], job["cap"]
    texts, items, queries = data["texts"][:size], data["items"][:size], data["queries"]
    callbacks = OfflineCallbacks()
    callbacks.embed(["warm-up"])  # load the embedder before timing
    out: dict[str, Any] = {"status": "ok", "writes": 0, "reads": 0, "errors": 0}
    write, read, reset, worker_pid, close = _open(job["source"], job["mode"], cap, callbacks)
    try:
        write(items[0], texts[0])  # warm-up: imports inside the worker, first embed
        read(queries[0])
        reset()
        out["rss_before"] = proc_status_kb("self", "VmRSS")
        started = time.monotonic()
        deadline = started + cap
        for item, text in zip(items, texts, strict=True):
            try:
                write(item, text)
            except Exception as exc:  # noqa: BLE001 - a program error is counted, not fatal
                out["errors"] += 1
                out["last_error"] = f"{type(exc).__name__}: {exc}"[:200]
                if "Violation" in type(exc).__name__:
                    raise
            out["writes"] += 1
            if time.monotonic() > deadline:
                out["status"] = "timeout"
                break
        out["write_s"] = time.monotonic() - started
        read_times = []
        if out["status"] == "ok":
            for query in queries:
                t0 = time.perf_counter()
                try:
                    read(query)
                except Exception as exc:  # noqa: BLE001
                    out["errors"] += 1
                    out["last_error"] = f"{type(exc).__name__}: {exc}"[:200]
                    if "Violation" in type(exc).__name__:
                        raise
                read_times.append(time.perf_counter() - t0)
                if time.monotonic() > deadline:
                    out["status"] = "timeout"
                    break
        out["reads"] = len(read_times)
        out["read_ms"] = sum(read_times) / len(read_times) * 1000 if read_times else None
        out["worker_hwm"] = _worker_hwm(worker_pid())
    except Exception as exc:  # noqa: BLE001 - reported as the row's status
        out["status"] = f"failed: {type(exc).__name__}: {exc}"[:120]
    finally:
        close()
    out["self_hwm"] = proc_status_kb("self", "VmHWM")
    out["llm_calls"] = callbacks.llm_calls
    conn.send(out)


def run_job(job: dict[str, Any], grace_s: float = 90.0) -> dict[str, Any]:
    """``measure`` in a fresh process; killed (status "timeout") if it overruns the cap."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    process = ctx.Process(target=measure, args=(child, job), daemon=True)
    process.start()
    child.close()
    try:
        if parent.poll(job["cap"] + grace_s):
            return parent.recv()
        return {"status": "timeout (killed)", "writes": None}
    except EOFError:
        return {"status": f"failed: process exited with {process.exitcode}", "writes": None}
    finally:
        if process.is_alive():
            process.kill()  # only the process started above
        process.join(10)


# -- driver ---------------------------------------------------------------------------------------

def _row(seed: str, mode: str, size: int, r: dict[str, Any]) -> list[Any]:
    writes = r.get("writes")
    write_s = r.get("write_s")
    status = r["status"] if r["status"] != "timeout" else f"timeout@{writes}"
    per_write = f"{write_s / writes * 1000:.3f}" if writes and write_s is not None else "-"
    return [seed, mode, size, status, f"{write_s:.2f}" if write_s is not None else "-",
            per_write, f"{r['read_ms']:.3f}" if r.get("read_ms") is not None else "-",
            r.get("reads", "-"), mb(r.get("worker_hwm")), mb(r.get("self_hwm")),
            mb(r.get("rss_before")), r.get("errors", "-")]


def _growth(results: dict[tuple[str, str, int], dict[str, Any]], seeds: list[str],
            modes: list[str], sizes: list[int]) -> None:
    def per_call(r: dict[str, Any] | None, what: str) -> float | None:
        if not r or r["status"] != "ok":
            return None
        if what == "write":
            return r["write_s"] / r["writes"] if r.get("writes") else None
        return r.get("read_ms")

    pairs = [(a, b) for a, b in zip(sizes, sizes[1:], strict=False)]
    rows = []
    for seed in seeds:
        for mode in modes:
            row: list[Any] = [seed, mode]
            for a, b in pairs:
                for what in ("write", "read"):
                    row.append(ratio(per_call(results.get((seed, mode, b)), what),
                                     per_call(results.get((seed, mode, a)), what), 1))
            rows.append(row)
    headers = ["seed", "mode"] + [f"{w}/call {b}/{a}" for a, b in pairs for w in ("write", "read")]
    print_table(headers, rows, "growth of the per-call cost with the memory size "
                               "(1x: constant, 10x: linear in a 10x larger memory)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=lambda s: sorted(int(x) for x in s.split(",")),
                        default=[100, 1000, 10000], help="episode counts (default 100,1000,10000)")
    parser.add_argument("--seeds", default="core",
                        help="core (default: " + ",".join(CORE_SEEDS) + "), all, or a list")
    parser.add_argument("--modes", default="sandbox,inprocess", help="sandbox,inprocess")
    parser.add_argument("--reads", type=int, default=50, help="reads per measurement")
    parser.add_argument("--cap", type=float, default=120.0,
                        help="seconds per (seed, size, mode), writes and reads together")
    args = parser.parse_args()

    from evolve.seeds import list_seeds, seed_source

    if args.seeds == "core":
        seeds = CORE_SEEDS
    elif args.seeds == "all":
        seeds = [info.name for info in list_seeds()]
    else:
        seeds = [s.strip() for s in args.seeds.split(",") if s.strip()]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    print(f"memory_scaling: seeds {', '.join(seeds)}; sizes {args.sizes}; modes {modes}; "
          f"{args.reads} reads; cap {args.cap:.0f} s; {load_text()}", flush=True)
    started = time.monotonic()
    texts, questions = build_corpus(max(args.sizes), args.reads, min(args.sizes))
    print(f"corpus: {len(texts)} episodes (mean {sum(map(len, texts)) / len(texts):.0f} chars), "
          f"{len(questions)} questions, built in {time.monotonic() - started:.1f} s", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="bench-memscale-"))
    memo: dict[str, Any] = {}
    results: dict[tuple[str, str, int], dict[str, Any]] = {}
    rows = []
    headers = ["seed", "mode", "episodes", "status", "write s", "ms/write", "ms/read", "reads",
               "worker peak MB", "orchestrator peak MB", "RSS before writes MB", "errors"]
    try:
        for seed in seeds:
            source = seed_source(seed)
            items, queries, prep = fill_items(source, texts, questions, memo)
            print(f"{seed}: items and queries filled in {prep:.1f} s (not timed below)",
                  flush=True)
            for size in args.sizes:
                data = tmp / f"{seed}-{size}.pickle"  # only what this size needs
                with open(data, "wb") as handle:
                    pickle.dump({"texts": texts[:size], "items": items[:size],
                                 "queries": queries}, handle)
                for mode in modes:
                    result = run_job({"source": source, "mode": mode, "size": size,
                                      "cap": args.cap, "data": str(data)})
                    results[(seed, mode, size)] = result
                    rows.append(_row(seed, mode, size, result))
                    print("  " + "  ".join(str(c) for c in rows[-1])
                          + (f"  ({result['last_error']})" if result.get("last_error") else ""),
                          flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    print_table(headers, rows, "per seed, size and mode")
    if len(args.sizes) > 1:
        _growth(results, seeds, modes, args.sizes)
    print(f"total {time.monotonic() - started:.0f} s; after: {load_text()}")


if __name__ == "__main__":
    main()
