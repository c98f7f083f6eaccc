"""One list of names per extension point: config validation, factories and docs agree."""

from __future__ import annotations

import re
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pytest

from evolve.campaign.config_load import config_from_dict
from evolve.campaign.executors import EXECUTOR_REGISTRY
from evolve.campaign.selectors import SELECTOR_REGISTRY, PoolEntry, make_selector
from evolve.errors import UsageError

DOCS = Path(__file__).resolve().parents[1] / "docs" / "config.md"


class FirstSelector:
    """Always the first pool entry (an installed selector for the test)."""

    def select(self, pool, rng):
        return pool[0]


def _docs_row(key: str) -> str:
    row = next(line for line in DOCS.read_text().splitlines() if line.startswith(f"| `{key}`"))
    return row


@pytest.mark.parametrize("key,registry", [("selector", SELECTOR_REGISTRY),
                                          ("executor", EXECUTOR_REGISTRY)])
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
    SELECTOR_REGISTRY.refresh()
    try:
        assert SELECTOR_REGISTRY.names()[-1] == "first"
        config = config_from_dict({"search": {"selector": "first"}})
        selector = make_selector(config.search.selector)
        pool = [PoolEntry("b", 0.1), PoolEntry("a", 0.9)]
        assert selector.select(pool, np.random.default_rng(0)).program_id == "b"
    finally:
        SELECTOR_REGISTRY.refresh()


def test_unknown_selector_names_every_choice():
    with pytest.raises(UsageError, match="unknown parent selector 'best'; choose one of "
                                         "softmax, argmax, novelty, pareto"):
        make_selector("best")
