"""``evolve status | programs | show | diff | lineage``: look at a run (live or finished)."""

from __future__ import annotations

import argparse
import difflib
import json

from ..lineage.queries import campaign_status, open_run, program_table, resolve_program_id
from ..lineage.records import program_source, read_evaluations, read_events, read_program
from ..lineage.report_queries import lowest_items
from ..stats import gain_text


def _fmt(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def status_cmd(args: argparse.Namespace) -> int:
    store = open_run(args.run_dir)
    try:
        status = campaign_status(store)
    finally:
        store.close()
    if args.json:
        print(json.dumps(status, default=str))
        return 0
    target = status["iterations_target"]
    state = "finished" if status["finished"] else "running or interrupted"
    print(f"campaign   {status['campaign']}  task {status['task']}  ({state})")
    print(f"iterations {status['iterations_done']}/{target}"
          + (f"  stop reason: {status['stop_reason']}" if status["stop_reason"] else ""))
    print(f"best       {(status['best_program'] or '-')[:12]}  val {_fmt(status['best_val'])}  "
          f"test {_fmt(status['best_test'])}  best seed val {_fmt(status['best_seed_val'])}")
    gain = status["best_gain_vs_seed"]
    if gain:
        print(f"gain       {_gain(gain)} over the best seed on {gain['n']} validation items "
              "(95% paired bootstrap)")
    print("programs   " + ", ".join(f"{k}: {v}" for k, v in sorted(status["programs"].items()))
          + f"  (and {status['duplicates']} duplicate proposals, {status['no_ops']} no-op "
          "children)")
    print("spend per role:")
    for role, spend in status["spend"].items():
        print(f"  {role:<10} calls {spend['calls']:>6}  cached {spend['cached']:>6}  "
              f"errors {spend['errors']:>4}  tokens {spend['tokens']:>9}  ${spend['usd']:.4f}")
    return 0


def programs_cmd(args: argparse.Namespace) -> int:
    from ..lineage.duplicates import duplicate_rows

    store = open_run(args.run_dir)
    try:
        # a duplicate proposal is a row of its round too (its id: the program it equals)
        table = sorted(program_table(store) + duplicate_rows(store),
                       key=lambda row: row["iteration"])
    finally:
        store.close()
    if args.json:
        print(json.dumps([{k: row.get(k) for k in ("id", "parents", "iteration", "origin",
                                                   "status", "val_score", "gain_vs_parent",
                                                   "gain_vs_best_seed", "no_op",
                                                   "tokens_per_query", "name",
                                                   "commit_message", "duplicate_of")}
                          for row in table]))
        return 0
    print(f"{'id':<10} {'parent':<10} {'iter':>4} {'origin':<9} {'status':<17} "
          f"{'val':>7} {'vs parent [95%]':<25} {'tok/q':>8}  commit")
    for row in table:
        parent = ",".join(p[:8] for p in row["parents"]) or "-"
        label = row["name"] or row["commit_message"]
        vs_parent = "no-op" if row.get("no_op") else _gain(row.get("gain_vs_parent"))
        print(f"{row['id'][:8]:<10} {parent:<10} {row['iteration']:>4} {row['origin']:<9} "
              f"{row['status'] or '-':<17} {_fmt(row['val_score'], 3):>7} {vs_parent:<25} "
              f"{_fmt(row['tokens_per_query'], 0):>8}  {label[:60]}")
    return 0


def _gain(gain: dict[str, float] | None) -> str:
    """``+0.085 [+0.018, +0.153]``: a paired gain and its 95% interval ("-" without one)."""
    return gain_text(gain["mean"], gain["low"], gain["high"]) if gain else "-"


def show_cmd(args: argparse.Namespace) -> int:
    store = open_run(args.run_dir)
    try:
        pid = resolve_program_id(store, args.program)
        program = read_program(store, pid)
        assert program is not None  # resolve_program_id found it
        evaluations = read_evaluations(store, program_id=pid)
        events = read_events(store, program_id=pid)
        static = [e for e in evaluations if e.split == "static"]
        failures = lowest_items(store, [static[0].id], args.failures) if static else []
    finally:
        store.close()
    print(f"program    {pid}")
    print(f"parents    {', '.join(program.parent_ids) or '-'}")
    print(f"iteration  {program.iteration}  origin {program.origin}  "
          f"mutator {program.mutator}  gate {program.gate_status}"
          + (f" ({program.gate_stage}: {program.gate_message})" if program.gate_stage else ""))
    print("commit message:")
    for line in (program.commit_message or "-").splitlines():
        print(f"  {line}")
    for evaluation in evaluations:
        # per category as stored (a JSON object), as this line always showed it
        print(f"evaluation {evaluation.split:<8} {evaluation.status:<17} "
              f"score {_fmt(evaluation.score)}  per category "
              f"{json.dumps(evaluation.per_category, default=str)}"
              + (f"  error: {evaluation.error}" if evaluation.error else ""))
    for event in events:
        print(f"event      {event.kind}: {event.message}")
    if failures:
        print("failed items (static validation):")
        for item in failures:
            print(f"  - Q: {item.question}\n    gold: {item.gold}  answer: {item.answer}"
                  f"  score {_fmt(item.score, 2)}")
    print("source:")
    print(program.source)
    return 0


def diff_cmd(args: argparse.Namespace) -> int:
    store = open_run(args.run_dir)
    try:
        a = resolve_program_id(store, args.a)
        b = resolve_program_id(store, args.b)
        src_a, src_b = program_source(store, a), program_source(store, b)
    finally:
        store.close()
    diff = difflib.unified_diff(src_a.splitlines(keepends=True), src_b.splitlines(keepends=True),
                                fromfile=a[:12], tofile=b[:12])
    print("".join(diff), end="")
    return 0


def lineage_cmd(args: argparse.Namespace) -> int:
    from ..lineage.tree import render_tree

    store = open_run(args.run_dir)
    try:
        table = program_table(store)
    finally:
        store.close()
    print(render_tree(table))
    return 0


def snapshot_cmd(args: argparse.Namespace) -> int:
    """``evolve snapshot RUN_DIR OUT.duckdb``: a consistent single-file copy of the run's
    database (its WAL checkpointed in), safe to take while the campaign runs."""
    from pathlib import Path

    from ..errors import UsageError
    from ..lineage import StoreError, write_snapshot
    from ..lineage.queries import DB_NAME

    run_dir, out = Path(args.run_dir), Path(args.out)
    if not run_dir.is_dir():
        raise UsageError(f"{run_dir} is not a directory")
    if not (run_dir / DB_NAME).is_file():
        raise UsageError(f"{run_dir} is not an evolve run directory (no {DB_NAME})")
    for taken in (out, out.with_name(out.name + ".wal")):  # a stale WAL would be replayed
        if taken.exists() or taken.is_symlink():
            raise UsageError(f"{taken} already exists; choose a new file name")
    if not out.parent.is_dir():
        raise UsageError(f"{out}: directory {out.parent} does not exist (create it first)")
    try:
        counts = write_snapshot(run_dir / DB_NAME, out)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    print(f"snapshot   {out}  ({counts['programs']} programs, {counts['evaluations']} "
          f"evaluations, {counts['item_results']} item results, {counts['llm_calls']} LLM calls)")
    print(f"query      duckdb -readonly {out}")
    return 0
