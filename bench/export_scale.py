"""Scale of an exported harness's store: write/read latency at 1k / 10k / 100k memories.

Exports a program (default: the best of a quickstart run, made when --run-dir is absent),
then, for each size, fills one namespace of a fresh on-disk store (``Harness(path)``) with
that many memories and measures, at that size: the median and p95 ms of one more ``add``
(program write + the store's row, the campaign's offline embedder included, no LLM: the
offline path) and of one ``read`` (query step offline, the program's read), the process RSS,
the store file's size (with its WAL), how long ``close`` takes (it writes the namespace's
snapshot) and how long a restart takes until its first read (snapshot restored, newer writes
replayed: the count is printed). Past 20,000 rows with usearch installed, vector search goes
through the int8 pre-filter (``ann.py``), which returns what the exact scan returns: the bench
checks that on 10 of the probes by reading again with the pre-filter off ("equal" column).

    python bench/export_scale.py [--run-dir RUN] [--sizes 1000,10000,100000] [--probes 50]
                                 [--no-prefilter]

``--no-prefilter`` measures the plain float32 scan at every size (EVOLVED_MEMORY_PREFILTER=0).
"""

from __future__ import annotations

import argparse
import importlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THINGS = ("city", "colour", "food", "band", "sport", "book", "film", "pet")
_VOCAB = [f"{a}{b}" for a in ("ka", "lo", "mi", "ne", "su", "ta", "ri", "vo", "pe", "zu",
                              "ba", "do", "fe", "gi", "ho", "ju")
          for b in ("ran", "mel", "tis", "dor", "vak", "sen", "lup", "mor", "gat", "fin",
                    "bel", "cor", "dun", "hal", "kes", "nop")]  # 256 made-up topic words


def memory_text(i: int) -> str:
    """A short conversation turn with a few topic words drawn Zipf-like from a vocabulary, so
    a query word matches a small share of the history (as in a real user's), not all of it."""
    rng = (i * 2654435761) % 2**32
    words = []
    for _ in range(4):
        rng = (rng * 1103515245 + 12345) % 2**31
        words.append(_VOCAB[int(len(_VOCAB) * (rng / 2**31) ** 2)])
    return (f"user: note {i}: we talked about {words[0]} and {words[1]}; my "
            f"{THINGS[i % len(THINGS)]} is {words[2]} since day {i % 365}, said {words[3]}")


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="utf-8") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(0.95 * (len(ordered) - 1))] * 1000


def _export(run_dir: Path | None, out: Path) -> str:
    if run_dir is None:
        run_dir = out.parent / "run"
        subprocess.run([sys.executable, "-m", "evolve.cli", "run",
                        str(ROOT / "examples" / "quickstart.toml"), "--run-dir", str(run_dir),
                        "--quiet"], check=True)
    subprocess.run([sys.executable, "-m", "evolve.cli", "export", str(run_dir), "--best",
                    "--out", str(out)], check=True, capture_output=True)
    return next(out.glob("evolved_*/metadata.json")).parent.name


def measure(package: str, size: int, probes: int, workdir: Path) -> dict[str, float]:
    harness_module = importlib.import_module(package + ".harness")
    path = workdir / f"scale-{size}.sqlite"
    harness = harness_module.Harness(str(path))
    namespace = '["bench", "user"]'
    started = time.perf_counter()
    for i in range(size):
        harness.add(memory_text(i), namespace=namespace)
    fill_s = time.perf_counter() - started
    writes, reads = [], []
    for k in range(probes):
        t0 = time.perf_counter()
        harness.add(memory_text(size + k), namespace=namespace)
        writes.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        harness.read(f"what did we say about {_VOCAB[(k * 37) % len(_VOCAB)]}?",
                     namespace=namespace)
        reads.append(time.perf_counter() - t0)
    rss = _rss_mb()
    ann = importlib.import_module(package + ".ann")
    equal = 0
    for k in range(10):  # the same reads with the pre-filter off: the exact scan's answer
        question = f"what did we say about {_VOCAB[(k * 37) % len(_VOCAB)]}?"
        fast = harness.read(question, namespace=namespace)
        ann.ENABLED, enabled = False, ann.ENABLED
        equal += fast == harness.read(question, namespace=namespace)
        ann.ENABLED = enabled
    t0 = time.perf_counter()
    harness.close()
    close_s = time.perf_counter() - t0
    file_mb = sum(os.path.getsize(f) for f in (str(path), f"{path}-wal")
                  if os.path.exists(f)) / 2**20
    t0 = time.perf_counter()
    reopened = harness_module.Harness(str(path))
    reopened.read("what is my favourite city?", namespace=namespace)
    restart_s = time.perf_counter() - t0
    replayed = reopened.replayed
    reopened.close()
    write_med, write_p95 = _ms(writes)
    read_med, read_p95 = _ms(reads)
    return {"size": size, "write_med": write_med, "write_p95": write_p95, "read_med": read_med,
            "read_p95": read_p95, "rss_mb": rss, "file_mb": file_mb, "fill_s": fill_s,
            "close_s": close_s, "restart_s": restart_s, "replayed": replayed,
            "equal": f"{equal}/10"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, default=None)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--probes", type=int, default=50)
    parser.add_argument("--no-prefilter", action="store_true",
                        help="the float32 scan at every size (for comparison)")
    args = parser.parse_args()
    if args.no_prefilter:
        os.environ["EVOLVED_MEMORY_PREFILTER"] = "0"  # read when the package is imported
    with tempfile.TemporaryDirectory(prefix="export-scale-") as tmp:
        work = Path(tmp)
        package = _export(args.run_dir, work / "pkg")
        sys.path.insert(0, str(work / "pkg"))
        ann = importlib.import_module(package + ".ann")
        if ann.exact_search is not None and ann.ENABLED:
            vectors = (f"int8 pre-filter (usearch) past {ann.INDEX_MIN_ROWS:,} rows, exact "
                       "result; float32 scan below")
        else:
            vectors = "float32 scan at every size (usearch not installed or opted out)"
        print(f"vector search: {vectors}")
        print(f"package {package}; load average {os.getloadavg()[0]:.2f} (1 min) at start, "
              f"{os.cpu_count()} cores")
        print("| memories | write ms (median / p95) | read ms (median / p95) | equal | RSS MB |"
              " file MB | fill s | close s | restart s (replayed) |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for size in (int(s) for s in args.sizes.split(",")):
            row = measure(package, size, args.probes, work)
            print(f"| {row['size']:,} | {row['write_med']:.2f} / {row['write_p95']:.2f} | "
                  f"{row['read_med']:.2f} / {row['read_p95']:.2f} | {row['equal']} | "
                  f"{row['rss_mb']:.0f} | {row['file_mb']:.1f} | {row['fill_s']:.1f} | "
                  f"{row['close_s']:.1f} | {row['restart_s']:.1f} ({row['replayed']}) |",
                  flush=True)
        print(f"load average {os.getloadavg()[0]:.2f} (1 min) at the end")


if __name__ == "__main__":
    main()
