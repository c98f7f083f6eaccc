"""One list of names per extension point: config validation, factories and docs agree."""

from __future__ import annotations

import re
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pytest

from evolve.config.load import config_from_dict
from evolve.errors import UsageError
from evolve.evaluation.executors import make_executor
from evolve.registry import EXECUTORS, META_AGENTS, SELECTORS
from evolve.strategies.selectors import PoolEntry, make_selector

DOCS = Path(__file__).resolve().parents[2] / "docs" / "config.md"


class FirstSelector:
    """Always the first pool entry (an installed selector for the test)."""

    def select(self, pool, rng):
        return pool[0]


def _docs_row(key: str) -> str:
    row = next(line for line in DOCS.read_text().splitlines() if line.startswith(f"| `{key}`"))
    return row


@pytest.mark.parametrize("key,registry", [("selector", SELECTORS),
                                          ("executor", EXECUTORS),
                                          ("meta_agent", META_AGENTS)])
def test_docs_list_every_registered_name(key, registry):
    listed = set(re.findall(r"`([a-z]+)`", _docs_row(key)))
    assert set(registry.builtin_names) <= listed, (registry.builtin_names, listed)


def test_config_validation_reads_the_registries():
    with pytest.raises(UsageError, match="expected one of softmax, argmax, novelty, pareto, lineage"):
        config_from_dict({"search": {"selector": "best"}})
    with pytest.raises(UsageError, match="expected one of threads, processes, dask, ray"):
        config_from_dict({"parallel": {"executor": "slurm"}})
    with pytest.raises(UsageError, match="search.meta_agent: expected one of auto, offline, llm"):
        config_from_dict({"search": {"meta_agent": "gpt"}})


def test_installed_selector_is_accepted_by_name(monkeypatch):
    entry = EntryPoint("first", f"{__name__}:FirstSelector", "evolve.selectors")
    monkeypatch.setattr("importlib.metadata.entry_points",
                        lambda group=None: [entry] if group == "evolve.selectors" else [])
    SELECTORS.refresh()
    try:
        assert SELECTORS.names()[-1] == "first"
        config = config_from_dict({"search": {"selector": "first"}})
        selector = make_selector(config.search.selector)
        pool = [PoolEntry("b", 0.1), PoolEntry("a", 0.9)]
        assert selector.select(pool, np.random.default_rng(0)).program_id == "b"
    finally:
        SELECTORS.refresh()


def test_unknown_selector_names_every_choice():
    with pytest.raises(UsageError, match="unknown parent selector 'best'; choose one of "
                                         "softmax, argmax, novelty, pareto, lineage"):
        make_selector("best")


def test_every_builtin_name_builds_its_part():
    """Each registered reference resolves: the names are not a list drifting from the code."""
    for name in SELECTORS.builtin_names:
        assert callable(make_selector(name).select)
    executor = make_executor("threads", 1, None)
    try:
        assert callable(executor.map)
    finally:
        executor.close()
    for name in EXECUTORS.builtin_names:
        assert callable(EXECUTORS.get(name))


def test_validating_a_config_does_not_import_the_implementations():
    import subprocess
    import sys

    code = ("import sys; from evolve.config.load import config_from_dict; "
            "config_from_dict({'search': {'selector': 'pareto'}, "
            "'parallel': {'executor': 'processes'}}); "
            "print('evolve.evaluation.executors' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


def test_a_one_number_price_for_an_embedding_model_builds_a_hub():
    """docs/config.md allows `[input]` alone for embedding models; the hub used to fail on it
    unpacking a pair."""
    from evolve.config.sections import ModelsSection
    from evolve.llm.hub_setup import hub_from_models

    hub = hub_from_models(ModelsSection(embedder="hashing", cache="off",
                                        prices={"text-embedding-x": [0.02],
                                                "chat-x": [1.0, 2.0]}), "off")
    assert hub.prices.cost("text-embedding-x", 1_000_000, 0)[0] == pytest.approx(0.02)
    assert hub.prices.cost("chat-x", 0, 1_000_000)[0] == pytest.approx(2.0)


class RaiseTopK:
    """Raises the parent's TOP_K by one (an installed meta-agent for the test)."""

    name = "raise-top-k"

    def propose(self, context):
        from evolve.meta.base import Proposal

        source = context.parent.source
        found = re.search(r"^TOP_K = (\d+)", source, re.M)
        if found is None:
            return Proposal(None, "", self.name, error="no TOP_K")
        child = source.replace(found.group(0), f"TOP_K = {int(found.group(1)) + 1}", 1)
        return Proposal(child, f"TOP_K {found.group(1)} -> {int(found.group(1)) + 1}", self.name)

    def fix(self, context, source, stage, message, attempt):
        from evolve.meta.base import Proposal

        return Proposal(None, "", self.name, error=f"cannot fix {stage}")

    def repair(self, context, source, violation):
        from evolve.meta.base import Proposal

        return Proposal(None, "", self.name, origin="repair", error=violation)


class NotAMetaAgent:
    """Installed under evolve.meta_agents but has no propose/fix/repair."""


def _installed_meta_agents(monkeypatch, **targets: str) -> None:
    entries = [EntryPoint(name, target, "evolve.meta_agents") for name, target in targets.items()]
    monkeypatch.setattr("importlib.metadata.entry_points",
                        lambda group=None: entries if group == "evolve.meta_agents" else [])
    META_AGENTS.refresh()


def test_builtin_meta_agent_names_build_what_auto_picked_before(monkeypatch):
    from evolve.meta.factory import make_meta_agent
    from evolve.meta.llm_agent import LLMMetaAgent
    from evolve.meta.offline.mutator import OfflineMutator

    hub = object()  # neither built-in reads the hub when it is made
    offline = config_from_dict({})
    assert offline.search.meta_agent == "auto"
    assert isinstance(make_meta_agent(offline, hub), OfflineMutator)  # reflector "offline"
    assert isinstance(make_meta_agent(offline, hub, reflector_object=True), LLMMetaAgent)
    remote = config_from_dict({"models": {"reflector": "openai:gpt-4o-mini"}})
    assert isinstance(make_meta_agent(remote, hub), LLMMetaAgent)
    forced = config_from_dict({"models": {"reflector": "openai:gpt-4o-mini"},
                               "search": {"meta_agent": "offline"}})
    assert isinstance(make_meta_agent(forced, hub), OfflineMutator)
    assert isinstance(make_meta_agent(config_from_dict({"search": {"meta_agent": "llm"}}), hub),
                      LLMMetaAgent)


def test_installed_meta_agent_is_accepted_by_name_and_runs_a_campaign(monkeypatch, tmp_path):
    import evolve
    from evolve.meta.factory import make_meta_agent

    _installed_meta_agents(monkeypatch, raise_top_k=f"{__name__}:RaiseTopK")
    try:
        assert META_AGENTS.names() == ("auto", "offline", "llm", "raise_top_k")
        config = config_from_dict({
            "campaign": {"name": "plugin", "seed": 0},
            "task": {"name": "dialog-synth", "args": {"size": "tiny"}},
            "search": {"seeds": ["vector_search"], "iterations": 1,
                       "meta_agent": "raise_top_k"},
            "data": {"val_size": 4, "test_size": 4}})
        assert isinstance(make_meta_agent(config, object()), RaiseTopK)
        evolve.run_campaign(config, tmp_path / "run")
        with evolve.open_run(tmp_path / "run") as run:
            assert [p.commit_message for p in run.programs(origin="mutation")] == [
                "TOP_K 5 -> 6"]
    finally:
        META_AGENTS.refresh()


def test_installed_meta_agent_that_breaks_the_protocol_is_refused(monkeypatch):
    from evolve.meta.factory import make_meta_agent

    _installed_meta_agents(monkeypatch, broken=f"{__name__}:NotAMetaAgent",
                           missing="no_such_module_here:Agent")
    try:
        with pytest.raises(TypeError, match="propose"):
            make_meta_agent(config_from_dict({"search": {"meta_agent": "broken"}}), object())
        with pytest.raises(UsageError, match="meta-agent 'missing' .*cannot be loaded"):
            make_meta_agent(config_from_dict({"search": {"meta_agent": "missing"}}), object())
    finally:
        META_AGENTS.refresh()


def test_unknown_meta_agent_names_every_choice():
    from evolve.meta.factory import llm_meta_agent  # noqa: F401 - the references resolve

    for name in META_AGENTS.builtin_names:
        assert callable(META_AGENTS.get(name))
    with pytest.raises(UsageError, match="unknown meta-agent 'gpt'; choose one of auto, "
                                         "offline, llm"):
        META_AGENTS.get("gpt")
