"""``evolve eval``: evaluate one program on one task and print the score."""

from __future__ import annotations

import argparse
import json
import os
import sys

from ..errors import UsageError


def parse_task_args(pairs: list[str]) -> dict[str, str]:
    """``["k=v", ...]`` -> dict; a malformed pair is a usage error."""
    parsed: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--task-arg expects KEY=VALUE, got {pair!r}")
        parsed[key.strip()] = value.strip()
    return parsed


def check_traces_writable(path: str) -> None:
    """Refuse an unwritable ``--traces`` file before any work (it used to be found out, and
    only warned about, after the whole evaluation). Leaves no file behind."""
    existed = os.path.lexists(path)
    try:
        with open(path, "a", encoding="utf-8"):
            pass
        if not existed:
            os.unlink(path)
    except OSError as exc:
        raise UsageError(f"--traces {path}: cannot write it ({exc.strerror or exc})") from None


def _limits(args: argparse.Namespace):
    from ..jail import SandboxLimits

    if args.read_cap <= 0 or args.call_timeout <= 0 or args.llm_budget < 0:
        raise UsageError("--read-cap and --call-timeout must be positive, --llm-budget >= 0")
    return SandboxLimits(call_timeout_s=args.call_timeout, read_char_cap=args.read_cap,
                         llm_budget_per_call=args.llm_budget)


def _request_options(args: argparse.Namespace) -> dict:
    """``build_hub`` keywords from --max-tokens, --timeout, --max-retries, --context-window
    and --model-revision (bad values: one line, exit 2)."""
    from ..llm.limits import RoleLimits
    from ..llm.retry import RetryPolicy

    max_tokens = getattr(args, "max_tokens", None)
    timeout = getattr(args, "timeout", 120.0)
    retries = getattr(args, "max_retries", 4)
    window = getattr(args, "context_window", 0)
    if max_tokens is not None and max_tokens < 1:
        raise UsageError("--max-tokens must be >= 1")
    if not timeout > 0:
        raise UsageError("--timeout must be > 0")
    if retries < 0 or window < 0:
        raise UsageError("--max-retries and --context-window must be >= 0")
    caps = {"task": max_tokens} if max_tokens is not None else {}
    return {"timeout": float(timeout), "retry": RetryPolicy(max_retries=retries),
            "limits": RoleLimits(max_tokens=caps, context_window=window),
            "revision": getattr(args, "model_revision", "") or ""}


def _print_human(result, task, program_name: str, split: str) -> None:
    names = getattr(task, "category_names", {})
    print(f"program   {program_name}")
    print(f"task      {task.name}   split {split}")
    print(f"status    {result.status}" + (f" ({result.gate_stage})" if result.gate_stage else ""))
    if result.error:
        print(f"error     {result.error}")
    print(f"score     {result.score:.4f}   ({result.n_items} items"
          + (", oracle evidence" if result.oracle else "") + ")")
    for key, value in result.per_category.items():
        label = f"{key} {names.get(key, '')}".strip()
        count = sum(1 for t in result.items if t.category == key)
        print(f"  {label:<22} {value:.4f}   n={count}")
    print(f"failures  {result.failed_items} items failed   {result.skipped_episodes} episodes "
          f"skipped ({result.extraction_failures} extraction failures)   "
          f"{result.query_fallbacks} query fallbacks   {result.coercions} coercions")
    mode = result.sandbox_mode or "-"
    print(f"sandbox   {mode}" + (f"  (reduced isolation: {result.isolation})"
                                  if result.isolation else ""))
    print(f"llm calls {result.llm_calls} (+{result.embed_calls} embedding batches)   "
          f"tokens {result.tokens_in}+{result.tokens_out}   cost ${result.cost_usd:.4f}   "
          f"time {result.seconds:.1f} s")
    print(f"          cached {result.cached_calls}   cut at max_tokens "
          f"{result.truncated_calls}   failed {result.failed_calls}   retries {result.retries}")


def run_eval(args: argparse.Namespace) -> int:
    from ..evaluation.evaluate import EvalSettings, evaluate_program
    from ..jail import resolve_mode
    from ..llm.factory import build_hub, preflight
    from ..seeds import resolve_program
    from ..tasks.registry import make_task

    source, program_name = resolve_program(args.program)
    task = make_task(args.task, parse_task_args(args.task_arg))
    if args.concurrency < 1:
        raise UsageError("--concurrency must be >= 1")
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be >= 1")
    if not 0.0 <= args.max_failed_share <= 1.0:
        raise UsageError("--max-failed-share must be between 0 and 1")
    try:
        mode = resolve_mode(args.sandbox)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.traces:
        check_traces_writable(args.traces)
    hub = build_hub(model=args.model, base_url=args.base_url, embedder=args.embedder,
                    concurrency=args.concurrency, cache_path=args.cache,
                    **_request_options(args))
    preflight(hub)
    settings = EvalSettings(split=args.split, limits=_limits(args), sandbox_mode=mode,
                            oracle=args.oracle, concurrency=args.concurrency,
                            max_items=args.limit, protocol=args.protocol,
                            max_failed_share=args.max_failed_share)
    from .interrupt import interruptible

    with interruptible(hub.abort):
        result = evaluate_program(source, task, hub, settings)
    if args.traces:
        try:
            with open(args.traces, "w", encoding="utf-8") as handle:
                for trace in result.items:
                    handle.write(json.dumps(trace.to_dict()) + "\n")
        except OSError as exc:
            print(f"evolve: warning: cannot write traces: {exc}", file=sys.stderr)
    if args.json:
        summary = result.summary()
        summary.update({"task": task.name, "split": args.split, "program": program_name,
                        "category_names": getattr(task, "category_names", {})})
        print(json.dumps(summary))
    elif result.gate_stage != "parse":
        _print_human(result, task, program_name, args.split)
    if result.gate_stage == "parse":
        # A program that does not even parse is bad input, not a failed program.
        print(f"evolve: error: {program_name}: syntax error, {result.error}", file=sys.stderr)
        return 2
    return 0 if result.status == "ok" else 1
