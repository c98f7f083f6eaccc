"""Static gates: parse, contract shape and import allow-list, without executing the program.

The static gate is a convenience that gives the meta-agent early, precise feedback. It is not
the security boundary: allow-listed modules expose ``sys`` and ``builtins`` through attributes,
so the OS layers of the sandbox (``evolve.jail``) are what contain a hostile program.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass

from evolve_sandbox.importguard import ALLOWED_IMPORTS

from .contract import (
    ALLOWED_FIELD_TYPES,
    DATACLASSES,
    KB_CLASS,
    KB_METHODS,
    OPTIONAL_KB_METHODS,
    REQUIRED_CONSTANTS,
)
from .parsing import parse_source, syntax_error_text

# Builtins whose only uses in a memory program are escapes from the contract.
FORBIDDEN_CALLS = frozenset({
    "__import__", "eval", "exec", "compile", "open", "input", "breakpoint", "globals",
})
# Attribute names that lead from ordinary objects to interpreter internals.
FORBIDDEN_ATTRIBUTES = frozenset({
    "__subclasses__", "__globals__", "__builtins__", "__code__", "__closure__", "__loader__",
    "__spec__", "__import__", "__bases__", "__mro__", "__base__", "f_globals", "f_locals",
    "f_back", "gi_frame", "cr_frame", "tb_frame", "__getattribute__", "__reduce__",
    "__reduce_ex__", "func_globals",
})


@dataclass(frozen=True)
class GateFailure:
    """Why a program was rejected: the gate stage and a message the meta-agent can act on."""

    stage: str  # "parse" | "contract" | "imports" | "load" | "smoke"
    message: str

    def __str__(self) -> str:
        return f"{self.stage}: {self.message}"


def _module_allowed(name: str) -> bool:
    root = name.split(".")[0]
    return name in ALLOWED_IMPORTS or root in ALLOWED_IMPORTS


def check_imports(tree: ast.Module) -> GateFailure | None:
    """Every import must be allow-listed; dangerous builtins and dunders are refused."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if not _module_allowed(alias.name):
                    return GateFailure("imports", f"line {node.lineno}: import of '{alias.name}' "
                                       f"is not allowed (allowed: {', '.join(sorted(ALLOWED_IMPORTS))})")
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level or not _module_allowed(module):
                return GateFailure("imports", f"line {node.lineno}: import from '{module or '.'}' "
                                   "is not allowed")
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_CALLS | {"__builtins__"}:
            return GateFailure("imports", f"line {node.lineno}: use of '{node.id}' is not allowed")
        elif isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_ATTRIBUTES:
            return GateFailure("imports", f"line {node.lineno}: attribute '{node.attr}' is not allowed")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and node.value in FORBIDDEN_ATTRIBUTES:
            # getattr(obj, "__globals__") and friends
            return GateFailure("imports", f"line {node.lineno}: string '{node.value}' is not allowed")
    return None


def _top_level_assigned_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Name):
                names.add(target.id)
    return names


def _is_dataclass(node: ast.ClassDef) -> bool:
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Name) and target.id == "dataclass":
            return True
        if isinstance(target, ast.Attribute) and target.attr == "dataclass":
            return True
    return False


def _check_dataclass(node: ast.ClassDef) -> GateFailure | None:
    from .contract import normalise_type

    if not _is_dataclass(node):
        return GateFailure("contract", f"class {node.name} must be decorated with @dataclass")
    for statement in node.body:
        if not isinstance(statement, ast.AnnAssign) or not isinstance(statement.target, ast.Name):
            continue
        annotation = ast.unparse(statement.annotation).strip("'\"")
        if annotation.startswith("ClassVar"):
            continue
        if normalise_type(annotation) not in {normalise_type(t) for t in ALLOWED_FIELD_TYPES}:
            return GateFailure(
                "contract",
                f"line {statement.lineno}: field {node.name}.{statement.target.id} has type "
                f"'{annotation}'; allowed: str, int, float, bool, list[str], Optional[...] of those",
            )
    return None


def _check_methods(node: ast.ClassDef) -> GateFailure | None:
    methods = {
        item.name: item for item in node.body
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    for name, params in {**KB_METHODS, **OPTIONAL_KB_METHODS}.items():
        method = methods.get(name)
        if method is None:
            if name in KB_METHODS:
                return GateFailure("contract", f"{KB_CLASS}.{name} is missing")
            continue
        if isinstance(method, ast.AsyncFunctionDef):
            return GateFailure("contract", f"{KB_CLASS}.{name} must not be async")
        args = method.args
        positional = [a.arg for a in args.posonlyargs + args.args]
        required = len(positional) - len(args.defaults)
        if len(positional) < 1 + len(params) and args.vararg is None:
            return GateFailure(
                "contract",
                f"{KB_CLASS}.{name} must accept (self, {', '.join(params)}); "
                f"it accepts ({', '.join(positional)})",
            )
        if required > 1 + len(params):
            return GateFailure("contract", f"{KB_CLASS}.{name} requires more parameters "
                               f"than (self, {', '.join(params)})")
    return None


def check_contract(tree: ast.Module) -> GateFailure | None:
    """The 4 constants, the 2 dataclasses with allowed field types and the KnowledgeBase API."""
    assigned = _top_level_assigned_names(tree)
    missing = [name for name in REQUIRED_CONSTANTS if name not in assigned]
    if missing:
        return GateFailure("contract", f"missing top-level constant(s): {', '.join(missing)}")
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    for name in (*DATACLASSES, KB_CLASS):
        if name not in classes:
            return GateFailure("contract", f"missing top-level class {name}")
    for name in DATACLASSES:
        failure = _check_dataclass(classes[name])
        if failure:
            return failure
    return _check_methods(classes[KB_CLASS])


# A campaign gates each program several times (the child developer, then every evaluation of
# it: reflection and static, in threads of one process), and a parse holds the GIL for
# milliseconds; the verdict is a pure function of the text, so it is kept (frozen result).
@functools.lru_cache(maxsize=256)
def static_gate(source: str, filename: str = "<program>") -> GateFailure | None:
    """Run the parse, contract and import gates; ``None`` means the program may be loaded."""
    try:
        tree = parse_source(source, filename=filename)
    except (SyntaxError, ValueError) as exc:  # ValueError: NUL bytes on some versions
        return GateFailure("parse", syntax_error_text(exc, source))
    return check_contract(tree) or check_imports(tree)
