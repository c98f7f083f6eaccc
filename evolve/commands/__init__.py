"""Implementations of the CLI subcommands, one module per concern."""

from __future__ import annotations

import argparse


def dispatch(args: argparse.Namespace) -> int:
    """Run the subcommand named in ``args.command``; returns the exit code."""
    if args.command == "eval":
        from .eval_cmd import run_eval

        return run_eval(args)
    if args.command == "init":
        from .init_cmd import init_cmd

        return init_cmd(args)
    if args.command == "seeds":
        from .catalog import list_seeds_cmd

        return list_seeds_cmd(args)
    if args.command == "tasks":
        from .catalog import list_tasks_cmd

        return list_tasks_cmd(args)
    if args.command in ("run", "resume"):
        from . import campaign_cmds

        return getattr(campaign_cmds, f"{args.command}_cmd")(args)
    if args.command in ("report", "plot", "export", "transfer") or (
            args.command == "lineage" and getattr(args, "png", None)):
        from . import report_cmds

        name = "lineage_png" if args.command == "lineage" else args.command
        return getattr(report_cmds, f"{name}_cmd")(args)
    if args.command in ("status", "programs", "show", "diff", "lineage", "snapshot"):
        from . import inspect_cmds

        return getattr(inspect_cmds, f"{args.command}_cmd")(args)
    raise AssertionError(f"unhandled command {args.command}")
