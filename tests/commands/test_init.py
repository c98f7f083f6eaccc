"""``evolve init [DIR]`` gives a user with only the installed package the example configs, and
``evolve run`` without a config points there."""

from __future__ import annotations

import fnmatch
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from fakes import FakeOpenAIServer

from evolve.cli import main
from evolve.commands.init_cmd import INIT_FILES, init_file_text
from evolve.config.load import load_config

ROOT = Path(__file__).resolve().parents[2]


def one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("evolve: error: "), (code, err)
    return err[0]


@pytest.mark.parametrize("name", sorted(INIT_FILES))
def test_shipped_configs_equal_the_examples_and_load(name: str) -> None:
    text = init_file_text(name)
    assert text == (ROOT / "examples" / name).read_text(encoding="utf-8")
    load_config(ROOT / "examples" / name)  # valid keys and values


def test_shipped_configs_are_package_data() -> None:
    """A wheel (not only an editable install) carries them."""
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["evolve"]
    shipped = sorted(p.relative_to(ROOT / "evolve").as_posix()
                     for p in (ROOT / "evolve" / "templates" / "init").iterdir())
    assert shipped == sorted(f"templates/init/{name}" for name in INIT_FILES)
    for path in shipped:
        assert any(fnmatch.fnmatch(path, pattern) for pattern in patterns), path


def test_init_writes_the_configs_and_never_overwrites_without_force(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "project"
    assert main(["init", str(target)]) == 0
    assert f"next       evolve run {target / 'quickstart.toml'}" in capsys.readouterr().out
    assert sorted(p.name for p in target.iterdir()) == sorted(INIT_FILES)
    assert (target / "quickstart.toml").read_text() == \
        (ROOT / "examples" / "quickstart.toml").read_text()
    (target / "openai.toml").write_text("# my edits\n")
    line = one_line(["init", str(target)], capsys)
    assert "already exist" in line and "--force" in line
    assert (target / "openai.toml").read_text() == "# my edits\n"
    assert main(["init", str(target), "--force"]) == 0
    assert (target / "openai.toml").read_text() == init_file_text("openai.toml")
    # default: the current directory
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    assert main(["init"]) == 0
    assert sorted(p.name for p in here.iterdir()) == sorted(INIT_FILES)
    (tmp_path / "a-file").write_text("x")
    assert "not a directory" in one_line(["init", str(tmp_path / "a-file")], capsys)


def test_run_without_a_config_points_to_init(capsys: pytest.CaptureFixture[str]) -> None:
    line = one_line(["run"], capsys)
    assert "`evolve init`" in line and "evolve run quickstart.toml" in line


def test_initialised_quickstart_runs(tmp_path: Path) -> None:
    assert main(["init", str(tmp_path)]) == 0
    assert main(["run", str(tmp_path / "quickstart.toml"), "--run-dir", str(tmp_path / "run"),
                 "--quiet", "--set", "task.args.size=tiny", "--set", "search.iterations=1",
                 "--set", "data.val_size=10"]) == 0


def test_llamacpp_config_talks_to_an_openai_compatible_server(tmp_path: Path) -> None:
    """The llama.cpp example against a local OpenAI-compatible server serving model smollm2-135m
    (the fake server stands in for llama-server; only base_url is changed)."""
    assert main(["init", str(tmp_path)]) == 0
    with FakeOpenAIServer(models=("smollm2-135m",)) as server:
        proc = subprocess.run(
            [sys.executable, "-m", "evolve.cli", "run", str(tmp_path / "llamacpp.toml"),
             "--run-dir", str(tmp_path / "run"), "--quiet", "--set",
             f"models.base_url={server.url}", "--set", "search.iterations=1", "--set",
             "search.seeds=vector_search", "--set", "task.args.size=tiny", "--set",
             "data.val_size=6", "--set", "models.cache=off"],
            capture_output=True, text=True, timeout=300)
        chats = server.counts["/chat/completions"]
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "iterations: 1 of 1 done" in proc.stdout
    assert chats > 0
