"""Where ``evolve export`` may write: never over the run, the current directory or foreign files.

``--force`` used to mean "rmtree whatever --out names", so ``--out RUN --force`` deleted the
campaign being exported and ``--out .`` or ``..`` would have deleted more. Now an output
directory is accepted when it is absent or empty, and replaced (with ``--force``) only when it
carries the marker file every export writes. Everything else is refused with a
``UsageError`` naming the directory, before anything is touched.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..errors import UsageError

MARKER = ".evolve-export"
MARKER_TEXT = ("This directory was written by `evolve export`.\n"
               "`evolve export ... --force` may delete and rewrite it; nothing else will.\n")


def _is_same_or_ancestor(candidate: Path, path: Path) -> bool:
    """Whether ``candidate`` is ``path`` itself or one of its parents (both resolved)."""
    return candidate == path or candidate in path.parents


def prepare_out_dir(out_dir: Path, *, run_dir: Path, force: bool) -> Path:
    """Check ``out_dir`` against the rules above, empty it if it is a previous export and
    ``force`` is set, create it and write the marker; returns the resolved directory."""
    out = out_dir.expanduser().resolve()
    run = run_dir.expanduser().resolve()
    if _is_same_or_ancestor(out, run):
        raise UsageError(f"--out {out_dir} is or contains the run directory {run_dir}; "
                         "choose a new directory outside it")
    if _is_same_or_ancestor(out, Path.cwd().resolve()):
        raise UsageError(f"--out {out_dir} is or contains the current directory; "
                         "choose a new directory")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out_dir} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        if not (out / MARKER).is_file():
            raise UsageError(f"--out {out_dir} is not empty and was not written by "
                             "`evolve export`; choose a new or empty directory")
        if not force:
            raise UsageError(f"--out {out_dir} holds a previous export "
                             "(use --force to replace it)")
        shutil.rmtree(out)
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
    except OSError as exc:  # e.g. a full disk: leave nothing behind
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise UsageError(f"cannot create {out_dir}: {exc.strerror or exc}") from None
    return out
