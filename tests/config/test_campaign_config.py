"""Campaign config loading: defaults, examples, one-line errors naming the key, overrides,
seed resolution, JSON round trip, and docs/config.md covering every field with its default."""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
from pathlib import Path

import pytest

from evolve.config import load as config_load
from evolve.config.load import (
    config_from_dict,
    config_to_dict,
    load_config,
    resolve_seeds,
)
from evolve.config.rules import RULES
from evolve.config.sections import CampaignConfig
from evolve.errors import UsageError
from evolve.seeds import seed_source

ROOT = Path(__file__).resolve().parents[2]


def _load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str,
          overrides: tuple[str, ...] = ()) -> CampaignConfig:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.toml").write_text(text, encoding="utf-8")
    return load_config("config.toml", overrides)


def _error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str,
           overrides: tuple[str, ...] = ()) -> str:
    with pytest.raises(UsageError) as info:
        _load(tmp_path, monkeypatch, text, overrides)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_empty_file_gives_defaults(tmp_path, monkeypatch):
    assert _load(tmp_path, monkeypatch, "") == CampaignConfig()


def test_quickstart_example():
    config = load_config(ROOT / "examples" / "quickstart.toml")
    assert config.task.name == "dialog-synth" and config.task.args["size"] == "hard"
    assert (config.models.task, config.models.reflector) == ("offline", "offline")
    assert config.search.seeds == ["vector_search", "llm_summarizer", "experience_learner"]
    assert config.search.iterations == 20 and config.search.selector == "softmax"
    assert config.search.temperature == pytest.approx(0.15)
    assert config.data.val_size == 100


def test_openai_example():
    config = load_config(ROOT / "examples" / "openai.toml")
    assert config.models.task != "offline" and config.models.reflector != "offline"
    assert config.budget.max_usd > 0
    assert all(len(p) == 2 for p in config.models.prices.values())


def test_bad_choice_message_is_exact(tmp_path, monkeypatch):
    message = _error(tmp_path, monkeypatch, '[search]\nselector = "best"\n')
    assert message == ("config.toml: search.selector: expected one of softmax, argmax, novelty, "
                       "pareto, lineage, got 'best'")


@pytest.mark.parametrize(("text", "expected"), [
    ('[search]\niteratons = 5\n', "search.iteratons: unknown key; did you mean search.iterations?"),
    ('[search]\nval_size = 5\n', "did you mean data.val_size?"),
    ('[serch]\niterations = 5\n', "serch: unknown section; did you mean search?"),
    ('iterations = 5\n', "did you mean search.iterations?"),
    ('[search]\niterations = "5"\n', "search.iterations: expected an integer, got '5'"),
    ('[search]\niterations = 2.5\n', "search.iterations: expected an integer"),
    ('[search]\niterations = true\n', "search.iterations: expected an integer"),
    ('[search]\nfreeze_code = 1\n', "search.freeze_code: expected a boolean"),
    ('[search]\ntemperature = 0\n', "search.temperature: must be greater than 0"),
    ('[search]\ntemperature = "hot"\n', "search.temperature: expected a number"),
    ('[search]\ncrossover_rate = 1.5\n', "search.crossover_rate: must be between 0 and 1"),
    ('[search]\nmutation = "rewrite"\n', "search.mutation: expected one of patch, full, auto"),
    ('[search]\ncost_objective = "usd"\n', "search.cost_objective: expected one of tokens, llm_calls"),
    ('[search]\noffline_policy = "smart"\n', "search.offline_policy: expected one of diagnosis, random"),
    ('[search]\nseeds = "vector_search"\n', "search.seeds: expected a list of strings"),
    ('[search]\nseeds = ["bm25", 3]\n', "search.seeds: element 1: expected a string, got 3"),
    ('[search]\nseeds = []\n', "search.seeds: must not be empty"),
    ('[search]\nselector = "softmax"\niterations = -1\n', "search.iterations: must be 0 or more"),
    ('[campaign]\nprotocol = "batch"\n', "campaign.protocol: expected one of offline, online"),
    ('[sandbox]\nmode = "docker"\n', "sandbox.mode: expected one of auto, bwrap, unshare, none"),
    ('[data]\nval_size = 0\n', "data.val_size: must be greater than 0"),
    ('[data]\nepisode_ratio = -1\n', "data.episode_ratio: must be 0 or more"),
    ('[models]\nconcurrency = 0\n', "models.concurrency: must be greater than 0"),
    ('[models]\nembedder = "bert"\n', "models.embedder: expected one of offline, hybrid"),
    ('[models]\nprices = { m = [1.0, 2.0, 3.0] }\n', "models.prices: 'm': expected"),
    ('[budget]\nmax_usd = -5\n', "budget.max_usd: must be 0 or more"),
    ('[task]\nname = "locomoo"\n', "task.name: unknown task 'locomoo'; did you mean 'locomo'?"),
    ('[task]\nargs = { sise = "small" }\n', "task.args.sise: unknown argument of task dialog-synth; "
                                            "did you mean task.args.size?"),
    ('[task]\nargs = { size = "huge" }\n', "task.args.size: expected one of tiny, small, full"),
    ('[task]\nargs = { size = ["small"] }\n', "task.args: 'size': expected a string"),
    ('search = 3\n', "[search] must be a table"),
])
def test_errors_name_the_key(tmp_path, monkeypatch, text, expected):
    message = _error(tmp_path, monkeypatch, text)
    assert message.startswith("config.toml: ")
    assert expected in message


def test_invalid_toml_reports_position(tmp_path, monkeypatch):
    message = _error(tmp_path, monkeypatch, '[search]\niterations = = 3\n')
    assert message.startswith("config.toml: invalid TOML")
    assert "line 2" in message


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(UsageError, match="config file not found"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(UsageError, match="not a file"):
        load_config(tmp_path)


def test_task_args_scalars_become_strings(tmp_path, monkeypatch):
    config = _load(tmp_path, monkeypatch, '[task]\nargs = { seed = 3, size = "tiny" }\n')
    assert config.task.args == {"seed": "3", "size": "tiny"}


def test_integer_accepted_for_float(tmp_path, monkeypatch):
    config = _load(tmp_path, monkeypatch, '[budget]\nmax_usd = 5\n')
    assert config.budget.max_usd == 5.0 and isinstance(config.budget.max_usd, float)


def test_overrides(tmp_path, monkeypatch):
    config = _load(tmp_path, monkeypatch, '[search]\niterations = 20\n', (
        "search.iterations=3", "search.selector=pareto", "campaign.name=2024",
        "task.args.size=tiny", "search.seeds=bm25, vector_search", "search.temperature=0.5",
        "search.freeze_code=true", 'models.prices={ m = [1, 2] }'))
    assert config.search.iterations == 3 and config.search.selector == "pareto"
    assert config.campaign.name == "2024"
    assert config.task.args == {"size": "tiny"}
    assert config.search.seeds == ["bm25", "vector_search"]
    assert config.search.temperature == 0.5 and config.search.freeze_code is True
    assert config.models.prices == {"m": [1.0, 2.0]}


@pytest.mark.parametrize(("override", "expected"), [
    ("search.selector=best", "override 'search.selector=best': search.selector: expected one of"),
    ("search.itertions=3", "search.itertions: unknown key; did you mean search.iterations?"),
    ("search.iterations=many", "search.iterations: expected an integer, got 'many'"),
    ("search", "expected section.key=value"),
    ("search.iterations.x=1", "search.iterations is not a table"),
])
def test_bad_overrides_are_named(tmp_path, monkeypatch, override, expected):
    assert expected in _error(tmp_path, monkeypatch, "", (override,))


def test_seed_paths_resolve_against_config_dir(tmp_path, monkeypatch):
    conf_dir = tmp_path / "conf"
    (conf_dir / "mine").mkdir(parents=True)
    (conf_dir / "mine" / "my_seed.py").write_text("# my seed\n", encoding="utf-8")
    (conf_dir / "config.toml").write_text(
        '[search]\nseeds = ["mine/my_seed.py", "bm25"]\n', encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # relative to the config file, not the working directory
    config = load_config(conf_dir / "config.toml")
    seeds = resolve_seeds(config, conf_dir)
    assert seeds == [("my_seed", "# my seed\n"), ("bm25", seed_source("bm25"))]


def test_missing_seed_file(tmp_path, monkeypatch):
    message = _error(tmp_path, monkeypatch, '[search]\nseeds = ["foo.py"]\n')
    assert message == "config.toml: search.seeds: seed file not found: foo.py"


def test_unknown_seed_name_suggests(tmp_path, monkeypatch):
    message = _error(tmp_path, monkeypatch, '[search]\nseeds = ["vector_serch"]\n')
    assert "search.seeds: unknown seed 'vector_serch'; did you mean 'vector_search'?" in message


def test_seed_name_with_py_suffix_and_duplicates(tmp_path, monkeypatch):
    config = _load(tmp_path, monkeypatch, '[search]\nseeds = ["bm25.py"]\n')
    assert resolve_seeds(config, tmp_path) == [("bm25", seed_source("bm25"))]
    message = _error(tmp_path, monkeypatch, '[search]\nseeds = ["bm25", "bm25.py"]\n')
    assert "two seeds are named 'bm25'" in message


def test_round_trip_through_json(tmp_path, monkeypatch):
    config = _load(tmp_path, monkeypatch, (ROOT / "examples" / "openai.toml").read_text())
    data = json.loads(json.dumps(config_to_dict(config)))
    assert config_from_dict(data) == config
    assert config_from_dict({}) == CampaignConfig()
    with pytest.raises(UsageError, match="campaign record: search.selector"):
        config_from_dict({"search": {"selector": "best"}})


def test_rules_refer_to_real_fields():
    keys = {f"{s}.{f.name}" for s, cls in config_load.SECTIONS.items()
            for f in dataclasses.fields(cls)}
    assert set(RULES) <= keys


def _documented() -> dict[str, dict[str, str]]:
    """{section: {key: default text}} from the tables of docs/config.md."""
    text = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    out: dict[str, dict[str, str]] = {}
    section = None
    for line in text.splitlines():
        heading = re.match(r"## `\[(\w+)\]`", line)
        if heading:
            section = heading.group(1)
            out[section] = {}
        elif line.startswith("## "):
            section = None
        row = re.match(r"\| `(\w+)` \| `(.*?)` \|", line)
        if section and row:
            out[section][row.group(1)] = row.group(2)
    return out


def test_every_field_is_documented_with_its_default():
    documented = _documented()
    assert set(documented) == set(config_load.SECTIONS)
    defaults = config_to_dict(CampaignConfig())
    for section, cls in config_load.SECTIONS.items():
        names = {f.name for f in dataclasses.fields(cls)}
        assert set(documented[section]) == names, section
        for key in names:
            shown = tomllib.loads(f"v = {documented[section][key]}")["v"]
            assert shown == defaults[section][key], f"{section}.{key}"
