"""Does the offline search find better memory programs, and do the gains hold on test?

    python bench/search_quality.py [--size hard] [--iterations 20] [--seeds 0,1,2,3,4]
        [--policies diagnosis,random] [--selectors softmax,argmax,pareto] [--out DIR]
        [--locomo FILE [--test-share 0.3]] [--ablations]

Runs the quickstart campaign (examples/quickstart.toml: the three M* seeds, offline model and
offline mutator) once per (policy, selector, campaign seed) on dialog-synth, then scores on the
test split the best seed and the best program, both chosen on validation, and prints their
paired gain with a 95% bootstrap interval (``evolve.stats.paired_gain``), the best program's
validation and test scores, how many children were recorded as no-ops (same answer and score
as their parent on every validation item), the iteration at which
the best program was born, and the same gain on the ``held-out`` word pool (programs searched on
``main`` words, scored on conversations whose words the reader and mutator never name).
Ends with how many campaign seeds have diagnosis above random at equal selector.

``--locomo FILE`` runs the same campaigns on a LoCoMo-format file instead (any
``locomo10.json``-shaped file: the real benchmark, brought by the user, or a hand-written one),
items split into test (``--test-share``) and validation. ``--ablations`` runs the M* ablations
instead of the policy x selector grid (diagnosis policy, campaign seeds as given): the full search
(softmax), freezing instructions, freezing code, argmax parents and a single lineage, each
reported as the best program's test score and its paired gain over the full search, pooled over
the campaign seeds' test items, beside the direction the M* paper reports.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import evolve
from evolve.evaluation.evaluate import EvalSettings, evaluate_program
from evolve.llm.factory import build_hub
from evolve.stats import Gain, paired_gain
from evolve.tasks.registry import make_task

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "quickstart.toml"


def _test_scores(source: str, task: object, hub: object) -> list[float]:
    result = evaluate_program(source, task, hub, EvalSettings(split="test"))  # type: ignore[arg-type]
    return [item.score for item in result.items]


# M* ablations: name -> the config overrides that make it (the full search is softmax)
ABLATIONS: dict[str, list[str]] = {
    "full search": [],
    "freeze instructions": ["search.freeze_instructions=true"],
    "freeze code": ["search.freeze_code=true"],
    "argmax parents": ["search.selector=argmax"],
    "single lineage": ["search.selector=lineage"],
}
PAPER_DIRECTION = "lower (M*: each costs 0.08-0.20 F1 on LoCoMo)"


def task_overrides(size: str, locomo: str | None, test_share: float) -> list[str]:
    """Config overrides for the campaign's task: dialog-synth of ``size``, or a LoCoMo file."""
    if locomo is None:
        return [f"task.args.size={size}"]
    return ["task.name=locomo", f"task.args={{ path = {json.dumps(locomo)}, test = {test_share} }}"]


def one_campaign(out: Path, task_args: list[str], iterations: int, policy: str, selector: str,
                 seed: int, tasks: dict[str, object], hub: object, *, label: str = "",
                 extra: Sequence[str] = ()) -> dict[str, object]:
    run_dir = out / (label.replace(" ", "_") or f"{policy}-{selector}") / str(seed)
    shutil.rmtree(run_dir, ignore_errors=True)
    started = time.perf_counter()
    evolve.run_campaign(str(EXAMPLE), str(run_dir), overrides=[
        *task_args, f"search.iterations={iterations}",
        f"search.offline_policy={policy}", f"search.selector={selector}",
        f"campaign.seed={seed}", *extra])
    seconds = time.perf_counter() - started
    with evolve.open_run(run_dir) as run:
        programs = [p for p in run.programs() if run.score(p) is not None]
        scored = [(run.score(p) or 0.0, -p.iteration, p) for p in programs]
        best = max(scored, key=lambda t: (t[0], t[1]))[2]
        seeds = [t for t in scored if t[2].origin == "seed"]
        best_seed = max(seeds, key=lambda t: (t[0], t[1]))[2]
        val_gain = (run.score(best) or 0.0) - (run.score(best_seed) or 0.0)
        # children recorded as answering exactly as their parent on every validation item
        no_ops = len({e.program_id for e in run.events("no_op")})
        children = sum(1 for p in run.programs() if p.origin != "seed")
        row: dict[str, object] = {"policy": policy, "selector": selector, "seed": seed,
                                  "val_gain": val_gain, "iter_best": best.iteration,
                                  "best_val": run.score(best) or 0.0, "no_ops": no_ops,
                                  "children": children, "seconds": seconds}
        for pool, task in tasks.items():
            best_test = _test_scores(best.source, task, hub)
            row[pool] = paired_gain(_test_scores(best_seed.source, task, hub), best_test,
                                    seed=seed)
            row[f"test_{pool}"] = sum(best_test) / len(best_test)
            row[f"items_{pool}"] = best_test
    return row


def ablation_table(rows: list[dict[str, object]], seeds: list[int]) -> None:
    """Each ablation's best-program test score and its gain over the full search, paired over
    the test items of every campaign seed pooled (same items, same seed order)."""
    print("| ablation | best test (mean of seeds) | per seed | gain over full search "
          "(pooled test items, 95% CI) | iter of best | paper |")
    print("|---|---|---|---|---|---|")
    by = {(r["label"], r["seed"]): r for r in rows}
    full_items = [x for s in seeds for x in by[("full search", s)]["items_main"]]  # type: ignore[union-attr]
    for label in ABLATIONS:
        items = [x for s in seeds for x in by[(label, s)]["items_main"]]  # type: ignore[union-attr]
        scores = [float(by[(label, s)]["test_main"]) for s in seeds]  # type: ignore[arg-type]
        gain = "-" if label == "full search" else str(paired_gain(full_items, items))
        iters = ",".join(str(by[(label, s)]["iter_best"]) for s in seeds)
        paper = "-" if label == "full search" else PAPER_DIRECTION
        print(f"| {label} | {sum(scores) / len(scores):.3f} | "
              f"{' '.join(f'{x:.3f}' for x in scores)} | {gain} | {iters} | {paper} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="hard")
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--policies", default="diagnosis,random")
    parser.add_argument("--selectors", default="softmax,argmax,pareto")
    parser.add_argument("--out", default="runs/search-quality")
    parser.add_argument("--locomo", metavar="FILE", default=None,
                        help="a LoCoMo-format file to search on instead of dialog-synth")
    parser.add_argument("--test-share", type=float, default=0.3,
                        help="with --locomo: share of the items held out as test")
    parser.add_argument("--ablations", action="store_true",
                        help="the M* ablations (diagnosis policy) instead of the policy grid")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    hub = build_hub(model="offline")
    seeds = [int(s) for s in args.seeds.split(",")]
    task_args = task_overrides(args.size, args.locomo, args.test_share)
    if args.locomo is not None:
        if not Path(args.locomo).is_file():
            parser.error(f"--locomo: no such file: {args.locomo}")
        pools = ["main"]
        tasks = {"main": make_task("locomo", {"path": args.locomo, "test": args.test_share})}
        where = f"{args.locomo} (test share {args.test_share})"
    else:
        pools = ["main", "held-out"] if args.size == "hard" else ["main"]
        tasks = {pool: make_task("dialog-synth", {"size": args.size, "pool": pool})
                 for pool in pools}
        where = f"dialog-synth size={args.size}"
    if args.ablations:
        rows = [{**one_campaign(out, task_args, args.iterations, "diagnosis", "softmax", seed,
                                {"main": tasks["main"]}, hub, label=label, extra=extra),
                 "label": label}
                for label, extra in ABLATIONS.items() for seed in seeds]
        print(f"{where}, {args.iterations} iterations, quickstart seeds, diagnosis policy, "
              f"campaign seeds {args.seeds}; best program chosen on validation, scored on test")
        ablation_table(rows, seeds)
        return
    rows = [one_campaign(out, task_args, args.iterations, policy, selector, seed, tasks, hub)
            for selector in args.selectors.split(",") for policy in args.policies.split(",")
            for seed in seeds]
    print(f"{where}, {args.iterations} iterations, quickstart seeds; "
          "gain = best program - best seed (both chosen on validation), test split, "
          "95% paired bootstrap interval")
    header = ["policy", "selector", "seed", "no-op children", "best val", "best test",
              "val gain", *(f"test gain ({p})" for p in pools), "iter of best", "s"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        gains = [str(row[p]) for p in pools]
        print(f"| {row['policy']} | {row['selector']} | {row['seed']} | "
              f"{row['no_ops']} of {row['children']} | {row['best_val']:.3f} | "
              f"{row['test_main']:.3f} | {row['val_gain']:+.3f} | " + " | ".join(gains) +
              f" | {row['iter_best']} | {row['seconds']:.0f} |")
    policies = args.policies.split(",")
    if {"diagnosis", "random"} <= set(policies):
        for selector in args.selectors.split(","):
            by = {(r["policy"], r["seed"]): r["main"] for r in rows if r["selector"] == selector}
            wins = sum(1 for s in seeds
                       if _mean(by[("diagnosis", s)]) > _mean(by[("random", s)]))
            print(f"{selector}: diagnosis above random on test in {wins} of "
                  f"{len(seeds)} campaign seeds")


def _mean(gain: object) -> float:
    return gain.mean if isinstance(gain, Gain) else 0.0


if __name__ == "__main__":
    main()
