"""The HTML report, its figures, the highlighter and the report/plot/lineage commands.

``make_synthetic_run(run_dir, n)`` (also used by other test files) writes a lineage database
with ``n`` programs through the real ``LineageStore``: seeds, mutations, crossovers, gate
failures with fix rounds, runtime violations with repairs, item traces and a test score.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
import textwrap
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from evolve.cli import main
from evolve.config.load import config_to_dict
from evolve.config.sections import CampaignConfig, CampaignSection
from evolve.lineage import LineageStore
from evolve.lineage.writes import NewEvaluation, NewItem, NewProgram
from evolve.llm.base import CallRecord
from evolve.program.identity import program_id
from evolve.report import build_report, load_run, plot
from evolve.report.highlight import diff_html, highlight_python
from evolve.seeds import seed_source

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


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        for key, value in attrs:
            if (tag, key) in (("a", "href"), ("img", "src"), ("link", "href"),
                              ("script", "src")) and value:
                self.refs.append(value)


def broken_references(report: Path) -> list[str]:
    """Every relative href/src of every page that does not resolve to an existing file."""
    broken = []
    for page in report.rglob("*.html"):
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        for ref in parser.refs:
            assert not ref.startswith(("http:", "https:", "//")), f"{page}: external {ref}"
            target = ref.split("#")[0]
            if target and not (page.parent / target).resolve().is_file():
                broken.append(f"{page.name} -> {ref}")
    return broken


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    run = tmp_path_factory.mktemp("synthetic-run")
    return run, make_synthetic_run(run, 30)


def test_report_pages_plots_and_links(synthetic: tuple[Path, dict[str, str]]) -> None:
    run, marks = synthetic
    result = build_report(run)
    report = run / "report"
    assert result.index == report / "index.html" and result.pages == 31 and result.plots == 4
    pages = sorted((report / "programs").glob("*.html"))
    assert len(pages) == 30
    for kind in ("scores", "pareto", "categories", "tree"):
        png = (report / "plots" / f"{kind}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert broken_references(report) == []
    index = (report / "index.html").read_text()
    assert "synthetic" in index and marks["best"][:8] in index
    assert "https://" not in index and "<script src" not in index  # offline, self-contained
    # values from the database are escaped, never interpreted as markup
    assert "<7>" not in index and "&lt;7&gt;" in index


def test_program_page_shows_source_diff_gates_and_traces(synthetic) -> None:
    run, marks = synthetic
    build_report(run)
    failed = (run / "report" / "programs" / f"{marks['failed'][:12]}.html").read_text()
    assert "syntax" in failed and "invalid syntax (line 3)" in failed
    best = (run / "report" / "programs" / f"{marks['best'][:12]}.html").read_text()
    assert '<span class="k">def</span>' in best  # highlighted source
    assert 'class="add"' in best  # diff against its parent
    assert "Where does person" in best and "retrieved memory" in best  # failed-item traces
    assert best.count('<details class="item"') <= 8  # traces per page are capped


def test_report_of_a_live_run_does_not_lock_it(tmp_path: Path) -> None:
    """A campaign process holding the database read-write can keep writing while the report
    is built from a snapshot."""
    make_synthetic_run(tmp_path, 8)
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from evolve.lineage import LineageStore
            store = LineageStore({str(tmp_path / 'lineage.duckdb')!r})
            print('open', flush=True)
            sys.stdin.readline()
            store.add_event('synthcampaign', 'resumed', 'still writing')
            store.close()
            print('wrote', flush=True)
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        assert main(["report", str(tmp_path)]) == 0
        assert (tmp_path / "report" / "index.html").is_file()
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "wrote"
    finally:
        holder.kill()
        holder.wait()


def test_report_of_300_programs_renders_in_reasonable_time(tmp_path: Path) -> None:
    make_synthetic_run(tmp_path, 300, seed=3)
    started = time.monotonic()
    result = build_report(tmp_path)
    seconds = time.monotonic() - started
    print(f"\n300-program report: {seconds:.1f} s, {result.pages} pages")
    assert result.pages == 301
    assert seconds < 90, f"report of 300 programs took {seconds:.1f} s"
    index = (tmp_path / "report" / "index.html").read_text()
    assert "id=\"pagesize\"" in index and index.count("<tr") > 300  # paginated in the page
    assert broken_references(tmp_path / "report") == []
    # a rebuild on a smaller run leaves no stale pages behind
    assert len(list((tmp_path / "report" / "programs").glob("*.html"))) == 300


def test_report_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert main(["report", str(tmp_path)]) == 2
    (tmp_path / "lineage.duckdb").write_bytes(b"\x00not a database" * 1000)
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("evolve: error:") for line in err)
    assert "not an evolve run directory" in err[1]
    assert str(tmp_path / "lineage.duckdb") in err[2] and "evolve-snapshot" not in err[2]


def test_truncated_database_is_one_line_exit_2(synthetic, tmp_path: Path, capsys) -> None:
    run, _ = synthetic
    data = (run / "lineage.duckdb").read_bytes()
    (tmp_path / "lineage.duckdb").write_bytes(data[: len(data) // 2])
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("evolve: error:")


def test_plot_and_lineage_png_commands(synthetic, tmp_path: Path, capsys) -> None:
    run, _ = synthetic
    for kind in ("scores", "pareto", "categories", "tree"):
        assert main(["plot", str(run), kind, "--out", str(tmp_path / f"{kind}.svg")]) == 0
        assert (tmp_path / f"{kind}.svg").read_text().lstrip().startswith("<?xml")
    assert main(["lineage", str(run), "--png", str(tmp_path / "tree.png")]) == 0
    assert (tmp_path / "tree.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["plot", str(run), "tree", "--out", str(tmp_path / "tree.jpg")]) == 2
    assert main(["plot", str(run), "bogus", "--out", str(tmp_path / "x.png")]) == 2
    capsys.readouterr()
    assert main(["lineage", str(run)]) == 0  # without --png: the text tree, as before
    assert "vector_search" in capsys.readouterr().out


def test_plots_of_an_empty_run(tmp_path: Path) -> None:
    store = LineageStore(tmp_path / "lineage.duckdb")
    store.add_campaign("c", name="empty", task="dialog-synth", config={})
    store.close()
    data = load_run(tmp_path)
    for kind in ("scores", "pareto", "categories", "tree"):
        assert plot(kind, data, tmp_path / f"{kind}.png").stat().st_size > 1000
    assert build_report(tmp_path).pages == 1


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def test_highlighter_keeps_the_source_exactly() -> None:
    source = seed_source("vector_search")
    highlighted = highlight_python(source)
    assert _text(highlighted) == source
    assert '<span class="k">class</span> <span class="f">KnowledgeBase</span>' in highlighted
    assert '<span class="d">@</span><span class="d">dataclass</span>' in highlighted
    broken = 'def f(:\n    x = "<b>unclosed\n'
    assert _text(highlight_python(broken)) == broken
    assert "<b>" not in highlight_python(broken)


def test_diff_html_marks_added_and_removed_lines() -> None:
    out = diff_html("a = 1\nb = 2\n", "a = 1\nb = 3\n", "old", "new")
    assert '<span class="del">-b = 2</span>' in out and '<span class="add">+b = 3</span>' in out
    assert diff_html("same\n", "same\n", "x", "y") == ""


def test_report_model_reads_scores_and_lineage(synthetic) -> None:
    run, marks = synthetic
    data = load_run(run)
    assert len(data.programs) == 30 and data.best is not None
    assert data.best.id == marks["best"] and data.best.test_score is not None
    failed = data.by_id[marks["failed"]]
    assert failed.status == "gate_failed" and failed.val_score is None
    assert all(len(items) <= 8 for items in data.failed_items.values())
    assert json.dumps(data.status["spend"])  # JSON-able, as the overview shows it
