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
from evolve.registry import EXECUTORS, SELECTORS
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
                                          ("executor", EXECUTORS)])
def test_docs_list_every_registered_name(key, registry):
    listed = set(re.findall(r"`([a-z]+)`", _docs_row(key)))
    assert set(registry.builtin_names) <= listed, (registry.builtin_names, listed)


def test_config_validation_reads_the_registries():
    with pytest.raises(UsageError, match="expected one of softmax, argmax, novelty, pareto"):
        config_from_dict({"search": {"selector": "best"}})
    with pytest.raises(UsageError, match="expected one of threads, processes, dask, ray"):
        config_from_dict({"parallel": {"executor": "slurm"}})


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
                                         "softmax, argmax, novelty, pareto"):
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
