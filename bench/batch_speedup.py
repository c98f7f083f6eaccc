"""Campaign throughput with ``parallel.batch_size`` 1, 2 and 4 (issue #6).

Run: ``python bench/batch_speedup.py [--children 16] [--batches 1,2,4] [--latency 0.2,1.0]
[--mode both|offline|endpoint] [--schedule rounds,steady] [--size tiny] [--val-size 20]
[--repeat 1]``. Shorter:
``--children 8 --mode endpoint --latency 0.2``. On a noisy machine: ``--repeat 3``.

The quickstart campaign (``examples/quickstart.toml``, dialog-synth ``--size`` with
``data.val_size = --val-size`` so the rotating reflection set is not empty) is run once
(``--repeat`` times, interleaved) per batch size with ``search.iterations = children / batch``
so every run proposes the same number of children, batch sizes above 1 once per
``--schedule`` (``parallel.schedule``: ``rounds``, each round waiting for its slowest child,
and ``steady``, batch-size children always in flight with a one-round lag on the pool,
``evolve/campaign/steady.py``), in these settings:

(a) ``offline``: offline task model and offline mutator (CPU-bound: 2 cores here);
(b), (c) ``endpoint``: task AND reflector roles on the benchmark fake endpoint
    (``_fake_llm.py``, the offline model behind it, small valid patches as meta-agent replies),
    one series per ``--latency`` (default 200 ms and 1 s per request: 200 ms is a fast
    endpoint, under which four evaluations at once on two cores are partly CPU-bound; 1 s is
    closer to a hosted chat model's latency), ``models.concurrency = --concurrency`` (512:
    enough that the endpoint's latency, not the client's cap on requests in flight, bounds a
    round of 8 children; an evaluation sends one extraction per session at once, ~32 here,
    so 128 made every child of a round of 8 wait one extra latency: 3.0-3.1 s against
    2.1-2.3 s per ordinary child evaluation at 1 s), ``search.mutation = patch``, cache off.

Per run: loop time (the iterations only; seeds and the final test evaluation are fixed costs
outside it, timed by wrapping ``Campaign._step``, or the whole steady schedule, whose phases
overlap and are not split), children evaluated on the static set, children
per minute and the ratio to batch 1, and where the loop time went: reflection evaluations with
the proposals (one phase: each proposal starts as soon as its parent's reflection is stored,
and each child's gate and evaluation as soon as its proposal and the ones before it are in;
the phase ends when the round's last child has started), the wait for the child evaluations
after that, and gate-fix meta calls, timed by wrapping the evaluator's feed and the meta-call
hook; "other" is storing and database work. A second table gives the CPU seconds per evaluated
child during the iterations, by process (this one, the orchestrator; the sandbox workers and
bwrap; the benchmark endpoint), and the bound they set: with C the CPU seconds of a child and L
the rest of its wall time at batch 1, batch B on N cores reaches at most
B(C+L) / max(B*C/N, C+L) times the children per minute of batch 1. With ``--repeat`` > 1 the row of a
batch size is its run with the median loop time, and "range s" the fastest and slowest loop.
The top batch size is run at least twice with the same seed and the lineage databases are
compared (SELECT id, parent_ids, iteration, gate_status, score ...): they must be identical.

Acceptance (issue #18, ``TARGETS``): against the 200 ms endpoint batch 4 gives >= 3.2x the
evaluated children per minute of batch 1; against the 1 s endpoint batch 4 >= 3.7x and batch 8
>= 6x; repeated runs give identical results. Use ``--batches 1,4,8 --children 16`` (two rounds of 8:
the first round's parents are all seeds, so batch 8 draws the slower ``llm_summarizer`` seed
far more often than batch 1 does; ``--children 48`` weighs that first round less). A profile from the
databases (evaluation duration_s per split, LLM call counts and latencies per role) is printed
for the endpoint runs.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from _fake_llm import (
    FakeEndpoint,
    compare_runs,
    endpoint_overrides,
    load_text,
    print_table,
    query_run,
    ratio,
    run_campaign,
    use_dummy_key,
)

from evolve.campaign.loop import Campaign

# issue #18: children/minute over batch 1, per (endpoint latency s, batch size)
TARGETS = {(0.2, 4): 3.2, (1.0, 4): 3.7, (1.0, 8): 6.0}


class TimedCampaign(Campaign):
    """A campaign that records how long its steps and their phases take (bench only)."""

    def _prepare(self) -> None:
        super()._prepare()
        self.phases: dict[str, float] = defaultdict(float)
        self.step_seconds: list[float] = []
        self.cpu = CpuMeter()  # over the steps only, like the loop time
        self._in_step = False
        self._depth = 0  # meta-call nesting: the round itself is depth 1, its fixes deeper
        self._step_started = 0.0
        self._evaluating = False  # the round's first wait for child evaluations has begun
        make_feed = self.evaluator.feed

        def timed_feed() -> Any:
            feed = make_feed()
            results = feed.results

            def timed_results() -> Any:
                started = time.monotonic()
                if self._in_step and not self._evaluating:
                    # reflections, proposals and gating up to the last child's start
                    self.phases["reflect+propose"] += started - self._step_started
                    self._evaluating = True
                try:
                    return results()
                finally:
                    if self._in_step:
                        self.phases["child eval"] += time.monotonic() - started

            feed.results = timed_results
            return feed

        self.evaluator.feed = timed_feed  # ChildDeveloper holds the same evaluator

    def _meta_call(self, call: Any) -> Any:
        # The round runs inside one meta call (its proposals stream into the children's gates
        # and evaluations, bench docstring); the nested ones are gate fixes and repairs.
        self._depth += 1
        started = time.monotonic()
        try:
            return super()._meta_call(call)
        finally:
            self._depth -= 1
            if self._depth > 0 or self.steady:
                self.phases["fixes"] += time.monotonic() - started

    def _step(self, iteration: int) -> float | None:
        self._in_step, self._evaluating = True, False
        self.cpu.start()
        started = self._step_started = time.monotonic()
        try:
            return super()._step(iteration)
        finally:
            self.step_seconds.append(time.monotonic() - started)
            self.cpu.stop()
            self._in_step = False

    def _run_steady(self, done: int) -> tuple[int, str]:
        # no rounds to time one by one: the whole schedule is the loop (its phases overlap,
        # so they are not split; fixes are its only meta calls)
        self.cpu.start()
        started = time.monotonic()
        try:
            return super()._run_steady(done)
        finally:
            self.step_seconds.append(time.monotonic() - started)
            self.cpu.stop()


_TICK = os.sysconf("SC_CLK_TCK")


def _proc_times(pid: int) -> tuple[int, float] | None:
    """(start time, own CPU seconds) of ``pid``; None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            stat = handle.read()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()
    return int(fields[19]), (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime


class CpuMeter:
    """CPU seconds by this process (the orchestrator: campaign loop, model clients,
    database), by the benchmark endpoint's process, and by every other process below this one
    (the sandbox workers and bwrap, spares included), summed over ``start``/``stop`` spans.

    The orchestrator's figure comes from ``getrusage``. Workers end by being killed, so their
    CPU never reaches a parent's children figure: a thread reads every descendant's own CPU
    from /proc every ``PERIOD`` seconds, and a process's share of a span is its last reading
    minus its reading at the span's start (0 if it started later). A worker that ends loses at
    most its last ``PERIOD``."""

    PERIOD = 0.1
    endpoint_pid: int | None = None  # set while an endpoint series runs

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self._own = 0.0
        self._first: dict[tuple[int, int], float] = {}
        self._last: dict[tuple[int, int], float] = {}
        self._seen_at_start: set[tuple[int, int]] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def _subtree() -> list[int]:
        """Pids below this process, from each process's /proc children lists (reading every
        process on a busy machine, as ``descendants`` does, cost more than what it measured)."""
        found, todo = [], [os.getpid()]
        while todo:
            pid = todo.pop()
            try:
                tasks = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue
            for tid in tasks:
                try:
                    with open(f"/proc/{pid}/task/{tid}/children", encoding="ascii") as handle:
                        kids = [int(x) for x in handle.read().split()]
                except OSError:
                    continue
                found.extend(kids)
                todo.extend(kids)
        return found

    def _sample(self) -> None:
        for pid in self._subtree():
            times = _proc_times(pid)
            if times is None:
                continue
            key = (pid, times[0])
            self._first.setdefault(key, times[1])
            self._last[key] = times[1]

    def _run(self) -> None:
        while not self._stop.wait(self.PERIOD):
            self._sample()

    def start(self) -> None:
        own = resource.getrusage(resource.RUSAGE_SELF)
        self._own = own.ru_utime + own.ru_stime
        self._first, self._last = {}, {}
        self._sample()
        self._seen_at_start = set(self._first)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True, name="bench-cpu")
        self._thread.start()

    def stop(self) -> None:
        assert self._thread is not None
        self._stop.set()
        self._thread.join()
        self._sample()
        own = resource.getrusage(resource.RUSAGE_SELF)
        self.spent["orchestrator"] += own.ru_utime + own.ru_stime - self._own
        for key, last in self._last.items():
            # a process first seen after the span started ran all its CPU inside it
            base = self._first[key] if key in self._seen_at_start else 0.0
            part = "endpoint" if key[0] == self.endpoint_pid else "workers"
            self.spent[part] += last - base


Variant = tuple[int, str]  # batch size, parallel.schedule


def _variants(args: argparse.Namespace) -> list[Variant]:
    """Each batch size with each ``--schedule`` (batch 1 once: it has no schedule to pick)."""
    return [(batch, schedule) for batch in args.batches
            for schedule in (["rounds"] if batch == 1 else args.schedule)]


def _label(run: dict[str, Any]) -> str:
    return str(run["batch"]) + ("" if run["batch"] == 1 else f" {run['schedule']}")


def _one_run(run_dir: Path, overrides: list[str], variant: Variant,
             children: int) -> dict[str, Any]:
    batch, schedule = variant
    iterations = max(1, children // batch)
    outcome, campaign, total = run_campaign(
        run_dir, overrides + [f"parallel.batch_size={batch}", f"search.iterations={iterations}",
                              f"parallel.schedule={schedule}"], TimedCampaign)
    if not outcome.finished:
        raise SystemExit(f"campaign in {run_dir} did not finish: {outcome.stop_reason}")
    evaluated = query_run(run_dir, "SELECT count(*) FROM evaluations e JOIN programs p ON "
                                   "p.id = e.program_id WHERE e.split = 'static' AND "
                                   "p.origin <> 'seed'")[0][0]
    proposed = query_run(run_dir, "SELECT count(*) FROM programs WHERE origin <> 'seed'")[0][0]
    loop = sum(campaign.step_seconds)
    phases = dict(campaign.phases)
    phases["other"] = loop - sum(phases.values())
    return {"batch": batch, "schedule": schedule, "iterations": iterations, "loop": loop, "total": total,
            "evaluated": evaluated, "proposed": proposed,
            "per_min": evaluated / loop * 60 if loop else 0.0, "phases": phases,
            "best": outcome.best_val, "cpu": dict(campaign.cpu.spent)}


def _table(title: str, runs: list[dict[str, Any]]) -> None:
    base = runs[0]["per_min"] if runs and runs[0]["batch"] == 1 else None
    rows = []
    for r in runs:
        p = r["phases"]
        rows.append([_label(r), r["iterations"], r["proposed"], r["evaluated"],
                     f"{r['loop']:.1f}", f"{r['spread'][0]:.1f}-{r['spread'][1]:.1f}",
                     f"{r['per_min']:.1f}", ratio(r["per_min"], base),
                     f"{p.get('reflect+propose', 0):.1f}", f"{p.get('child eval', 0):.1f}",
                     f"{p.get('fixes', 0):.1f}", f"{p.get('other', 0):.1f}",
                     f"{r['total']:.1f}", f"{r['best']:.3f}"])
    print_table(["batch", "rounds", "proposed", "evaluated", "loop s", "range s", "children/min",
                 "vs batch 1", "reflect+propose s", "child eval s", "fixes s", "other s",
                 "total s", "best val"], rows, title)


def _cpu_table(title: str, runs: list[dict[str, Any]]) -> None:
    """CPU seconds per evaluated child by process, and the bound they set on a batch.

    With C the CPU seconds of a child (every process on this machine, the endpoint's too: it
    shares the cores) and L the rest of its wall time at batch 1 (waiting for replies), a round
    of B children on N cores lasts at least max(B*C/N, C+L), so batch B reaches at most
    B(C+L) / max(B*C/N, C+L) times the children per minute of batch 1."""
    cores = os.cpu_count() or 1
    one = next((r for r in runs if r["batch"] == 1), None)
    rows = []
    for r in runs:
        n = max(1, r["evaluated"])
        cpu = {key: value / n for key, value in r["cpu"].items()}
        c = sum(cpu.values())
        wall = r["loop"] / n
        row = [_label(r), f"{cpu.get('orchestrator', 0):.2f}", f"{cpu.get('workers', 0):.2f}",
               f"{cpu.get('endpoint', 0):.2f}", f"{c:.2f}", f"{wall:.2f}",
               f"{sum(r['cpu'].values()) / (r['loop'] * cores):.0%}" if r["loop"] else "-"]
        if one is not None:
            c1 = sum(one["cpu"].values()) / max(1, one["evaluated"])
            l1 = max(0.0, one["loop"] / max(1, one["evaluated"]) - c1)
            b = r["batch"]
            bound = b * (c + l1) / max(b * c / cores, c + l1)
            gain = r["per_min"] / one["per_min"] if one["per_min"] else 0.0
            row += [f"{l1:.2f}", f"{bound:.2f}x", f"{gain:.2f}x"]
        else:
            row += ["-", "-", "-"]
        rows.append(row)
    print_table(["batch", "orchestrator cpu s/child", "workers cpu s/child",
                 "endpoint cpu s/child", "C: cpu s/child", "wall s/child", "cores busy",
                 "L: wait s/child (batch 1)", "bound vs batch 1", "measured"], rows, title)


def _profile(run_dir: Path, label: str) -> None:
    """Per-phase figures from the run's own tables (evaluations, llm_calls)."""
    evals = query_run(run_dir, "SELECT split, count(*), sum(duration_s), avg(duration_s), "
                               "avg(n_items) FROM evaluations GROUP BY split ORDER BY split")
    calls = query_run(run_dir, "SELECT role, count(*), avg(latency_s), sum(latency_s), "
                               "max(latency_s) FROM llm_calls WHERE kind = 'chat' "
                               "GROUP BY role ORDER BY role")
    print_table(["split", "evaluations", "sum duration_s", "mean duration_s", "mean items"],
                [[s, n, f"{t:.1f}", f"{m:.2f}", f"{i:.1f}"] for s, n, t, m, i in evals],
                f"profile of {label}: evaluations table")
    print_table(["role", "chat calls", "mean latency s", "sum latency s", "max latency s"],
                [[r, n, f"{m:.3f}", f"{t:.1f}", f"{x:.3f}"] for r, n, m, t, x in calls],
                f"profile of {label}: llm_calls table")


def _series(name: str, overrides: list[str], args: argparse.Namespace, root: Path
            ) -> tuple[list[dict[str, Any]], str]:
    """Each variant (batch size, schedule) ``--repeat`` times, interleaved (1, 2, 4, 1, 2, 4,
    ...) so a slow spell of the machine hits every variant alike; per variant the run with the
    median loop time is reported, with the spread. Repeats of the top batch size (each
    schedule) double as the reproducibility check (one extra run when ``--repeat`` is 1)."""
    done: dict[Variant, list[dict[str, Any]]] = defaultdict(list)
    variants = _variants(args)
    for repeat in range(args.repeat):
        for variant in variants:
            batch, schedule = variant
            run_dir = root / f"{name}-b{batch}-{schedule}-r{repeat}"
            run = _one_run(run_dir, overrides, variant, args.children)
            run["dir"] = run_dir
            done[variant].append(run)
            print(f"  {name} batch {_label(run)} (run {repeat + 1}/{args.repeat}): "
                  f"{run['evaluated']} children in {run['loop']:.1f} s ({load_text()})", flush=True)
    top = max(args.batches)
    verdicts = []
    for variant in [v for v in variants if v[0] == top]:
        if args.repeat == 1:
            again = root / f"{name}-b{top}-{variant[1]}-again"
            _one_run(again, overrides, variant, args.children)
            others = [again]
        else:
            others = [run["dir"] for run in done[variant][1:]]
        found = {compare_runs(done[variant][0]["dir"], other) for other in others}
        verdicts.append(f"{len(others)} repeat(s) of batch {top} {variant[1]} with the same "
                        "seed: " + "; ".join(sorted(found)))
    runs = []
    for variant in variants:
        ordered = sorted(done[variant], key=lambda r: r["loop"])
        median = dict(ordered[len(ordered) // 2])
        median["spread"] = (ordered[0]["loop"], ordered[-1]["loop"])
        runs.append(median)
    return runs, "\n".join(verdicts)


def _endpoint_series(label: str, latency: float, common: list[str], args: argparse.Namespace,
                     root: Path) -> None:
    name = f"endpoint-{latency * 1000:.0f}ms"
    with FakeEndpoint(latency) as endpoint:
        # the endpoint's own process (None in-process); FakeEndpoint keeps it private
        CpuMeter.endpoint_pid = getattr(getattr(endpoint, "_process", None), "pid", None)
        try:
            runs, verdict = _series(name, common + endpoint_overrides(endpoint,
                                                                      args.concurrency),
                                    args, root)
        finally:
            CpuMeter.endpoint_pid = None
    _table(f"{label} task + reflector on the fake endpoint ({latency * 1000:.0f} ms per "
           f"request, concurrency {args.concurrency}, mutation=patch, cache off)", runs)
    _cpu_table(f"{label} CPU per child and the bound it sets ({latency * 1000:.0f} ms)", runs)
    print(verdict)
    one = next((r for r in runs if r["batch"] == 1), None)
    for (at, batch), target in TARGETS.items():
        if at != latency or one is None:
            continue
        for run in (r for r in runs if r["batch"] == batch):
            gain = run["per_min"] / one["per_min"]
            print(f"target: batch {batch} >= {target}x children/min of batch 1 against the "
                  f"{latency * 1000:.0f} ms endpoint, {run['schedule']} schedule: {gain:.2f}x "
                  f"-> {'met' if gain >= target else 'NOT met'}")
    top = max(args.batches)
    for run in runs:
        if run["batch"] in (1, top):
            _profile(run["dir"], f"{latency * 1000:.0f} ms endpoint, batch {_label(run)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--children", type=int, default=16, help="children per run")
    parser.add_argument("--batches", type=lambda s: [int(x) for x in s.split(",")],
                        default=[1, 2, 4], help="batch sizes (default 1,2,4)")
    parser.add_argument("--latency", type=lambda s: [float(x) for x in s.split(",")],
                        default=[0.2, 1.0],
                        help="endpoint latencies in seconds, one series each (default 0.2,1.0)")
    parser.add_argument("--schedule", type=lambda s: s.split(","), default=["rounds", "steady"],
                        help="parallel.schedule values for batch sizes above 1 "
                             "(default rounds,steady)")
    parser.add_argument("--executor", default="threads",
                        help="parallel.executor (threads, processes, dask)")
    parser.add_argument("--concurrency", type=int, default=512,
                        help="models.concurrency in the endpoint runs (requests in flight)")
    parser.add_argument("--mode", choices=("both", "offline", "endpoint"), default="both")
    parser.add_argument("--size", default="tiny", help="dialog-synth size")
    parser.add_argument("--val-size", type=int, default=20, help="data.val_size")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per batch size (median reported; 3 on a noisy machine)")
    parser.add_argument("--keep", action="store_true", help="keep the run directories")
    args = parser.parse_args()

    use_dummy_key()
    common = [f"task.args.size={args.size}", f"data.val_size={args.val_size}", "models.cache=off",
              f"parallel.executor={args.executor}"]
    root = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    print(f"batch_speedup: quickstart on dialog-synth {args.size}, val_size {args.val_size}, "
          f"{args.children} children per run; {load_text()}; runs in {root}", flush=True)
    try:
        if args.mode in ("both", "offline"):
            runs, verdict = _series("offline", common, args, root)
            _table("(a) offline model + offline mutator (CPU-bound)", runs)
            _cpu_table("(a) CPU per child (offline)", runs)
            print(verdict)
        if args.mode in ("both", "endpoint"):
            for index, latency in enumerate(args.latency):
                _endpoint_series(f"({chr(ord('b') + index)})", latency, common, args, root)
        print(f"after: {load_text()}")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
