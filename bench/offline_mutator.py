"""Does the offline mutator's diagnosis beat random move choice? (issue: search campaigns)

Runs the quickstart campaign (examples/quickstart.toml: dialog-synth small, offline models,
the three M* seeds, 20 iterations) with ``search.offline_policy`` = diagnosis and = random,
for several campaign seeds, side by side in one run, and prints a table of best seed vs best
evolved validation score, the gain, the iteration at which +0.10 was first reached, the test
score of the best program, and wall time.

    python bench/offline_mutator.py [--seeds 0 1 2] [--iterations 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from evolve.campaign.loop import Campaign
from evolve.config.load import load_config
from evolve.lineage.queries import open_run

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "examples" / "quickstart.toml"


def run_one(policy: str, seed: int, iterations: int, workdir: Path) -> dict:
    config = load_config(QUICKSTART, [f"search.offline_policy={policy}", f"campaign.seed={seed}",
                                      f"search.iterations={iterations}"])
    run_dir = workdir / f"{policy}-{seed}"
    started = time.monotonic()
    outcome = Campaign(config, run_dir, config_dir=QUICKSTART.parent, progress=False).run()
    seconds = time.monotonic() - started
    store = open_run(run_dir)
    try:
        rows = store.query(
            "SELECT p.origin, p.iteration, e.score FROM programs p JOIN evaluations e ON "
            "e.program_id = p.id WHERE e.split = 'static' AND e.status <> 'gate_failed' "
            "ORDER BY p.iteration")
    finally:
        store.close()
    best_seed = max(score for origin, _, score in rows if origin == "seed")
    reached = next((it for origin, it, score in rows
                    if origin != "seed" and score >= best_seed + 0.10), None)
    return {"policy": policy, "seed": seed, "best_seed": best_seed, "best": outcome.best_val,
            "gain": outcome.best_val - best_seed, "reached": reached,
            "test": outcome.best_test, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--iterations", type=int, default=20)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="evolve-bench-") as tmp:
        for seed in args.seeds:
            for policy in ("diagnosis", "random"):
                results.append(run_one(policy, seed, args.iterations, Path(tmp)))
    print(f"{'policy':<10} {'seed':>4} {'best seed':>9} {'best':>7} {'gain':>7} "
          f"{'+0.10 at':>8} {'test':>7} {'time s':>7}")
    for r in results:
        reached = "-" if r["reached"] is None else f"it {r['reached']}"
        test = "-" if r["test"] is None else f"{r['test']:.3f}"
        print(f"{r['policy']:<10} {r['seed']:>4} {r['best_seed']:>9.3f} {r['best']:>7.3f} "
              f"{r['gain']:>+7.3f} {reached:>8} {test:>7} {r['seconds']:>7.1f}")
    for policy in ("diagnosis", "random"):
        mine = [r for r in results if r["policy"] == policy]
        hits = [r["reached"] for r in mine if r["reached"] is not None]
        print(f"{policy:<10} mean gain {statistics.mean(r['gain'] for r in mine):+.3f}  "
              f"reached +0.10 in {len(hits)}/{len(mine)} campaigns"
              + (f", median at iteration {statistics.median(hits):.0f}" if hits else ""))


if __name__ == "__main__":
    main()
