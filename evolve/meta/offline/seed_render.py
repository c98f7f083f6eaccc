"""Re-render the template-based seed programs: ``python -m evolve.meta.offline.seed_render``.

The three M* seeds (``seeds/vector_search.py``, ``seeds/llm_summarizer.py``,
``seeds/experience_learner.py``) are renderings of ``design.SEED_DESIGNS``. After a change to
the templates or the wording, run this module to rewrite them. The other seeds share their
helpers through ``seeds/_shared.py``, inlined when a seed is loaded (``evolve.seed_build``).
``--check`` only reports (exit 1), for CI and tests: committed renderings that differ from
their rendering (``stale``), seeds whose shared helpers cannot be inlined (``broken``) and
seeds that define a copy of a shared helper instead of importing it (``copy``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ...seed_build import SHARED_MODULE, SeedBuildError, build_seed_file, copied_definitions
from ...seeds import SEEDS_DIR
from .design import SEED_DESIGNS, render


def seed_renderings(seeds_dir: Path = SEEDS_DIR) -> dict[Path, str]:
    """Seed file path -> the source it should hold."""
    return {seeds_dir / f"{name}.py": render(design) for name, design in SEED_DESIGNS.items()}


def stale_seeds(seeds_dir: Path = SEEDS_DIR) -> list[Path]:
    """Seed files whose content differs from their rendering."""
    return [path for path, source in seed_renderings(seeds_dir).items()
            if not path.exists() or path.read_text(encoding="utf-8") != source]


def shared_problems(seeds_dir: Path = SEEDS_DIR) -> list[str]:
    """'broken: PATH: why' and 'copy: PATH: NAMES' lines for the seeds of ``seeds_dir``."""
    shared_path = seeds_dir / f"{SHARED_MODULE}.py"
    shared = shared_path.read_text(encoding="utf-8") if shared_path.is_file() else ""
    problems = []
    for path in sorted(seeds_dir.glob("*.py")):
        if path.name.startswith("_"):
            continue
        try:
            build_seed_file(path)
        except SeedBuildError as exc:
            problems.append(f"broken: {path}: {exc}")
        if path.stem not in SEED_DESIGNS:  # renderings keep their template's own helpers
            copies = copied_definitions(path.read_text(encoding="utf-8"), shared)
            if copies:
                problems.append(f"copy: {path}: {', '.join(copies)} (import from "
                                f".{SHARED_MODULE} instead)")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evolve.meta.offline.seed_render",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="only report stale, broken or copying seed files (exit 1 when any)")
    parser.add_argument("--seeds-dir", type=Path, default=SEEDS_DIR,
                        help=f"directory of the seed files (default: {SEEDS_DIR})")
    args = parser.parse_args(argv)
    stale = stale_seeds(args.seeds_dir)
    if args.check:
        problems = [f"stale: {path}" for path in stale] + shared_problems(args.seeds_dir)
        for line in problems:
            print(line)
        return 1 if problems else 0
    for path, source in seed_renderings(args.seeds_dir).items():
        if path in stale:
            path.write_text(source, encoding="utf-8")
            print(f"rendered {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
