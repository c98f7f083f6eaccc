"""Sandbox overhead benchmark (targets: <= 25 ms per launch, <= 0.2 ms per call).

Run: ``python bench/sandbox.py [--launches 15] [--calls 3000]``. Prints one table measured side
by side in this run:

- launch: time from nothing to a ready worker with a trivial program loaded
  (``SandboxSession.start()``), per working mode, against two baselines -- a bare
  ``python -I -S -c pass`` and the same interpreter importing what the worker imports
  (``python -I -S -c "import evolve_sandbox.worker"`` style) -- and the in-process load of the
  same program. "added" = mode - bare python.
- round trip: one ``write`` and one ``read`` of the trivial program through the sandbox vs
  calling the same ``KnowledgeBase`` in-process; "added" = sandbox - in-process.
- parallel reads: 8 threads issuing reads at once (calls per second).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time

from evolve_sandbox.program import load_program
from evolve_sandbox.toolkit import Toolkit

from evolve.jail import SandboxLimits, SandboxSession, probe_modes
from evolve.jail.bwrap import WORKER_ENV
from evolve.jail.layout import host_lib_dir, jail_sys_path, python_layout

TRIVIAL = '''
from dataclasses import dataclass
INSTRUCTION_KNOWLEDGE_ITEM = "Extract one fact."
INSTRUCTION_QUERY = "Ask for the fact."
INSTRUCTION_RESPONSE = "Answer briefly."
ALWAYS_ON_KNOWLEDGE = ""
@dataclass
class KnowledgeItem:
    text: str
@dataclass
class Query:
    text: str
class KnowledgeBase:
    def __init__(self, toolkit):
        self.items = []
    def write(self, item, raw_text):
        self.items.append(item.text)
        del self.items[:-20]
    def read(self, query):
        return " | ".join(self.items[-3:])
'''


class NullCallbacks:
    def embed(self, texts):
        return [[1.0, 0.0] for _ in texts]

    def llm(self, messages, options):
        return ""

    def log(self, level, message):
        pass


def _launch_ms(fn, n: int) -> tuple[float, float]:
    """(median, min) wall time of ``fn`` in ms; fn returns the part to time."""
    samples = sorted(fn() for _ in range(n))
    return statistics.median(samples), samples[0]


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def _per_call_us(fn, n: int, batches: int = 5) -> float:
    """Best batch mean in microseconds (the machine may be shared: the best batch is the
    least disturbed one)."""
    fn()
    best = float("inf")
    per_batch = max(1, n // batches)
    for _ in range(batches):
        t0 = time.perf_counter()
        for _ in range(per_batch):
            fn()
        best = min(best, (time.perf_counter() - t0) / per_batch * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--launches", type=int, default=15)
    parser.add_argument("--calls", type=int, default=5000)
    args = parser.parse_args()
    modes = [m for m, ok in probe_modes().items() if ok]
    exe = python_layout().executable
    path = jail_sys_path(host_lib_dir())
    unjailed = ("import sys;sys.path[:0]=sys.argv[1].split(':');"
                "import evolve_sandbox.worker, evolve_sandbox.seccomp_apply;"
                "from evolve_sandbox.program import load_program;"
                "from evolve_sandbox.toolkit import Toolkit;"
                "load_program(sys.argv[2], Toolkit(None, None, None))")

    def bare() -> float:
        return _timed(lambda: subprocess.run([exe, "-I", "-S", "-c", "pass"], env=WORKER_ENV,
                                             check=True))

    def worker_floor() -> float:
        return _timed(lambda: subprocess.run([exe, "-I", "-S", "-B", "-c", unjailed, path, TRIVIAL],
                                             env=WORKER_ENV, check=True))

    def in_process() -> float:
        cb = NullCallbacks()
        return _timed(lambda: load_program(TRIVIAL, Toolkit(cb.embed, cb.llm, cb.log)))

    rows: list[tuple[str, str, str]] = []
    bare_ms, bare_min = _launch_ms(bare, args.launches)
    floor_ms, floor_min = _launch_ms(worker_floor, args.launches)
    rows.append(("launch", "bare python -I -S -c pass", f"{bare_ms:7.2f} ms (min {bare_min:.2f})"))
    rows.append(("launch", "worker imports + program load, no jail/protocol",
                 f"{floor_ms:7.2f} ms (min {floor_min:.2f})"))
    rows.append(("launch", "in-process program load",
                 "{:7.2f} ms (min {:.2f})".format(*_launch_ms(in_process, args.launches))))
    for mode in modes:
        def launch(mode: str = mode) -> float:
            session = SandboxSession(TRIVIAL, NullCallbacks(), SandboxLimits(), mode=mode)
            try:
                return _timed(session.start)
            finally:
                session.close()

        launch()  # warm caches (filters, layout, bytecode)
        ms, low = _launch_ms(launch, args.launches)
        rows.append(("launch", f"sandbox {mode}: start() to loaded",
                     f"{ms:7.2f} ms (min {low:.2f})  +{ms - bare_ms:.1f} ms vs bare, "
                     f"+{ms - floor_ms:.1f} ms vs unjailed worker"))

    cb = NullCallbacks()
    program = load_program(TRIVIAL, Toolkit(cb.embed, cb.llm, cb.log))
    item, query = program.item_cls(text="fact"), program.query_cls(text="q")
    local_write = _per_call_us(lambda: program.kb.write(item, "raw"), args.calls)
    local_read = _per_call_us(lambda: program.kb.read(query), args.calls)
    rows.append(("round trip", "in-process write / read",
                 f"{local_write:7.2f} us / {local_read:.2f} us"))
    per_thread = max(1, args.calls // 8)
    for mode in modes:
        with SandboxSession(TRIVIAL, NullCallbacks(), SandboxLimits(), mode=mode) as s:
            s.start()
            w = _per_call_us(lambda s=s: s.write({"text": "fact"}, "raw"), args.calls)
            r = _per_call_us(lambda s=s: s.read({"text": "q"}), args.calls)
            rows.append(("round trip", f"sandbox {mode} write / read",
                         f"{w:7.2f} us / {r:.2f} us  (+{(w - local_write) / 1000:.3f} / "
                         f"+{(r - local_read) / 1000:.3f} ms per call)"))

            def reader(s: SandboxSession = s) -> None:
                for _ in range(per_thread):
                    s.read({"text": "q"})

            threads = [threading.Thread(target=reader) for _ in range(8)]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            rate = 8 * per_thread / (time.perf_counter() - t0)
            rows.append(("parallel", f"sandbox {mode} reads from 8 threads",
                         f"{rate:9.0f} calls/s"))

    load = os.getloadavg()[0]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, load {load:.2f}, "
          f"modes working: {', '.join(modes)}")
    width = max(len(r[1]) for r in rows)
    for section, name, value in rows:
        print(f"{section:<11} {name:<{width}}  {value}")


if __name__ == "__main__":
    main()
