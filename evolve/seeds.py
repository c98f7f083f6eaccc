"""Discovery of the seed and baseline memory programs shipped with the package.

The seeds live in the repository's ``seeds/`` directory, installed as the package
``evolve_seeds`` (see pyproject). ``SEEDS_DIR`` is found through ``importlib.resources`` so it
works for an editable install (the checkout's ``seeds/``) and a regular wheel install
(``site-packages/evolve_seeds``) alike.

A seed file may import helpers shared by the seeds (``from ._shared import ...``); the
program a seed *is* -- what ``seed_source`` returns and every consumer (``evolve eval``,
campaign seeding, the meta-agent, the sandbox) sees -- is the file with those definitions
inlined (``evolve.seed_build``), one self-contained module.

Seeds are untrusted-by-construction memory programs: this module never imports or executes
them. Summaries, papers and declared LLM budgets are read from the source with ``ast``:
- summary: the first line of the module docstring;
- paper: the docstring line ``Paper: <name>, <venue/year or arXiv id>`` (text after the
  colon); without one, the first "(Author et al. 2025" style citation in the docstring, else "";
- llm_calls: the literal ``TOOLKIT_LLM_CALLS = {"write": N, "read": M}``.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .errors import UsageError
from .program.parsing import parse_source
from .seed_build import SHARED_MODULE, build_seed_file

_PACKAGE = "evolve_seeds"


def _find_seeds_dir() -> Path:
    try:
        root = resources.files(_PACKAGE)
        path = Path(str(root))
        if path.is_dir():
            return path
    except (ModuleNotFoundError, TypeError):
        pass
    # running from a checkout without the package installed
    return Path(__file__).resolve().parent.parent / "seeds"


SEEDS_DIR: Path = _find_seeds_dir()


_PAPER = re.compile(r"^\s*Paper:\s*(.+?)\s*$", re.MULTILINE)
_CITATION = re.compile(r"\(([A-Z][\w'-]+(?: [A-Z][\w'-]+)? et al\.,? (?:19|20)\d\d)")
_YEAR = re.compile(r"\b((?:19|20)\d\d)\b")


@dataclass(frozen=True)
class SeedInfo:
    """One seed program: its name (file stem), path, one-line summary, declared LLM calls and
    the paper it implements ("" for baselines)."""

    name: str
    path: Path
    summary: str
    llm_calls: dict[str, int] = field(default_factory=dict)
    paper: str = ""

    @property
    def paper_short(self) -> str:
        """'A-MEM, 2025' for 'A-MEM (Xu et al., ...), arXiv:2502.12110 (NeurIPS 2025)'."""
        if not self.paper:
            return ""
        name = re.split(r"\s*[(,]", self.paper, maxsplit=1)[0].strip() or self.paper
        years = _YEAR.findall(self.paper)
        if name == self.paper and years:  # a bare citation such as "Chhikara et al. 2025"
            return self.paper
        return f"{name}, {years[-1]}" if years else name


def _paper(doc: str) -> str:
    """The docstring's ``Paper:`` line, else its first author-year citation, else ''."""
    match = _PAPER.search(doc)
    if match:
        return match.group(1)
    citation = _CITATION.search(doc)
    return citation.group(1).replace(",", "") if citation else ""


def _parse(source: str) -> tuple[str, dict[str, int], str]:
    """(first docstring line, TOOLKIT_LLM_CALLS, paper) read without executing the module."""
    try:
        tree = parse_source(source)
    except SyntaxError:
        return "", {}, ""
    doc = ast.get_docstring(tree) or ""
    summary = doc.strip().splitlines()[0].strip() if doc.strip() else ""
    calls: dict[str, int] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "TOOLKIT_LLM_CALLS" for t in node.targets):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                break
            if isinstance(value, dict):
                calls = {str(k): int(v) for k, v in value.items()
                         if isinstance(v, int) and not isinstance(v, bool)}
    return summary, calls, _paper(doc)


_CACHE: dict[tuple[Path, int, int], SeedInfo] = {}  # (path, mtime, size) -> parsed info


def _info(path: Path) -> SeedInfo:
    """The parsed info of one seed file, re-parsed only when the file changed."""
    stat = path.stat()
    key = (path, stat.st_mtime_ns, stat.st_size)
    if key not in _CACHE:
        summary, calls, paper = _parse(path.read_text(encoding="utf-8"))
        _CACHE[key] = SeedInfo(path.stem, path, summary, calls, paper)
    return _CACHE[key]


def _scan(seeds_dir: Path) -> tuple[SeedInfo, ...]:
    return tuple(_info(path) for path in sorted(seeds_dir.glob("*.py"))
                 if not path.name.startswith("_"))


def list_seeds() -> list[SeedInfo]:
    """Every seed program, sorted by name."""
    return list(_scan(SEEDS_DIR))


def seed_path(name: str) -> Path:
    """Path of the seed called ``name`` (file stem, ``.py`` optional); UsageError if unknown."""
    stem = name[:-3] if name.endswith(".py") else name
    path = SEEDS_DIR / f"{stem}.py"
    if stem and not stem.startswith("_") and "/" not in stem and path.is_file():
        return path
    valid = ", ".join(info.name for info in list_seeds())
    raise UsageError(f"unknown seed {name!r}; valid seeds: {valid}")


def seed_source(name: str) -> str:
    """The program of the seed called ``name``: its file with the shared helpers it imports
    inlined (SeedBuildError, a UsageError, when they cannot be)."""
    return build_seed_file(seed_path(name))


def program_file_source(path: Path) -> str:
    """Text of the program file at ``path``, built like ``seed_source`` when it imports the
    shared seed helpers (a seed's file, or a copy of one: then the ``_shared.py`` beside it,
    else the shipped one); any other file as it is. OSError/UnicodeDecodeError as reading."""
    return build_seed_file(path, SEEDS_DIR / f"{SHARED_MODULE}.py")


def resolve_program(spec: str) -> tuple[str, str]:
    """Read a program given as a path, or as a seed name when no such file exists."""
    path = Path(spec)
    if path.is_file():
        try:
            return program_file_source(path), str(path)  # a seed file (or copy): helpers inlined
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read program {spec}: {exc}") from None
    if path.exists():
        raise UsageError(f"program {spec} is not a file")
    name = path.stem if path.suffix == ".py" else spec
    if path.parent.name in ("", "seeds") and name in {s.name for s in list_seeds()}:
        return seed_source(name), str(seed_path(name))
    raise UsageError(f"program file not found: {spec}")
