"""Session-wide reporting: which sandbox modes the tests ran in."""

from __future__ import annotations

import os


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
