"""docs/api.md runs as written: its ``python`` blocks, in order, in one namespace, in a fresh
directory where ``evolve init`` wrote quickstart.toml (what the page says it assumes)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from evolve.cli import main

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)


def python_blocks() -> list[tuple[int, str]]:
    """(line number, code) of every ```python block of docs/api.md."""
    text = DOC.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in BLOCK.finditer(text)]


def test_the_page_has_the_examples_it_promises():
    code = "\n".join(block for _, block in python_blocks())
    for call in ("run_campaign(\n    \"quickstart.toml\"", "run_campaign(TINY,",
                 "run_campaign(config,", "open_run(", "evaluate_program(", "selector=Tournament()",
                 "task=FruitLog()", "meta_agent=BumpTopK()", "models={\"task\": model}",
                 "stoppers=[StopAfter(1)]", "resume_campaign(", "check_task(FruitLog())",
                 "check_selector(Tournament())", "check_meta_agent(BumpTopK())"):
        assert call in code, call


def test_the_examples_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    namespace: dict = {"__name__": "__main__"}
    for line, code in python_blocks():
        try:
            exec(compile(code, f"{DOC}:{line}", "exec"), namespace)  # noqa: S102
        except Exception as exc:  # noqa: BLE001 - say which block broke
            pytest.fail(f"docs/api.md block at line {line} failed: {type(exc).__name__}: {exc}")
    out = capsys.readouterr().out
    assert "iterations: 2 of 2 done" in out
    assert "stop_after: 1 iterations" in out
    assert "select draws randomness only from rng" in out  # the conformance check caught Lucky
    assert "was run with Python objects (selector=__main__.Tournament)" in out
    assert namespace["model"].calls > 0
    for run_dir in ("quickstart", "from-dict", "from-config", "tournament", "fruit", "bump",
                    "model", "stopped", "resumable"):
        assert (tmp_path / "runs" / run_dir / "lineage.duckdb").is_file(), run_dir
