"""Fixtures every test folder may use, and session-wide reporting of the sandbox modes.

Tests live in folders that mirror evolve's packages (tests/lineage for evolve/lineage, ...);
``tests/`` is on sys.path through this file, so ``fakes`` (fake servers and programs) and
``suite_support`` (runs several folders read) import by name from any folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def quickstart_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """RUN_DIR of examples/quickstart.toml, run once per test session (~1 minute)."""
    from suite_support.runs import quickstart_run

    return quickstart_run(tmp_path_factory)


def pytest_terminal_summary(terminalreporter) -> None:
    """One line naming the sandbox modes probed here, when a test used the sandbox, so a log
    shows the mode each sandbox test ran in (parametrized ones carry it in their id)."""
    from evolve.jail import modes

    if modes._probed is None:
        return
    probed = ", ".join(f"{mode}={'yes' if ok else 'no'}"
                       + ("" if ok else f" ({modes.probe_reason(mode)[:80]})")
                       for mode, ok in modes._probed.items())
    auto = next((mode for mode, ok in modes._probed.items() if ok), "none works")
    terminalreporter.write_line(f"sandbox modes as uid {os.geteuid()}: {probed}; auto -> {auto}")
