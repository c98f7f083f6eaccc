"""Does the offline search find better memory programs, and do the gains hold on test?

    python bench/search_quality.py [--size hard] [--iterations 20] [--seeds 0,1,2,3,4]
        [--policies diagnosis,random] [--selectors softmax,argmax,pareto] [--out DIR]

Runs the quickstart campaign (examples/quickstart.toml: the three M* seeds, offline model and
offline mutator) once per (policy, selector, campaign seed) on dialog-synth, then scores on the
test split the best seed and the best program, both chosen on validation, and prints their
paired gain with a 95% bootstrap interval (``evolve.stats.paired_gain``), the best program's
validation and test scores, how many children were recorded as no-ops (same answer and score
as their parent on every validation item), the iteration at which
the best program was born, and the same gain on the ``held-out`` word pool (programs searched on
``main`` words, scored on conversations whose words the reader and mutator never name).
Ends with how many campaign seeds have diagnosis above random at equal selector.
"""

from __future__ import annotations

import argparse
import shutil
import time
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


def one_campaign(out: Path, size: str, iterations: int, policy: str, selector: str, seed: int,
                 tasks: dict[str, object], hub: object) -> dict[str, object]:
    run_dir = out / f"{policy}-{selector}-{seed}"
    shutil.rmtree(run_dir, ignore_errors=True)
    started = time.perf_counter()
    evolve.run_campaign(str(EXAMPLE), str(run_dir), overrides=[
        f"task.args.size={size}", f"search.iterations={iterations}",
        f"search.offline_policy={policy}", f"search.selector={selector}",
        f"campaign.seed={seed}"])
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
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="hard")
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--policies", default="diagnosis,random")
    parser.add_argument("--selectors", default="softmax,argmax,pareto")
    parser.add_argument("--out", default="runs/search-quality")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    hub = build_hub(model="offline")
    pools = ["main", "held-out"] if args.size == "hard" else ["main"]
    tasks = {pool: make_task("dialog-synth", {"size": args.size, "pool": pool})
             for pool in pools}
    rows = [one_campaign(out, args.size, args.iterations, policy, selector, int(seed), tasks,
                         hub)
            for selector in args.selectors.split(",") for policy in args.policies.split(",")
            for seed in args.seeds.split(",")]
    print(f"dialog-synth size={args.size}, {args.iterations} iterations, quickstart seeds; "
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
            wins = sum(1 for s in args.seeds.split(",")
                       if _mean(by[("diagnosis", int(s))]) > _mean(by[("random", int(s))]))
            print(f"{selector}: diagnosis above random on test in {wins} of "
                  f"{len(args.seeds.split(','))} campaign seeds")


def _mean(gain: object) -> float:
    return gain.mean if isinstance(gain, Gain) else 0.0


if __name__ == "__main__":
    main()
