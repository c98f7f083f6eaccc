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


def syntax_error_text(exc: SyntaxError | ValueError, source: str | bytes | None = None) -> str:
    """``"line N: <what is wrong>"`` for a failed parse of ``source``.

    CPython gives no line for a NUL byte (``lineno`` is None, and some versions raise
    ``ValueError``), which read as "line None"; the NUL is located in ``source`` instead.
    """
    line = 0  # of the first NUL byte, 0 when there is none
    if isinstance(source, str) and (position := source.find("\0")) >= 0:
        line = source.count("\n", 0, position) + 1
    elif isinstance(source, bytes) and (position := source.find(b"\0")) >= 0:
        line = source.count(b"\n", 0, position) + 1
    if line:
        return f"line {line}: the source contains a NUL byte (\\0); remove it"
    lineno = getattr(exc, "lineno", None)
    message = getattr(exc, "msg", None) or str(exc)
    return f"line {lineno}: {message}" if lineno is not None else message
