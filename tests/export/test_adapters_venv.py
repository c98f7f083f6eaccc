"""The acceptance round trips for real: the quickstart's best program exported, installed with
``pip install "DIR[langgraph,mcp,mem0,index]"`` into a fresh venv that has no evolve, then the Mem0,
LangGraph and MCP round trips of ``test_adapters`` (two users x 20 memories, a restart, no
cross-user result) run with that venv's Python.

Marked ``export_venv`` (deselected by default: it installs langgraph and mcp from the index,
minutes on 2 cores): ``python -m pytest -m export_venv tests/export/test_adapters_venv.py``.
"""

from __future__ import annotations

import subprocess
import venv
from pathlib import Path

import pytest
from test_adapters import ROUNDTRIPS, check_roundtrip
from test_export import _clean_env, _imports_evolve, _pip

from evolve.cli import main


@pytest.mark.export_venv
def test_fresh_venv_install_with_extras_runs_the_three_round_trips(
        quickstart_run_dir: Path, tmp_path: Path) -> None:
    run = quickstart_run_dir
    out = tmp_path / "exported"
    assert main(["export", str(run), "--best", "--out", str(out)]) == 0
    package = next(out.glob("evolved_*/metadata.json")).parent.name
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    python = env_dir / "bin" / "python"
    tools = _pip(python, "wheel", "setuptools")
    assert tools.returncode == 0, tools.stderr[-2000:]
    install = _pip(python, "--no-build-isolation", f"{out}[langgraph,mcp,mem0,index]")
    assert install.returncode == 0, install.stderr[-3000:]
    assert not _imports_evolve(python, tmp_path)
    prefilter = subprocess.run(  # the index extra brings the int8 pre-filter's usearch
        [str(python), "-c", f"import {package}.ann as a; assert a.exact_search is not None"],
        capture_output=True, text=True, cwd=tmp_path, env=_clean_env(), timeout=120)
    assert prefilter.returncode == 0, prefilter.stderr[-2000:]
    for name in sorted(ROUNDTRIPS):
        store = tmp_path / f"{name}.sqlite"
        check_roundtrip(str(python), name, package, store, _clean_env())
    # the reads still equal the campaign's (the package's own test replays the golden reads)
    tests = subprocess.run([str(python), "-m", "pip", "install", "-q", "pytest"],
                           capture_output=True, text=True, env=_clean_env(), timeout=600)
    assert tests.returncode == 0, tests.stderr[-2000:]
    tests = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            str(out / "tests")], capture_output=True, text=True, cwd=tmp_path,
                           timeout=600, env=_clean_env())
    assert tests.returncode == 0, tests.stdout[-3000:]
