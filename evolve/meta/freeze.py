"""Freeze switches for ablations (docs/config.md, ``[search]``), enforced on the child's source with ``ast``.

- ``freeze_instructions``: the child keeps the parent's four instruction constants
  (``INSTRUCTION_KNOWLEDGE_ITEM``, ``INSTRUCTION_QUERY``, ``INSTRUCTION_RESPONSE``,
  ``ALWAYS_ON_KNOWLEDGE``) whatever the meta-agent wrote for them;
- ``freeze_code``: the child is the parent's program with only those constants taken from the
  child.

Both are one operation, ``transplant_constants(donor, target)``: every top-level statement of
``target`` that assigns one of the constants is replaced by the donor's statements for that
constant (all of them, so ``X = ...`` followed by ``X += ...`` travels as a unit). A constant the
target lacks is inserted before its first class or function. When either source does not parse,
the target is returned unchanged: the compile gate will report it and the fix round runs the
freeze again.
"""

from __future__ import annotations

import ast

from evolve.program.contract import REQUIRED_CONSTANTS

from ..program.parsing import parse_source


def _assigned_name(node: ast.stmt) -> str | None:
    """The constant a top-level statement assigns, if it is one of the instruction constants."""
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        targets = [node.target]
    for target in targets:
        if isinstance(target, ast.Name) and target.id in REQUIRED_CONSTANTS:
            return target.id
    return None


def _statement_spans(tree: ast.Module) -> dict[str, list[tuple[int, int]]]:
    """constant -> [(first line, last line)] (0-based, inclusive) of its top-level statements."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for node in tree.body:
        name = _assigned_name(node)
        if name is not None:
            end = node.end_lineno if node.end_lineno is not None else node.lineno
            spans.setdefault(name, []).append((node.lineno - 1, end - 1))
    return spans


def _first_line(node: ast.ClassDef | ast.FunctionDef) -> int:
    """0-based first line of a definition, decorators included."""
    return min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1


def _parse(source: str) -> ast.Module | None:
    try:
        return parse_source(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def transplant_constants(donor: str, target: str) -> str:
    """``target`` with its instruction-constant statements replaced by ``donor``'s."""
    donor_tree, target_tree = _parse(donor), _parse(target)
    if donor_tree is None or target_tree is None:
        return target
    donor_lines = donor.split("\n")
    donor_text = {
        name: [line for first, last in spans for line in donor_lines[first:last + 1]]
        for name, spans in _statement_spans(donor_tree).items()
    }
    lines = target.split("\n")
    edits: list[tuple[int, int, list[str]]] = []  # (first, last, new lines); last < first: insert
    target_spans = _statement_spans(target_tree)
    for name, spans in target_spans.items():
        if name not in donor_text:
            continue  # the donor has none: keep the target's (the gate checks presence)
        first, last = spans[0]
        edits.append((first, last, donor_text[name]))
        edits.extend((a, b, []) for a, b in spans[1:])
    missing = [name for name in REQUIRED_CONSTANTS if name in donor_text and name not in target_spans]
    if missing:
        anchor = next((_first_line(node) for node in target_tree.body
                       if isinstance(node, (ast.ClassDef, ast.FunctionDef))), len(lines))
        inserted = [line for name in missing for line in donor_text[name]] + [""]
        edits.append((anchor, anchor - 1, inserted))
    for first, last, new in sorted(edits, key=lambda e: e[0], reverse=True):
        lines[first:last + 1] = new
    return "\n".join(lines)


def freeze_instructions(parent: str, child: str) -> str:
    """The child with the parent's four instruction constants."""
    return transplant_constants(parent, child)


def freeze_code(parent: str, child: str) -> str:
    """The parent's program with only the child's four instruction constants."""
    return transplant_constants(child, parent)


def apply_freeze(parent: str, child: str, *, instructions: bool, code: bool) -> str:
    """Apply the campaign's freeze switches; with both on the child is the parent."""
    if code:
        child = freeze_code(parent, child)
    if instructions:
        child = freeze_instructions(parent, child)
    return child
