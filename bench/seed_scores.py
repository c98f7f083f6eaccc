"""Every seed's offline score per category on a task (default: dialog-synth small, val).

    python bench/seed_scores.py [--task dialog-synth] [--task-arg size=small] [--split val]
    python bench/seed_scores.py --catalog

Prints a markdown table (paper, declared toolkit LLM calls per write/read, overall F1 and per
category, status, seconds), plus the oracle row (gold evidence in place of read()) as the
reader's ceiling. ``--catalog`` prints the design table instead (summary, paper, what the seed
stores, LLM calls), read from the seeds' docstrings without running anything.
"""

from __future__ import annotations

import argparse
import ast
import re

from evolve.seeds import SeedInfo, list_seeds, seed_source


def _calls(seed: SeedInfo) -> str:
    calls = seed.llm_calls
    return f"{calls.get('write', '?')}/{calls.get('read', '?')}" if calls else "?"


def _stores(seed: SeedInfo, limit: int = 170) -> str:
    """The first sentence of the docstring's 'Stores:' paragraph."""
    doc = ast.get_docstring(ast.parse(seed_source(seed.name))) or ""
    match = re.search(r"^Stores:\s*(.+?)(?:\n\s*\n|\n(?:Write|Read|Strengths):)", doc,
                      re.MULTILINE | re.DOTALL)
    if not match:
        return ""
    text = " ".join(match.group(1).split())
    end = re.search(r"(?<=[a-z)\]'])\.(?:\s|$)", text)
    text = text[:end.start()] if end else text
    return text if len(text) <= limit else text[:limit - 3].rstrip() + "..."


def catalog() -> None:
    print("| seed | design | paper | stores | LLM calls write/read |")
    print("|---|---|---|---|---|")
    for seed in list_seeds():
        cells = [f"`{seed.name}`", seed.summary.replace("|", "/"), seed.paper or "(baseline)",
                 _stores(seed).replace("|", "/"), _calls(seed)]
        print("| " + " | ".join(cells) + " |")


# The oracle row is the reader's ceiling, so its instruction asks for everything the reader can
# do (no_memory's own instruction asks only for a short phrase: relative dates would stay
# unresolved and the "ceiling" would sit below seeds that ask for them).
ORACLE_INSTRUCTION = (
    "Answer with a short phrase (names, dates, numbers), not a full sentence. Resolve relative "
    "dates against the date of their line; the latest value wins when facts changed. If the "
    "memory does not contain the answer, answer 'not mentioned'.")


def oracle_source() -> str:
    """no_memory with ``ORACLE_INSTRUCTION``: evaluated with gold evidence in place of read()."""
    source = seed_source("no_memory")
    start = source.index("INSTRUCTION_RESPONSE = (")
    end = source.index(")", start) + 1
    return source[:start] + f"INSTRUCTION_RESPONSE = {ORACLE_INSTRUCTION!r}" + source[end:]


def scores(task_name: str, task_args: dict[str, str], split: str) -> None:
    from evolve.evaluation.evaluate import EvalSettings, evaluate_program
    from evolve.llm.factory import build_hub
    from evolve.tasks.registry import make_task

    task = make_task(task_name, task_args)
    hub = build_hub(model="offline")
    rows = []
    for seed in list_seeds():
        result = evaluate_program(seed_source(seed.name), task, hub, EvalSettings(split=split))
        rows.append((seed, result))
    oracle = evaluate_program(oracle_source(), task, hub, EvalSettings(split=split, oracle=True))
    categories = sorted({c for _, r in rows for c in r.per_category})
    names = task.category_names
    header = ["seed", "paper", "LLM w/r", "overall",
              *[f"{c} {names.get(c, '')}".strip() for c in categories], "status", "s"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for seed, result in [*sorted(rows, key=lambda r: (-r[1].score, r[0].name)),
                         (None, oracle)]:
        label = [f"`{seed.name}`", seed.paper_short or "-", _calls(seed)] if seed else \
            ["(oracle evidence)", "-", "-"]
        cells = [*label, f"{result.score:.3f}",
                 *[f"{result.per_category.get(c, 0.0):.3f}" for c in categories],
                 result.status, f"{result.seconds:.1f}"]
        print("| " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="dialog-synth")
    parser.add_argument("--task-arg", action="append", default=None)
    parser.add_argument("--split", default="val")
    parser.add_argument("--catalog", action="store_true",
                        help="print the design table from the docstrings instead of scores")
    args = parser.parse_args()
    if args.catalog:
        catalog()
        return
    task_args = dict(pair.split("=", 1) for pair in (args.task_arg or ["size=small"]))
    scores(args.task, task_args, args.split)


if __name__ == "__main__":
    main()
