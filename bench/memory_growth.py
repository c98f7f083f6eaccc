"""Does the orchestrator's memory grow with the number of iterations? (issue #6)

Run: ``python bench/memory_growth.py [--iterations 100] [--size small] [--warmup 10]``.
Shorter: ``--iterations 30 --size tiny``.

Runs the offline quickstart campaign (``examples/quickstart.toml``: dialog-synth, offline task
model and offline mutator) in this process and, after the seeds and after every iteration
(``Campaign._step`` wrapped), samples the orchestrator's resident memory (``VmRSS`` of
``/proc/self/status``), DuckDB's own buffer memory (``duckdb_memory()``), the interpreter's allocated blocks
(``sys.getallocatedblocks``), the call records the campaign's model hubs still hold (``hub.calls`` +
``meta_hub.calls``: both should stay at 0, every record being persisted to the database and
released), its open file descriptors, threads and live child processes. At
iterations 10, 25, 50, 75 and 100 (those reached) it also counts Python objects tracked by the
garbage collector and the size of the lineage database (file + write-ahead log).

Printed: the samples at those iterations, then the least-squares slope of RSS per iteration
after ``--warmup`` iterations (whole run and second half separately, so a one-off step is not
mistaken for a trend). A slope under 0.1 MB per iteration counts as no growth.

``--no-pin`` (diagnostic): glibc's mmap threshold is left dynamic, as before the campaign
pinned it, to compare the slopes.

``--tracemalloc`` (diagnostic, ~2x slower): Python allocations are traced and the allocation
sites whose live memory grew most between the end of the warm-up and the last iteration are
printed (8 frames each, evolve's own frames shown), i.e. what a long campaign keeps per
iteration. Memory that DuckDB, numpy's BLAS or glibc hold outside Python is not seen there.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import shutil
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

from _fake_llm import (
    descendants,
    load_text,
    mb,
    open_fds,
    print_table,
    proc_status_kb,
    run_campaign,
)

from evolve.campaign.loop import Campaign

CHECKPOINTS = (10, 25, 50, 75, 100, 150, 200, 250, 300)
REPO = Path(__file__).resolve().parents[1]
NO_GROWTH_MB = 0.1
TRACE_FRAMES = 8


class SampledCampaign(Campaign):
    """A campaign that samples this process's memory after the seeds and every iteration."""

    samples: list[dict[str, Any]]

    trim = False
    trace_from: int | None = None  # iteration whose end starts the tracemalloc comparison
    traces: list[tracemalloc.Snapshot]

    def _sample(self, iteration: int) -> None:
        if self.trim:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        row = {"iteration": iteration, "rss_kb": proc_status_kb("self", "VmRSS"),
               "py_blocks": sys.getallocatedblocks(), "records": len(self.hub.calls) + len(self.meta_hub.calls),
               "duckdb_mb": self.store.query("SELECT coalesce(sum(memory_usage_bytes), 0) "
                                             "FROM duckdb_memory()")[0][0] / 2**20,
               "fds": open_fds(), "threads": threading.active_count(),
               "children": len(descendants(os.getpid())), "t": time.monotonic()}
        if iteration in CHECKPOINTS or iteration == self.config.search.iterations:
            # a campaign freezes its setup objects, and get_objects() leaves frozen ones out
            row["objects"] = len(gc.get_objects()) + gc.get_freeze_count()
            files = [self.run_dir / "lineage.duckdb", self.run_dir / "lineage.duckdb.wal"]
            row["db_mb"] = sum(f.stat().st_size for f in files if f.exists()) / 2**20
        self.samples.append(row)
        if tracemalloc.is_tracing() and iteration in (self.trace_from, self.config.search.iterations):
            self.traces.append(tracemalloc.take_snapshot())

    def _step(self, iteration: int) -> float | None:
        if not hasattr(self, "samples"):  # the first step: the seeds are evaluated by now
            self.samples, self.traces = [], []
            self._sample(0)
        result = super()._step(iteration)
        self._sample(iteration)
        if iteration == self.config.search.iterations:
            self.duckdb_tags = self.store.query(
                "SELECT tag, memory_usage_bytes / 2**20 FROM duckdb_memory() "
                "WHERE memory_usage_bytes > 0 ORDER BY 2 DESC")
            self.duckdb_settings = self.store.query(
                "SELECT name, value FROM duckdb_settings() WHERE name IN "
                "('memory_limit', 'threads', 'checkpoint_threshold')")
        return result


def slope(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of y over x (None with fewer than 3 points)."""
    if len(points) < 3:
        return None
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else None


def print_growth(traces: list[tracemalloc.Snapshot], iterations: int, top: int = 12) -> None:
    """The allocation sites whose live memory grew most between the two snapshots."""
    if len(traces) < 2:
        print("tracemalloc: fewer than two snapshots (is --iterations above --warmup?)")
        return
    keep = [tracemalloc.Filter(False, tracemalloc.__file__),
            tracemalloc.Filter(False, "<frozen importlib._bootstrap*>")]
    first, last = (t.filter_traces(keep) for t in traces)
    stats = last.compare_to(first, "traceback")
    grown = sum(s.size_diff for s in stats)
    print(f"tracemalloc: Python memory {grown / 2**20:+.2f} MB over {iterations} iterations "
          f"({grown / 2**20 / max(1, iterations):+.3f} MB/iteration); largest growth:")
    for stat in stats[:top]:
        print(f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks")
        frames = [f for f in stat.traceback if "/evolve/" in f.filename or "bench" in f.filename]
        for frame in (frames or list(stat.traceback))[-4:]:
            name = frame.filename
            if name.startswith(str(REPO)):
                name = os.path.relpath(name, REPO)
            print(f"      {name}:{frame.lineno}")


def _fmt(value: float | None, unit: str) -> str:
    return "-" if value is None else f"{value:+.3f} {unit}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--size", default="small", help="dialog-synth size")
    parser.add_argument("--warmup", type=int, default=10, help="iterations left out of the slope")
    parser.add_argument("--trim", action="store_true",
                        help="diagnostic: glibc malloc_trim(0) before every sample, to tell "
                             "memory held by the allocator from memory still in use")
    parser.add_argument("--no-pin", action="store_true",
                        help="diagnostic: leave glibc's mmap threshold dynamic (the campaign "
                             "pins it; see evolve/campaign/memory.py)")
    parser.add_argument("--keep", action="store_true", help="keep the run directory")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="diagnostic: print the Python allocation sites that grew after "
                             "the warm-up (slower)")
    args = parser.parse_args()
    if args.tracemalloc:
        SampledCampaign.trace_from = args.warmup
        tracemalloc.start(TRACE_FRAMES)

    if args.no_pin:
        import evolve.campaign.loop as loop

        loop.pin_mmap_threshold = lambda: False
    root = Path(tempfile.mkdtemp(prefix="bench-growth-"))
    print(f"memory_growth: offline quickstart, dialog-synth {args.size}, {args.iterations} "
          f"iterations, mmap threshold {'dynamic' if args.no_pin else 'pinned'}; "
          f"{load_text()}; run in {root}", flush=True)
    before = proc_status_kb("self", "VmRSS")
    SampledCampaign.trim = args.trim
    try:
        outcome, campaign, seconds = run_campaign(
            root / "run", [f"task.args.size={args.size}", f"search.iterations={args.iterations}"],
            SampledCampaign)
        samples = campaign.samples
        wanted = {0, *CHECKPOINTS, args.iterations}
        rows = []
        start_t = samples[0]["t"]
        for s in samples:
            if s["iteration"] not in wanted:
                continue
            rows.append([s["iteration"], mb(s["rss_kb"]), f"{s['duckdb_mb']:.1f}",
                         s["py_blocks"], s["records"], s["fds"], s["threads"], s["children"],
                         s.get("objects", "-"),
                         f"{s['db_mb']:.1f}" if "db_mb" in s else "-",
                         f"{s['t'] - start_t:.0f}"])
        print_table(["iteration", "RSS MB", "duckdb MB", "py blocks", "hub records",
                     "open fds", "threads", "child procs", "gc objects",
                     "db+wal MB", "s since seeds"], rows)
        points = [(s["iteration"], s["rss_kb"] / 1024) for s in samples
                  if s["iteration"] > args.warmup and s["rss_kb"] is not None]
        whole = slope(points)
        half = slope(points[len(points) // 2:])
        fds = [s["fds"] for s in samples if s["iteration"] > args.warmup]
        duck = [(s["iteration"], s["duckdb_mb"]) for s in samples if s["iteration"] > args.warmup]
        blocks = [(s["iteration"], s["py_blocks"]) for s in samples
                  if s["iteration"] > args.warmup]
        records = [(s["iteration"], s["records"]) for s in samples
                   if s["iteration"] > args.warmup]
        print(f"other slopes after the warm-up, per iteration: DuckDB buffer memory "
              f"{_fmt(slope(duck), 'MB')}, Python allocated blocks {_fmt(slope(blocks), 'blocks')}"
              f", hub call records {_fmt(slope(records), 'records')}")
        tags = ", ".join(f"{tag} {size:.1f}" for tag, size in getattr(campaign, "duckdb_tags", []))
        settings = ", ".join(f"{k}={v}" for k, v in getattr(campaign, "duckdb_settings", []))
        print(f"DuckDB memory at the end by tag (MB): {tags or '-'}; settings: {settings}")
        print(f"RSS before the campaign {mb(before)} MB; peak (VmHWM) "
              f"{mb(proc_status_kb('self', 'VmHWM'))} MB; campaign {seconds:.0f} s, "
              f"stop: {outcome.stop_reason}")
        if whole is None:
            print("too few iterations after the warm-up for a slope")
        else:
            verdict = "no growth" if max(whole, half or 0.0) < NO_GROWTH_MB else "GROWTH"
            print(f"RSS slope after iteration {args.warmup}: {whole:+.3f} MB/iteration "
                  f"(second half {half:+.3f} MB/iteration) -> {verdict} "
                  f"(threshold {NO_GROWTH_MB} MB/iteration); open fds after warm-up "
                  f"{min(fds)}..{max(fds)}")
        if args.tracemalloc:
            print_growth(campaign.traces, args.iterations - args.warmup)
        print(f"after: {load_text()}")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
