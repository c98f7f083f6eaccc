"""The ``evolve`` command line (README.md, "Commands").

Exit codes: 0 done, 1 the program or campaign failed, 2 bad usage or input, or a condition
the user can fix such as a full disk or a damaged file (one line on stderr, no traceback; see
``user_errors.py``). Set ``EVOLVE_DEBUG=1`` to see tracebacks of internal errors.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence

from .errors import EndpointError, UsageError
from .program.contract import READ_CHAR_CAP


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors in one line and exits with code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="offline",
                        help="'offline' (deterministic stand-in, no network) or an "
                             "OpenAI-compatible model name")
    parser.add_argument("--base-url", default=None,
                        help="OpenAI-compatible endpoint (default: $OPENAI_BASE_URL)")
    parser.add_argument("--embedder", default="offline",
                        help="'offline', 'hashing' or an OpenAI embedding model name")
    parser.add_argument("--concurrency", type=int, default=8,
                        help="parallel LLM calls and parallel questions (default 8)")
    parser.add_argument("--cache", default=None,
                        help="response cache file (default: in memory for offline, "
                             "~/.cache/evolve/responses.sqlite otherwise)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="evolve", description="Evolutionary search over memory programs.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    sub.required = True

    ev = sub.add_parser("eval", help="evaluate one memory program on a task")
    ev.add_argument("program", help="path to a program .py, or a seed name (see `evolve seeds`)")
    ev.add_argument("--task", required=True, help="task name (see `evolve tasks`)")
    ev.add_argument("--task-arg", action="append", default=[], metavar="K=V",
                    help="task argument; repeatable")
    ev.add_argument("--split", default="val", choices=["val", "test", "all"])
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.add_argument("--oracle", action="store_true",
                    help="replace read() output with each item's gold evidence (reader ceiling)")
    ev.add_argument("--sandbox", default="auto", choices=["auto", "bwrap", "unshare", "none"],
                    help="isolation mode (auto = strongest that works here)")
    ev.add_argument("--limit", type=int, default=None, help="evaluate at most N items")
    ev.add_argument("--protocol", default="offline", choices=["offline", "online"],
                    help="offline: fresh memory, expert episodes only; online: also write "
                         "each finished episode and call observe(outcome)")
    ev.add_argument("--read-cap", type=int, default=READ_CHAR_CAP,
                    help="max chars read() may return")
    ev.add_argument("--call-timeout", type=float, default=60.0,
                    help="seconds per write/read call")
    ev.add_argument("--llm-budget", type=int, default=1,
                    help="toolkit LLM calls allowed per write/read call")
    ev.add_argument("--max-failed-share", type=float, default=0.5, metavar="F",
                    help="status=error when more than this share of items fail (default 0.5)")
    ev.add_argument("--traces", default=None, metavar="FILE",
                    help="write per-item traces as JSON lines to FILE")
    ev.add_argument("--max-tokens", type=int, default=None, metavar="N",
                    help="reply cap of the task agent's calls in tokens (default 512)")
    ev.add_argument("--timeout", type=float, default=120.0, metavar="S",
                    help="seconds per request attempt to a remote model (default 120)")
    ev.add_argument("--max-retries", type=int, default=4, metavar="N",
                    help="retries of a failed request (default 4)")
    ev.add_argument("--context-window", type=int, default=0, metavar="N",
                    help="the model's context window in tokens (default: ask the server)")
    ev.add_argument("--model-revision", default="", metavar="REV",
                    help="label of the model's weights (part of the response-cache key)")
    _add_model_options(ev)

    run = sub.add_parser("run", help="launch a search campaign from a TOML config")
    run.add_argument("config", nargs="?", default=None,
                     help="campaign config (TOML), e.g. quickstart.toml from `evolve init`")
    run.add_argument("--run-dir", default=None, help="output directory (default runs/<name>)")
    run.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                     help="override a config value; repeatable")
    run.add_argument("--quiet", action="store_true", help="no progress output")

    resume = sub.add_parser("resume", help="continue an interrupted campaign exactly")
    resume.add_argument("run_dir")
    resume.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="change an execution setting that leaves results unchanged "
                             "(parallel.executor, parallel.address, parallel.workers, "
                             "models.concurrency, models.timeout_s, models.max_retries); "
                             "repeatable")
    resume.add_argument("--quiet", action="store_true", help="no progress output")

    status = sub.add_parser("status", help="progress, best program and spend of a run")
    status.add_argument("run_dir")
    status.add_argument("--json", action="store_true")

    programs = sub.add_parser("programs", help="table of a run's programs")
    programs.add_argument("run_dir")
    programs.add_argument("--json", action="store_true")

    show = sub.add_parser("show", help="source, scores, commit message and failures of a program")
    show.add_argument("run_dir")
    show.add_argument("program", help="program id or unique prefix")
    show.add_argument("--failures", type=int, default=5, help="failed items to show")

    diff = sub.add_parser("diff", help="unified diff of two programs")
    diff.add_argument("run_dir")
    diff.add_argument("a")
    diff.add_argument("b")

    lineage = sub.add_parser("lineage", help="the family tree of a run")
    lineage.add_argument("run_dir")
    lineage.add_argument("--png", default=None, metavar="FILE",
                         help="draw the tree into FILE (.png or .svg) instead of printing it")

    snapshot = sub.add_parser("snapshot", help="consistent single-file copy of a run's "
                                               "lineage.duckdb (also of a live run)")
    snapshot.add_argument("run_dir")
    snapshot.add_argument("out", metavar="OUT.duckdb", help="new file to write")

    report = sub.add_parser("report", help="static HTML report with plots (RUN_DIR/report/)")
    report.add_argument("run_dir")
    report.add_argument("--out", default=None, metavar="DIR",
                        help="write the report here instead of RUN_DIR/report")

    plot = sub.add_parser("plot", help="one figure of a run: scores | pareto | categories | tree")
    plot.add_argument("run_dir")
    plot.add_argument("kind", choices=["scores", "pareto", "categories", "tree"])
    plot.add_argument("--out", required=True, metavar="FILE", help="figure file (.png or .svg)")

    export = sub.add_parser("export", help="installable package of one program (no evolve needed)")
    export.add_argument("run_dir")
    which = export.add_mutually_exclusive_group(required=True)
    which.add_argument("--best", action="store_true", help="the best program (validation)")
    which.add_argument("--program", metavar="ID", help="program id or unique prefix")
    export.add_argument("--out", required=True, metavar="DIR", help="directory to create")
    export.add_argument("--name", default=None,
                        help="package name (default evolved_<campaign>_<id8>)")
    export.add_argument("--force", action="store_true",
                        help="replace a previous export in --out (never other files)")

    transfer = sub.add_parser("transfer", help="evaluate each run's best program on every "
                                               "run's task (transfer matrix)")
    transfer.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    transfer.add_argument("--json", action="store_true")
    transfer.add_argument("--no-reuse", action="store_true",
                          help="evaluate every cell again, even when the run stored it")

    init = sub.add_parser("init", help="write the example configs (quickstart, OpenAI, "
                                       "llama.cpp) into DIR")
    init.add_argument("dir", nargs="?", default=".", metavar="DIR",
                      help="where to write them (default: the current directory)")
    init.add_argument("--force", action="store_true", help="overwrite existing files")

    seeds = sub.add_parser("seeds", help="list the seed programs (or print one)")
    seeds.add_argument("name", nargs="?",
                       help="print this seed's program as it is evaluated (shared helpers inlined)")
    seeds.add_argument("--json", action="store_true")
    tasks = sub.add_parser("tasks", help="list the tasks and their arguments")
    tasks.add_argument("--json", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``evolve`` console script."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        from . import commands

        return commands.dispatch(args)
    except UsageError as exc:
        print(f"evolve: error: {exc}", file=sys.stderr)
        return 2
    except EndpointError as exc:
        print(f"evolve: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader went away (e.g. `evolve programs RUN | head`): not an error of ours
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        except OSError:
            pass
        return 0
    except KeyboardInterrupt:
        print("evolve: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001
        if type(exc).__name__ == "InterruptException":  # duckdb's Ctrl-C inside a query
            print("evolve: interrupted", file=sys.stderr)
            return 130
        if os.environ.get("EVOLVE_DEBUG"):
            traceback.print_exc()
        from .user_errors import describe  # a full disk, a damaged file: the user can fix it

        if (message := describe(exc)) is not None:
            print(f"evolve: error: {message}", file=sys.stderr)
            return 2
        print(f"evolve: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
