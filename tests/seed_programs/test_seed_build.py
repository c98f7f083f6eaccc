"""Seeds share helpers at build time: ``seeds/_shared.py`` is inlined when a seed is loaded.

Covers ``evolve.seed_build`` on small made-up seeds (what is inlined, in which order, what is
refused), every shipped seed (it builds into one self-contained module that defines every
global it reads, and no seed keeps a verbatim copy of a shared helper: the CI check that the
copies stay in sync), and the consumers that read seed files by path.
"""

from __future__ import annotations

import ast
import builtins
import subprocess
import symtable
import sys

import pytest

from evolve.config.load import load_config, resolve_seeds
from evolve.errors import UsageError
from evolve.meta.offline.seed_render import main as seed_render_main
from evolve.seed_build import HEADER, SeedBuildError, build_seed, copied_definitions
from evolve.seeds import SEEDS_DIR, list_seeds, program_file_source, resolve_program, seed_source

SHARED = '''"""Made-up shared helpers."""

import re
from datetime import date

_A = re.compile("a")
_B = re.compile("b")


def _uses_a(text: str) -> bool:
    return bool(_A.search(text))


def _day(day: date) -> str:
    return str(day)
'''


def _seed(imports: str, body: str = "X = 1\n") -> str:
    return f'"""A seed."""\n\nimport re\n\n{imports}\n\n{body}'


# -- the build on made-up seeds ----------------------------------------------------------------
def test_inlines_what_is_imported_and_what_that_reads_in_shared_order():
    built = build_seed(_seed("from ._shared import _uses_a", "Y = _uses_a('abc')\n"), SHARED)
    assert "_shared" not in built.replace(HEADER, "")
    assert built.index("_A = ") < built.index("def _uses_a") < built.index("Y = _uses_a")
    assert "_B" not in built and "_day" not in built  # only what the seed needs
    assert built.count("import re") == 1  # the seed's own import serves the shared code
    namespace: dict = {}
    exec(compile(built, "<seed>", "exec"), namespace)  # noqa: S102 - a made-up seed
    assert namespace["Y"] is True


def test_adds_an_import_the_seed_lacks():
    built = build_seed('"""A seed."""\n\nfrom ._shared import _day\n\nX = 1\n', SHARED)
    assert "from datetime import date" in built and "import re\n" not in built
    namespace: dict = {}
    exec(compile(built, "<seed>", "exec"), namespace)  # noqa: S102 - a made-up seed
    assert namespace["_day"](namespace["date"](2023, 5, 8)) == "2023-05-08"


def test_adds_only_the_names_of_a_shared_import_the_seed_lacks():
    shared = '"""Shared."""\n\nfrom dataclasses import dataclass, field\n\n\n' \
        'def _listed(text: str):\n    return field(default_factory=list, metadata={"d": text})\n'
    seed = ('"""A seed."""\n\nfrom dataclasses import dataclass\n\nfrom ._shared import _listed\n'
            '\n\n@dataclass\nclass Item:\n    facts: list[str] = _listed("facts")\n')
    built = build_seed(seed, shared)
    assert "from dataclasses import field\n" in built  # not `dataclass, field` a second time
    assert built.count("import dataclass") == 1
    namespace: dict = {}
    exec(compile(built, "<seed>", "exec"), namespace)  # noqa: S102 - a made-up seed
    assert namespace["Item"]().facts == []


def test_a_seed_without_the_import_is_unchanged():
    source = _seed("from collections import Counter")
    assert build_seed(source, SHARED) == source


@pytest.mark.parametrize("imports, body, message", [
    ("from ._shared import _nope", "X = 1\n", "defines no _nope"),
    ("from ._shared import _A as A", "X = A\n", "no `as` alias"),
    ("from ._shared import *", "X = 1\n", "no `as` alias, no `*`"),
    ("from ._shared import _A\nfrom ._shared import _B", "X = 1\n", "one top-level"),
    ("from . import _shared", "X = 1\n", "one top-level"),
    ("from ._shared import _A", "def f():\n    from ._shared import _B\n", "one top-level"),
    # the shared _uses_a would read the seed's _A instead of its own
    ("from ._shared import _uses_a", "_A = re.compile('x')\n", "defines _A"),
    ("from ._shared import _day", "import datetime as date\n", "otherwise than"),
])
def test_refuses_what_it_cannot_inline_faithfully(imports, body, message):
    with pytest.raises(SeedBuildError, match=message):
        build_seed(_seed(imports, body), SHARED, "made_up")


def test_shared_file_binding_a_name_twice_is_refused():
    with pytest.raises(SeedBuildError, match="binds _A more than once"):
        build_seed(_seed("from ._shared import _A"), SHARED + '\n_A = re.compile("again")\n')


def test_a_verbatim_copy_of_a_shared_helper_is_reported():
    copy = _seed("", '_B = re.compile("b")\n\n\ndef _uses_a(text: str) -> bool:\n'
                     "    return bool(_A.search(text))\n")
    assert copied_definitions(copy, SHARED) == ["_B", "_uses_a"]
    assert copied_definitions(_seed("", '_B = re.compile("B")\n'), SHARED) == []


# -- the shipped seeds -------------------------------------------------------------------------
SEEDS = [info.name for info in list_seeds()]


def _unbound_globals(source: str) -> set[str]:
    """Globals read anywhere in ``source`` that neither the module nor builtins define."""
    top = symtable.symtable(source, "<seed>", "exec")
    bound = {s.get_name() for s in top.get_symbols()
             if s.is_assigned() or s.is_imported() or s.is_namespace()}
    read: set[str] = set()

    def walk(table: symtable.SymbolTable) -> None:
        for sym in table.get_symbols():
            if (table is top and sym.is_referenced()) or (table is not top and sym.is_global()):
                read.add(sym.get_name())
        for child in table.get_children():
            walk(child)

    walk(top)
    return read - bound - set(dir(builtins))


@pytest.mark.parametrize("name", SEEDS)
def test_every_seed_is_one_self_contained_module(name):
    source = seed_source(name)
    tree = ast.parse(source)
    modules = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
               for alias in node.names}
    modules |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any("_shared" in m or "seeds" in m for m in modules), modules
    assert all(node.level == 0 for node in ast.walk(tree) if isinstance(node, ast.ImportFrom))
    assert _unbound_globals(source) == set(), name


def test_seeds_share_the_date_helpers_instead_of_copying_them():
    importing = [name for name in SEEDS
                 if "from ._shared import" in (SEEDS_DIR / f"{name}.py").read_text("utf-8")]
    assert len(importing) >= 20
    for name in importing:
        assert "def _session_date" not in (SEEDS_DIR / f"{name}.py").read_text(encoding="utf-8")
    assert sum("def _session_date(" in seed_source(n) for n in SEEDS) >= 17


def test_every_shared_helper_is_used_by_some_seed():
    tree = ast.parse((SEEDS_DIR / "_shared.py").read_text(encoding="utf-8"))
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    defined |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets
                if isinstance(t, ast.Name)}
    built = "\n".join(seed_source(n) for n in SEEDS)
    assert {name for name in defined if f"{name} = " not in built
            and f"def {name}(" not in built} == set()


def test_the_sync_check_passes_on_the_tree_and_fails_on_a_copy_or_a_broken_seed(tmp_path, capsys):
    assert seed_render_main(["--check"]) == 0
    assert seed_render_main(["--seeds-dir", str(tmp_path)]) == 0  # the M* renderings
    (tmp_path / "_shared.py").write_text(SHARED, encoding="utf-8")
    assert seed_render_main(["--check", "--seeds-dir", str(tmp_path)]) == 0
    (tmp_path / "copying.py").write_text(_seed("", '_B = re.compile("b")\n'), encoding="utf-8")
    (tmp_path / "broken.py").write_text(_seed("from ._shared import _nope"), encoding="utf-8")
    capsys.readouterr()
    assert seed_render_main(["--check", "--seeds-dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "broken: " in out and "defines no _nope" in out
    assert "copy: " in out and "copying.py: _B" in out


# -- consumers that read a seed by path get the built program ----------------------------------
def test_a_seed_read_by_path_is_built_and_other_files_are_read_as_is(tmp_path):
    path = SEEDS_DIR / "mem0_facts.py"
    assert "from ._shared import" in path.read_text(encoding="utf-8")
    assert program_file_source(path) == seed_source("mem0_facts")
    assert resolve_program(str(path)) == (seed_source("mem0_facts"), str(path))
    assert resolve_program("mem0_facts")[0] == seed_source("mem0_facts")
    copy = tmp_path / "mem0_facts.py"  # a seed file copied elsewhere: the shipped helpers
    copy.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    assert program_file_source(copy) == seed_source("mem0_facts")
    plain = tmp_path / "plain.py"
    plain.write_text("from collections import Counter\n", encoding="utf-8")
    assert program_file_source(plain) == "from collections import Counter\n"
    own = tmp_path / "own"  # programs of one's own beside their own _shared.py
    own.mkdir()
    (own / "_shared.py").write_text(SHARED, encoding="utf-8")
    (own / "mine.py").write_text(_seed("from ._shared import _B", "X = _B\n"), encoding="utf-8")
    assert '_B = re.compile("b")' in program_file_source(own / "mine.py")
    assert '_B = re.compile("b")' in resolve_program(str(own / "mine.py"))[0]


def test_a_seed_that_cannot_be_built_is_one_line_in_a_campaign_config(tmp_path):
    (tmp_path / "broken.py").write_text(_seed("from ._shared import _nope"), encoding="utf-8")
    (tmp_path / "config.toml").write_text('[search]\nseeds = ["broken.py"]\n', "utf-8")
    with pytest.raises(UsageError, match=r"config.toml: search.seeds: seed broken: .*_nope$"):
        load_config(tmp_path / "config.toml")


def test_campaign_seeds_by_name_and_by_path_are_built(tmp_path):
    (tmp_path / "config.toml").write_text(
        f'[search]\nseeds = ["mem0_facts", "{SEEDS_DIR / "bm25.py"}"]\n', encoding="utf-8")
    config = load_config(tmp_path / "config.toml")
    assert resolve_seeds(config, tmp_path) == [("mem0_facts", seed_source("mem0_facts")),
                                               ("bm25", seed_source("bm25"))]


def test_cli_prints_a_seeds_program():
    done = subprocess.run([sys.executable, "-m", "evolve.cli", "seeds", "bm25"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and done.stdout == seed_source("bm25")
    done = subprocess.run([sys.executable, "-m", "evolve.cli", "seeds", "nope"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2 and "unknown seed 'nope'" in done.stderr
    assert done.stderr.count("\n") == 1


# -- the helpers that take a seed's knob as an argument ----------------------------------------
@pytest.mark.parametrize("outcome, expected", [
    ({"success": True, "score": 0.0}, True), ({"success": False}, False),
    ({"score": 0.5}, True), ({"score": "0.2"}, False), ({"reward": 1}, True), ({}, False),
    ({"score": "high"}, None), ({"score": None}, None), ([("success", True)], None),
    ({"success": 1, "score": 0.1}, False),  # only a real bool counts as the verdict
])
def test_succeeded_reads_an_observed_outcome(outcome, expected):
    from evolve_seeds._shared import _succeeded

    assert _succeeded(outcome, 0.5) is expected


def test_fallback_and_match_expression_take_the_seeds_knobs():
    from evolve_seeds._shared import _STOP, _fallback, _match_expression

    body = ["Ana: I moved to Oslo.", "Ben: Where?", "Ana: we love it", "Ben: my dog is ill"]
    assert _fallback(body, 2) == ["Ana: I moved to Oslo.", "Ana: we love it"]
    assert _fallback(["Ben: the weather was nice today", "Ben: ok?"], 8) == [
        "Ben: the weather was nice today"]
    assert _match_expression("Where does Ana's dog live, in Oslo?", _STOP) == \
        '"ana" OR "dog" OR "live" OR "oslo"'  # stop words and 1-letter terms dropped
    assert _match_expression("Where does Ana's dog live?", _STOP, 1) == \
        '"ana" OR "s" OR "dog" OR "live"'
    assert _match_expression("a an the", frozenset()) == '"an" OR "the"'


def test_episode_helpers_read_lines_dates_and_hit_windows():
    from evolve_seeds._shared import (
        _dated_lines,
        _episode_lines,
        _extracted,
        _split_header,
        _windows,
    )

    raw = "[1:56 pm on 8 May, 2023]\n  Ana:  I moved   to Oslo. \n\n Ben: nice\n"
    assert _episode_lines(raw) == ["[1:56 pm on 8 May, 2023]", "Ana:  I moved   to Oslo.",
                                   "Ben: nice"]
    assert _dated_lines(raw, squeeze=True) == (
        ["[1:56 pm on 8 May, 2023]", "Ana: I moved to Oslo.", "Ben: nice"], "8 May 2023")
    assert _dated_lines(None) == ([], "")
    assert _split_header(["[8 May, 2023]", "a"]) == ("[8 May, 2023]", ["a"])
    assert _split_header(["a", "b"]) == ("", ["a", "b"])
    assert _extracted(["  Ana  moved ", "filler", "None", "", 3]) == ["Ana moved", "3"]
    assert _windows([(2, 5), ("0", "1"), (2, 6)], 1) == ([2, 0], {2: {4, 5, 6, 7}, 0: {0, 1, 2}})
    # the fallback never keeps a session header, whether or not the caller dropped it
    assert _fallback_of(["[1:56 pm on 8 May, 2023]", "Ben: the weather was nice"]) == [
        "Ben: the weather was nice"]


def _fallback_of(lines: list[str]) -> list[str]:
    from evolve_seeds._shared import _fallback

    return _fallback(lines, 8)
