"""Transfer to LoCoMo-format conversations the project has never seen (issue #15's check).

    python bench/transfer.py [--path bench/data/locomo_handwritten.json] [--split all]
        [--iterations 20] [--seeds 0,1,2] [--test 0.3] [--out runs/transfer] [--skip-campaign]

Prints two markdown tables on any LoCoMo-format file (the default is the hand-written corpus in
the repository; a local copy of the real locomo10.json works too and must never be committed):

(a) every shipped seed and the oracle (gold evidence in place of ``read()``, with
    ``bench/seed_scores.py``'s instruction) with the offline model: overall and per category
    on ``--split``, whether the oracle is above every seed, and on how many answerable
    items the oracle abstains or answers wrong (why the ceiling is where it is);
(b) the quickstart campaign (examples/quickstart.toml: the three M* seeds, offline model and
    offline mutator) with the task replaced by ``locomo`` on that file, items split by the task
    into ``--test`` for test and the rest for validation, once per campaign seed: the best seed and
    the best program (both chosen on validation) scored on TEST, their paired gain with a 95%
    bootstrap interval (``evolve.stats.paired_gain``) and whether the interval is above 0.05.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import evolve
from evolve.evaluation.evaluate import EvalResult, EvalSettings, evaluate_program
from evolve.llm.factory import build_hub
from evolve.seeds import list_seeds, seed_source
from evolve.stats import paired_gain
from evolve.tasks.base import Task
from evolve.tasks.locomo import NOT_MENTIONED_GOLD
from evolve.tasks.registry import make_task

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seed_scores import oracle_source  # noqa: E402  (bench/ is scripts, not a package)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "quickstart.toml"
DEFAULT_PATH = ROOT / "bench" / "data" / "locomo_handwritten.json"
TARGET_GAIN = 0.05  # issue #15: the campaign must beat the best seed by this, outside the CI


def seed_table(task: Task, hub: object, split: str) -> None:
    """Table (a): every seed and the oracle, overall and per category on ``split``."""
    rows: list[tuple[str, EvalResult]] = []
    for seed in list_seeds():
        rows.append((f"`{seed.name}`", evaluate_program(seed_source(seed.name), task, hub,  # type: ignore[arg-type]
                                                        EvalSettings(split=split))))
    oracle = evaluate_program(oracle_source(), task, hub,  # type: ignore[arg-type]
                              EvalSettings(split=split, oracle=True))
    categories = sorted({c for _, r in [*rows, ("", oracle)] for c in r.per_category})
    names = task.category_names
    header = ["program", "overall", *[f"{c} {names.get(c, '')}".strip() for c in categories],
              "status"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for label, result in [*sorted(rows, key=lambda r: -r[1].score), ("(oracle evidence)", oracle)]:
        cells = [label, f"{result.score:.3f}",
                 *[f"{result.per_category.get(c, 0.0):.3f}" for c in categories], result.status]
        print("| " + " | ".join(cells) + " |")
    best = max(rows, key=lambda r: r[1].score)
    worst_category = min(oracle.per_category.values()) if oracle.per_category else 0.0
    print(f"\noracle {oracle.score:.3f} overall, lowest category {worst_category:.3f}; "
          f"best seed {best[0]} {best[1].score:.3f}; oracle above every seed: "
          f"{'yes' if oracle.score > best[1].score else 'no'}")
    # why the ceiling is low: with the gold lines in hand, does the reader abstain or miss?
    answerable = [it for it in oracle.items if it.category != "5"]
    abstained = sum(1 for it in answerable if NOT_MENTIONED_GOLD in it.answer.lower())
    wrong = sum(1 for it in answerable if it.score == 0 and NOT_MENTIONED_GOLD not in
                it.answer.lower())
    print(f"oracle on the {len(answerable)} answerable items: {abstained} answered "
          f"'{NOT_MENTIONED_GOLD}', {wrong} more scored 0")


def _test_scores(source: str, task: Task, hub: object) -> list[float]:
    result = evaluate_program(source, task, hub, EvalSettings(split="test"))  # type: ignore[arg-type]
    return [item.score for item in result.items]


def _toml_table(values: dict[str, str]) -> str:
    """An inline TOML table of strings (JSON string escapes are valid TOML basic strings)."""
    return "{" + ", ".join(f"{key} = {json.dumps(value)}" for key, value in values.items()) + "}"


def one_campaign(out: Path, task_args: dict[str, str], iterations: int, seed: int, task: Task,
                 hub: object) -> dict[str, object]:
    """One quickstart campaign on the locomo file; best seed vs best program on test."""
    run_dir = out / f"campaign-{seed}"
    shutil.rmtree(run_dir, ignore_errors=True)
    started = time.perf_counter()
    # task.args is replaced whole (an inline TOML table): the quickstart's dialog-synth
    # arguments (size, seed) are not locomo arguments
    evolve.run_campaign(str(EXAMPLE), str(run_dir), overrides=[
        "task.name=locomo", f"task.args={_toml_table(task_args)}",
        f"search.iterations={iterations}", f"campaign.seed={seed}"])
    seconds = time.perf_counter() - started
    with evolve.open_run(run_dir) as run:
        scored = [(run.score(p) or 0.0, -p.iteration, p) for p in run.programs()
                  if run.score(p) is not None]
        best = max(scored, key=lambda t: (t[0], t[1]))[2]
        best_seed = max((t for t in scored if t[2].origin == "seed"),
                        key=lambda t: (t[0], t[1]))[2]
        seed_test = _test_scores(best_seed.source, task, hub)
        best_test = _test_scores(best.source, task, hub)
        return {"seed": seed, "best_seed": best_seed.name or best_seed.id[:8],
                "seed_val": run.score(best_seed) or 0.0,
                "best_val": run.score(best) or 0.0, "iter_best": best.iteration,
                "seed_test": sum(seed_test) / len(seed_test),
                "best_test": sum(best_test) / len(best_test),
                "gain": paired_gain(seed_test, best_test, seed=seed), "seconds": seconds}


def campaign_table(rows: list[dict[str, object]], n_test: int) -> None:
    """Table (b): per campaign seed, best seed vs best program on the test split."""
    print(f"test split: {n_test} items; gain = best program - best seed (both chosen on "
          "validation), 95% paired bootstrap interval")
    header = ["campaign seed", "best seed", "seed val", "best val", "seed test", "best test",
              "test gain [95% CI]", f"CI above +{TARGET_GAIN}", "iter of best", "s"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        gain = row["gain"]
        low = getattr(gain, "low", 0.0)
        print(f"| {row['seed']} | {row['best_seed']} | {row['seed_val']:.3f} | "
              f"{row['best_val']:.3f} | {row['seed_test']:.3f} | {row['best_test']:.3f} | "
              f"{gain} | {'yes' if low > TARGET_GAIN else 'no'} | {row['iter_best']} | "
              f"{row['seconds']:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default=str(DEFAULT_PATH))
    parser.add_argument("--split", default="all", help="split of table (a)")
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--seeds", default="0,1,2", help="campaign seeds of table (b)")
    parser.add_argument("--test", default="0.3", help="test share (or count); the rest is val")
    parser.add_argument("--out", default="runs/transfer")
    parser.add_argument("--skip-campaign", action="store_true", help="print table (a) only")
    args = parser.parse_args()
    hub = build_hub(model="offline")
    path = str(Path(args.path).resolve())
    task_args = {"path": path, "test": args.test}
    task = make_task("locomo", task_args)
    described = task.describe()
    print(f"{args.path}: {len(described['conversations'])} conversations, "
          f"{described['n_episodes']} sessions, items {described['n_items']}\n")
    print(f"(a) seeds and oracle, offline model, split={args.split}\n")
    seed_table(task, hub, args.split)
    if args.skip_campaign:
        return
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = [one_campaign(out, task_args, args.iterations, int(s), task, hub)
            for s in args.seeds.split(",")]
    print(f"\n(b) quickstart campaign ({args.iterations} iterations, three M* seeds, offline "
          f"model and mutator) on locomo, test={args.test}\n")
    campaign_table(rows, sum(len(g.items) for g in task.groups("test")))


if __name__ == "__main__":
    main()
