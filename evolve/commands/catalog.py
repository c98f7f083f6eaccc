"""``evolve seeds`` and ``evolve tasks``: what is available."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..seeds import SeedInfo


def seed_tag(seed: SeedInfo) -> str:
    """'[A-MEM, 2025; llm: write 0, read 0]': the paper and the declared toolkit LLM calls."""
    calls = seed.llm_calls
    llm = (f"llm: write {calls.get('write', '?')}, read {calls.get('read', '?')}"
           if calls else "llm: undeclared")
    return f"[{seed.paper_short}; {llm}]" if seed.paper_short else f"[{llm}]"


def list_seeds_cmd(args: argparse.Namespace) -> int:
    from ..seeds import list_seeds, seed_source

    if getattr(args, "name", None):  # the program eval, campaigns and the meta-agent get
        print(seed_source(args.name), end="")
        return 0
    seeds = list_seeds()
    if args.json:
        print(json.dumps([{"name": s.name, "path": str(s.path), "summary": s.summary,
                           "paper": s.paper, "llm_calls": s.llm_calls} for s in seeds],
                         indent=2))
        return 0
    width = max(len(s.name) for s in seeds)
    for seed in seeds:
        print(f"{seed.name:<{width}}  {seed.summary}  {seed_tag(seed)}")
    return 0


def list_tasks_cmd(args: argparse.Namespace) -> int:
    from ..tasks.registry import TASKS

    if args.json:
        print(json.dumps({
            name: {"description": spec.description, "mode": spec.mode,
                   "args": [{"name": a.name, "help": a.help, "default": a.default,
                             "choices": list(a.choices)} for a in spec.args]}
            for name, spec in TASKS.items()}, indent=2))
        return 0
    for name, spec in TASKS.items():
        print(f"{name}  ({spec.mode})  {spec.description}")
        for arg in spec.args:
            extra = f" [default: {arg.default}]" if arg.default is not None else (
                "" if "required" in arg.help else " [required]")
            if arg.choices:
                extra += f" choices: {', '.join(arg.choices)}"
            print(f"    --task-arg {arg.name}=...  {arg.help}{extra}")
    return 0
