"""The project's text stands alone: no pointer into a design brief that is not in this repository.

Code, docs and benches once cited numbered sections of a design brief kept outside the project; a
reader of this repository cannot follow such a pointer, so none may come back.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("DESIGN" + " section", "DESIGN" + ".md")  # split so this file does not match


def test_no_file_points_at_an_outside_design_document() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    hits = []
    for name in tracked:
        path = ROOT / name
        if path.suffix not in {".py", ".j2", ".md", ".toml", ".txt", ".html", ".css", ""} \
                or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        hits += [f"{name}: {word}" for word in FORBIDDEN if word in text]
    assert not hits, hits
