"""Build a seed program: inline the shared helpers it imports from ``seeds/_shared.py``.

The hand-written seeds parse the same episode text and so need the same small helpers (the
session-date header, ``[date]`` prefixes, speaker lines, ...). Every program must stay one
self-contained module: the meta-agent reads it whole and the sandbox runs it with nothing
else importable. So the sharing happens when a seed is loaded, not when it runs: a seed file
imports what it uses with one top-level statement ::

    from ._shared import _HEADER, _session_date, _split_date

and :func:`build_seed` replaces that statement with the definitions themselves, copied from
``seeds/_shared.py`` in that file's order, together with every shared definition they use
and the imported names they need that the seed lacks. The result is what
``evolve.seeds.seed_source`` returns and what every consumer sees (``evolve eval``, campaign
seeding, the meta-agent, the sandbox, the tests); ``seeds/_shared.py`` itself is never
imported by a program.

The build refuses (:class:`SeedBuildError`) rather than guess: an unknown name, an ``as``
alias, a second or nested ``_shared`` import, or a seed that defines a name the inlined code
also defines (the shared helper would silently read the seed's version instead of its own).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .errors import UsageError
from .program.parsing import parse_source

SHARED_MODULE = "_shared"
HEADER = "# Helpers shared by the seed programs (seeds/_shared.py), inlined here:"


class SeedBuildError(UsageError):
    """A seed's ``from ._shared import ...`` cannot be inlined (one line, exit 2 in the CLI)."""


@dataclass(frozen=True)
class SharedDefinition:
    """One top-level statement of ``_shared.py``: the names it binds, the names it reads, its
    text (with the comment lines directly above it) and whether it is an import."""

    binds: frozenset[str]
    reads: frozenset[str]
    text: str
    is_import: bool
    is_block: bool  # a def or class: two blank lines around it
    dump: str  # ``ast.dump`` of the statement: equal for a verbatim copy in a seed


def _bound_names(node: ast.stmt) -> set[str]:
    """Names a top-level statement binds (assignment targets, def/class name, imports)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return set(_import_keys(node))
    names: set[str] = set()
    for child in ast.walk(node):  # targets, also inside module-level if/for/with/try bodies
        if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
            names.add(child.id)
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(child.name)
        elif isinstance(child, (ast.Import, ast.ImportFrom)):
            names |= set(_import_keys(child))
        elif isinstance(child, ast.ExceptHandler) and child.name:
            names.add(child.name)
    return names


def _parsed_import(text: str) -> ast.Import | ast.ImportFrom:
    """The statement of a shared definition whose ``is_import`` is set."""
    node = parse_source(text).body[0]
    assert isinstance(node, (ast.Import, ast.ImportFrom)), text
    return node


def _import_keys(node: ast.Import | ast.ImportFrom) -> dict[str, str]:
    """name -> a comparable one-name spelling of the import that binds it."""
    out = {}
    for alias in node.names:
        single = (ast.Import(names=[alias]) if isinstance(node, ast.Import) else
                  ast.ImportFrom(module=node.module, names=[alias], level=node.level))
        out[(alias.asname or alias.name).split(".")[0]] = ast.unparse(single)
    return out


def _statement_text(lines: list[str], node: ast.stmt) -> str:
    """Source lines of ``node``, decorators and the comment lines directly above included."""
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) - 1
    while start > 0 and lines[start - 1].lstrip().startswith("#"):
        start -= 1
    return "".join(lines[start:node.end_lineno]).rstrip("\n")


@lru_cache(maxsize=4)
def shared_definitions(shared_source: str) -> tuple[SharedDefinition, ...]:
    """The top-level statements of ``_shared.py`` (its docstring left out), in file order."""
    tree = parse_source(shared_source, f"{SHARED_MODULE}.py")
    lines = shared_source.splitlines(keepends=True)
    out = []
    for node in tree.body:
        if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)):
            continue  # the module docstring
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            continue
        reads = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
                 and isinstance(n.ctx, ast.Load)}
        out.append(SharedDefinition(
            binds=frozenset(_bound_names(node)), reads=frozenset(reads),
            text=_statement_text(lines, node),
            is_import=isinstance(node, (ast.Import, ast.ImportFrom)),
            is_block=isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)),
            dump=ast.dump(node)))
    seen: dict[str, int] = {}
    for definition in out:
        for name in definition.binds:
            seen[name] = seen.get(name, 0) + 1
    twice = sorted(name for name, count in seen.items() if count > 1)
    if twice:
        raise SeedBuildError(f"seeds/{SHARED_MODULE}.py binds {', '.join(twice)} more than once")
    return tuple(out)


def _shared_import(tree: ast.Module, label: str) -> ast.ImportFrom | None:
    """The seed's one top-level ``from ._shared import ...`` (None when it has none)."""
    found = [node for node in ast.walk(tree) if _mentions_shared(node)]
    if not found:
        return None
    top = [node for node in found if node in tree.body and isinstance(node, ast.ImportFrom)
           and node.level == 1 and node.module == SHARED_MODULE]
    if len(found) > 1 or len(top) != 1:
        raise SeedBuildError(f"seed {label}: import the shared helpers with one top-level "
                             f"`from .{SHARED_MODULE} import ...` statement")
    aliased = [alias.name for alias in top[0].names if alias.asname or alias.name == "*"]
    if aliased:
        raise SeedBuildError(f"seed {label}: `from .{SHARED_MODULE} import` takes plain names "
                             f"(no `as` alias, no `*`): {', '.join(aliased)}")
    return top[0]


def _mentions_shared(node: ast.AST) -> bool:
    if isinstance(node, ast.ImportFrom):
        module = node.module or ""
        return (module.split(".")[-1] == SHARED_MODULE
                or any(alias.name == SHARED_MODULE for alias in node.names))
    if isinstance(node, ast.Import):
        return any(alias.name.split(".")[-1] == SHARED_MODULE for alias in node.names)
    return False


def _closure(definitions: tuple[SharedDefinition, ...], wanted: set[str]) -> set[int]:
    """Indices of the definitions binding ``wanted`` and of every shared one they read."""
    by_name = {name: i for i, d in enumerate(definitions) for name in d.binds}
    chosen: set[int] = set()
    todo = [by_name[name] for name in wanted]
    while todo:
        index = todo.pop()
        if index in chosen:
            continue
        chosen.add(index)
        todo.extend(by_name[name] for name in definitions[index].reads
                    if name in by_name and by_name[name] not in chosen)
    return chosen


def _seed_imports(tree: ast.Module, skip: ast.stmt) -> dict[str, str]:
    """name -> import spelling, for the seed's own top-level imports."""
    out: dict[str, str] = {}
    for node in tree.body:
        if node is not skip and isinstance(node, (ast.Import, ast.ImportFrom)):
            out.update(_import_keys(node))
    return out


def _only(definition: SharedDefinition, names: list[str]) -> SharedDefinition:
    """The shared import statement cut down to the ``names`` the seed lacks (a seed that has
    ``dataclass`` but not ``field`` gets ``from dataclasses import field``, not both again)."""
    node = _parsed_import(definition.text)
    keep = [alias for alias in node.names if (alias.asname or alias.name).split(".")[0] in names]
    if len(keep) == len(node.names):
        return definition
    cut = (ast.Import(names=keep) if isinstance(node, ast.Import) else
           ast.ImportFrom(module=node.module, names=keep, level=node.level))
    return SharedDefinition(binds=frozenset(names), reads=frozenset(), text=ast.unparse(cut),
                            is_import=True, is_block=False, dump=ast.dump(cut))


def _render(blocks: list[SharedDefinition]) -> str:
    """The inlined text: the header comment, then the statements with PEP 8 spacing."""
    out = HEADER
    previous: SharedDefinition | None = None
    for definition in blocks:
        if previous is None:
            newlines = 1
        elif definition.is_block or previous.is_block:
            newlines = 3  # two blank lines around a def or class
        elif previous.is_import != definition.is_import:
            newlines = 2
        else:
            newlines = 1
        out += "\n" * newlines + definition.text
        previous = definition
    return out


def build_seed(source: str, shared_source: str, label: str = "<seed>") -> str:
    """``source`` with its ``from ._shared import ...`` replaced by the shared definitions.

    A seed without that import is returned unchanged. Raises :class:`SeedBuildError` for an
    unknown name, an alias, a misplaced import or a name clash (see the module docstring).
    """
    try:
        tree = parse_source(source, label)
    except SyntaxError:
        return source  # not ours to fix: the gate reports it like for any other program
    node = _shared_import(tree, label)
    if node is None:
        return source
    definitions = shared_definitions(shared_source)
    import_keys = [_import_keys(_parsed_import(d.text)) if d.is_import else {}
                   for d in definitions]
    available = {name for d in definitions if not d.is_import for name in d.binds}
    wanted = {alias.name for alias in node.names}
    unknown = sorted(wanted - available)
    if unknown:
        raise SeedBuildError(f"seed {label}: seeds/{SHARED_MODULE}.py defines no "
                             f"{', '.join(unknown)}")
    chosen = _closure(definitions, wanted)
    own = set().union(*(_bound_names(n) for n in tree.body if n is not node))
    seed_imports = _seed_imports(tree, node)
    blocks: list[SharedDefinition] = []
    read = {name for i in chosen for name in definitions[i].reads}
    for index in sorted(chosen):
        definition = definitions[index]
        if definition.is_import:
            keys = import_keys[index]
            names = sorted(set(keys) & read)
            missing = [n for n in names if n not in seed_imports]
            differ = [n for n in names if n in seed_imports and seed_imports[n] != keys[n]]
            if differ:
                raise SeedBuildError(
                    f"seed {label}: imports {', '.join(differ)} otherwise than "
                    f"seeds/{SHARED_MODULE}.py ({'; '.join(keys[n] for n in differ)})")
            if missing:
                blocks.append(_only(definition, missing))
            continue
        clash = sorted(definition.binds & own)
        if clash:
            raise SeedBuildError(
                f"seed {label}: defines {', '.join(clash)}, which the inlined shared helpers "
                f"define too; import it from .{SHARED_MODULE} or rename the seed's own")
        blocks.append(definition)
    lines = source.splitlines(keepends=True)
    before = "".join(lines[:node.lineno - 1])
    after = "".join(lines[node.end_lineno:]).lstrip("\n")
    gap = "\n\n\n" if blocks[-1].is_block else "\n\n"
    return f"{before}{_render(blocks)}{gap}{after}" if after else f"{before}{_render(blocks)}\n"


def build_seed_file(path: Path, default_shared: Path | None = None) -> str:
    """The built program of the file at ``path``: its ``from ._shared import`` resolved like
    Python would, against the ``_shared.py`` beside it, else against ``default_shared`` (the
    shipped one, for a seed file copied elsewhere). A file without that import is returned as
    it is; OSError/UnicodeDecodeError as reading."""
    source = path.read_text(encoding="utf-8")
    if not _has_import(source):
        return source
    shared = path.parent / f"{SHARED_MODULE}.py"
    if not shared.is_file() and default_shared is not None:
        shared = default_shared
    text = shared.read_text(encoding="utf-8") if shared.is_file() else ""
    return build_seed(source, text, path.stem)


def _has_import(source: str) -> bool:
    """Whether ``source`` mentions ``_shared`` in any import (a syntax error: no)."""
    try:
        return any(_mentions_shared(n) for n in ast.walk(parse_source(source)))
    except SyntaxError:
        return False


def copied_definitions(source: str, shared_source: str) -> list[str]:
    """Names ``source`` defines with the very statement ``_shared.py`` has for them: copies
    that should be imported instead (what the sync check reports)."""
    try:
        tree = parse_source(source)
    except SyntaxError:
        return []
    shared = {d.dump: d for d in shared_definitions(shared_source) if not d.is_import}
    return sorted(name for node in tree.body if ast.dump(node) in shared
                  for name in shared[ast.dump(node)].binds)
