"""``evolve report | plot | export | transfer`` and ``evolve lineage --png``: inspect a run and
take its best harness away. Every command reads a snapshot (works on a live run)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def report_cmd(args: argparse.Namespace) -> int:
    from ..report import build_report

    result = build_report(args.run_dir, args.out)
    print(f"report     {result.index}")
    print(f"pages      {result.pages} ({result.pages - 1} programs), {result.plots} figures, "
          f"{result.seconds:.1f} s")
    return 0


def plot_cmd(args: argparse.Namespace) -> int:
    from ..report import load_run, plot
    from ..report.plots import check_figure_path

    check_figure_path(args.out)  # before reading the run
    data = load_run(args.run_dir, with_sources=False, failed_per_program=0)
    print(plot(args.kind, data, Path(args.out)))
    return 0


def lineage_png_cmd(args: argparse.Namespace) -> int:
    from ..report import load_run, plot
    from ..report.plots import check_figure_path

    check_figure_path(args.png)  # before reading the run
    data = load_run(args.run_dir, with_sources=False, failed_per_program=0)
    print(plot("tree", data, Path(args.png)))
    return 0


def export_cmd(args: argparse.Namespace) -> int:
    from ..export import export_program

    result = export_program(args.run_dir, args.out, None if args.best else args.program,
                            name=args.name, force=args.force)
    print(f"exported   program {result.program_id[:12]} as package {result.package}")
    print(f"directory  {result.out_dir}")
    if result.golden_note:
        print(f"fidelity   {result.golden_note}")
    else:
        compared = (f"; {result.campaign_equal} of {result.campaign_compared} equal to the "
                    "campaign's stored reads" if result.campaign_compared else "")
        print(f"fidelity   {result.golden_reads} reads recorded for the package test{compared}")
    print(f"install    pip install {result.out_dir}")
    print(f"use        from {result.package} import Memory; mem = Memory(); "
          "mem.write(item, text); mem.read(query)")
    return 0


def transfer_cmd(args: argparse.Namespace) -> int:
    from ..report.transfer import format_matrix, matrix_json, transfer_matrix

    def progress(message: str) -> None:
        if not args.json:
            print(message, file=sys.stderr)

    runs, matrix = transfer_matrix(args.run_dirs, reuse=not args.no_reuse, progress=progress)
    if args.json:
        print(json.dumps(matrix_json(runs, matrix)))
    else:
        print(format_matrix(runs, matrix))
    return 0
