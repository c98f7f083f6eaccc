"""``ast.parse`` that is safe to call from many threads at once.

CPython 3.11 before 3.11.8 can raise ``SystemError: AST constructor recursion depth mismatch``
when two threads build ASTs at the same time (python/cpython#106905). Evaluations, proposals
and gates run in threads, so every parse of program text in evolve goes through this lock;
a parse takes about a millisecond, so holding the lock costs nothing measurable.
"""

from __future__ import annotations

import ast
import threading

_PARSE_LOCK = threading.Lock()


def parse_source(source: str, filename: str = "<unknown>") -> ast.Module:
    """``ast.parse(source, filename)``, serialised process-wide (raises ``SyntaxError``)."""
    with _PARSE_LOCK:
        return ast.parse(source, filename=filename)
