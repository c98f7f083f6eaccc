"""Campaign runs that several test folders read: a synthetic lineage database and the quickstart.

``make_synthetic_run(run_dir, n)`` writes a lineage database with ``n`` programs through the real
``LineageStore``: seeds, mutations, crossovers, gate failures with fix rounds, runtime violations
with repairs, item traces and a test score. ``quickstart_run(factory)`` runs
examples/quickstart.toml once per test session (the ``quickstart_run_dir`` fixture of
tests/conftest.py wraps it).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from evolve.config.load import config_to_dict
from evolve.config.sections import CampaignConfig, CampaignSection
from evolve.lineage import LineageStore
from evolve.lineage.writes import NewEvaluation, NewItem, NewProgram
from evolve.llm.base import CallRecord
from evolve.program.identity import program_id
from evolve.seeds import seed_source

ROOT = Path(__file__).resolve().parents[2]

CATEGORIES = ("1", "2", "3", "4", "5")


def _items(rng: np.random.Generator, score: float, n: int = 10) -> list[dict]:
    items = []
    for k in range(n):
        value = float(rng.random() < score)
        items.append({"item_id": f"g{k % 2}:q{k}", "group_id": f"g{k % 2}",
                      "category": CATEGORIES[k % 5], "question": f"Where does person {k} live?",
                      "gold": f"City {k}", "answer": f"City {k}" if value else "not mentioned",
                      "retrieved": f"[1 May 2023] person {k}: I moved to City {k}.\n" * 3,
                      "score": value, "rationale": f"F1 {value:.2f}",
                      "query": {"question": f"Where does person {k} live?",
                                "keywords": [f"person {k}"]}})
    return items


def make_synthetic_run(run_dir: Path, n_programs: int, *, seed: int = 0,
                       embedder: str = "offline") -> dict[str, str]:
    """A finished run with ``n_programs`` programs; returns {"best": id, "failed": id}."""
    rng = np.random.default_rng(seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    config = config_to_dict(CampaignConfig(campaign=CampaignSection(name="synthetic")))
    config["models"]["embedder"] = embedder
    store = LineageStore(run_dir / "lineage.duckdb")
    cid = "synthcampaign"
    store.add_campaign(cid, name="synthetic", task="dialog-synth",
                       task_args={"size": "tiny", "seed": "0"}, protocol="offline",
                       config=config, seeds=["vector_search", "bm25", "full_context"],
                       subsets={"static_items": [], "static_episodes": [],
                                "reflection_pool": [], "test_items": []},
                       versions={"evolve": "test"}, rng_seed=0)
    pool: list[tuple[str, str, float]] = []  # (id, source, score)
    marks = {}
    for name in ("vector_search", "bm25", "full_context"):
        source = seed_source(name)
        pid = program_id(source)
        score = float(rng.uniform(0.4, 0.6))
        store.add_program(NewProgram(pid, cid, source, name=name, iteration=0, origin="seed",
                                     mutator="seed", commit_message=f"seed: {name}",
                                     gate_status="passed"))
        _evaluate(store, cid, pid, score, rng)
        pool.append((pid, source, score))
    iteration, added = 0, len(pool)
    while added < n_programs:
        iteration += 1
        parent_id, parent_source, parent_score = pool[int(rng.integers(len(pool)))]
        parents = [parent_id]
        if iteration % 7 == 0:
            parents.append(pool[int(rng.integers(len(pool)))][0])
        source = parent_source + f"\n# iteration {iteration}: TOP_K = {iteration % 9}\n"
        commit = f"Move {iteration}: tune TOP_K <{iteration % 9}> & rank by date"
        if iteration % 11 == 0 and added + 1 < n_programs:  # a gate failure, then a fix
            bad = source + "def broken(:\n    pass\n"
            bad_id = program_id(bad)
            store.add_program(NewProgram(
                bad_id, cid, bad, parent_ids=tuple(parents), iteration=iteration, generation=1,
                origin="mutation", mutator="offline:test", commit_message=commit,
                gate_status="failed", gate_stage="syntax", gate_message="invalid syntax (line 3)"))
            store.add_event(cid, "gate_failed", "syntax: invalid syntax (line 3)",
                            iteration=iteration, program_id=bad_id)
            marks["failed"] = bad_id
            added += 1
            commit += "\n\nFix 1 (syntax): close the parenthesis"
        origin = "repair" if iteration % 11 == 0 else ("crossover" if len(parents) > 1
                                                        else "mutation")
        pid = program_id(source)
        score = float(np.clip(parent_score + rng.normal(0.02, 0.08), 0, 1))
        store.add_program(NewProgram(pid, cid, source, parent_ids=tuple(parents),
                                     iteration=iteration, generation=1, origin=origin,
                                     mutator="offline:test", commit_message=commit,
                                     gate_status="passed"))
        if iteration % 13 == 0:
            store.add_event(cid, "runtime_violation", "read returned 3400 chars, more than "
                            "the cap of 3000", iteration=iteration, program_id=pid)
        _evaluate(store, cid, pid, score, rng)
        pool.append((pid, source, score))
        added += 1
    best = max(pool, key=lambda p: p[2])
    _evaluate(store, cid, best[0], best[2] - 0.05, rng, split="test")
    store.set_state(cid, "iterations_done", iteration)
    store.set_state(cid, "pareto_front", {"cost_objective": "tokens", "programs": []})
    store.add_calls(cid, [CallRecord(role="reflector", model="offline", kind="chat",
                                     tokens_in=100, tokens_out=50, cost_usd=0.0,
                                     latency_s=0.1, cached=False)])
    store.finish_campaign(cid, f"iterations: {iteration} of {iteration} done")
    store.add_event(cid, "stopped", "done", iteration=iteration)
    store.close()
    marks["best"] = best[0]
    return marks


def _evaluate(store: LineageStore, cid: str, pid: str, score: float,
              rng: np.random.Generator, split: str = "static") -> None:
    items = _items(rng, score)
    per_category = {c: float(np.mean([i["score"] for i in items if i["category"] == c]))
                    for c in CATEGORIES}
    store.add_evaluation(cid, pid, split, f"{split}:abc", NewEvaluation(
        status="ok", score=score, per_category=per_category, n_items=len(items),
        llm_calls=30, tokens_in=20000, tokens_out=400, cost_usd=0.0,
        tokens_per_query=float(rng.uniform(800, 3000)), calls_per_query=3.0,
        sandbox_mode="none", duration_s=1.0,
        write_example={"raw_text": "Ana: I moved to Valencia.", "item": {"summary": "x"}},
        items=tuple(NewItem.from_trace(item) for item in items)))


def quickstart_run(factory: pytest.TempPathFactory) -> Path:
    """RUN_DIR of examples/quickstart.toml, run once per test session (~1 minute)."""
    run = factory.getbasetemp() / "quickstart-run"
    done = run / "finished"
    if not done.exists():
        shutil.rmtree(run, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "evolve.cli", "run",
                        str(ROOT / "examples" / "quickstart.toml"),
                        "--run-dir", str(run), "--quiet"], check=True, cwd=ROOT, timeout=900)
        done.write_text("yes")
    return run
