"""The wheel holds every package: `pip install .` (not only an editable install) must work.

setuptools is given an explicit package list (``sandbox/`` and ``seeds/`` are installed under
private names), so a new subpackage is left out of a regular install unless it is listed. The
editable install the tests run from cannot notice; this test does.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INSTALLED_AS = {"evolve": "evolve", "sandbox": "evolve_sandbox", "seeds": "evolve_seeds"}


def _packages_on_disk() -> set[str]:
    found = set()
    for top, name in INSTALLED_AS.items():
        for init in (ROOT / top).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / top)
            if "__pycache__" in relative.parts:
                continue
            found.add(".".join((name, *relative.parts)))
    return found


def test_every_package_directory_is_in_the_distribution() -> None:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    missing = sorted(_packages_on_disk() - listed)
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {missing}"
    assert setuptools["package-dir"] == {"evolve": "evolve", "evolve_sandbox": "sandbox",
                                         "evolve_seeds": "seeds"}
