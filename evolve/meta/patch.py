"""Apply a meta-agent's patch tolerantly (``apply_patch``); the reply it came in is parsed by
``evolve.meta.reply``.

``apply_patch`` applies hunks in order, each against the text the previous ones produced, and
returns the new text only if every hunk applied (all-or-nothing). A hunk is located by, in
order: a unique run of lines equal after stripping trailing spaces; after normalising
whitespace runs; after removing all whitespace (blank lines are ignored in all three); then a
unique exact substring (a fragment of a line). The replacement is re-indented by the offset
between the hunk's first line and the program line it matched. A hunk matching nowhere or at
several places raises ``PatchError`` naming the hunk and quoting its first lines.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass


class PatchError(ValueError):
    """A patch could not be applied; ``hunk`` is the 1-based number of the failing hunk."""

    def __init__(self, message: str, hunk: int | None = None) -> None:
        super().__init__(message)
        self.hunk = hunk


@dataclass(frozen=True)
class Hunk:
    """One edit: replace the lines ``search`` by ``replace``.

    ``kind`` is ``"search_replace"`` (an empty ``search`` appends ``replace`` to the program)
    or ``"diff"`` (from a unified-diff hunk; an empty ``search`` cannot be placed).
    """

    search: str
    replace: str
    kind: str = "search_replace"


# -- patch application ---------------------------------------------------------------------------

def _norm_rstrip(line: str) -> str:
    return line.rstrip()


def _norm_runs(line: str) -> str:
    return " ".join(line.split())


def _norm_none(line: str) -> str:
    return "".join(line.split())


_TIERS: tuple[Callable[[str], str], ...] = (_norm_rstrip, _norm_runs, _norm_none)


def _indent_width(line: str) -> int:
    stripped = line.lstrip()
    return len(line[: len(line) - len(stripped)].expandtabs(4))


def _reindent(lines: list[str], delta: int) -> list[str]:
    if delta == 0:
        return lines
    out = []
    for line in lines:
        if not line.strip():
            out.append("")
            continue
        width = max(0, _indent_width(line) + delta)
        out.append(" " * width + line.lstrip())
    return out


def _trim_blank_edges(search: list[str], replace: list[str]) -> list[str]:
    """Drop from ``replace`` as many blank edge lines as ``search`` had (they were not matched)."""
    lead = next((i for i, line in enumerate(search) if line.strip()), len(search))
    tail = next((i for i, line in enumerate(reversed(search)) if line.strip()), 0)
    out = list(replace)
    for _ in range(lead):
        if out and not out[0].strip():
            out.pop(0)
    for _ in range(tail):
        if out and not out[-1].strip():
            out.pop()
    return out


def _preview(text: str, lines: int = 3) -> str:
    shown = [line for line in text.split("\n") if line.strip()][:lines]
    return " | ".join(line.strip()[:80] for line in shown) or "(empty)"


def _line_matches(lines: list[str], search: list[str], norm: Callable[[str], str]) -> list[int]:
    """Start positions (indices into ``lines``) of runs matching the non-blank ``search``
    lines; also returns nothing when ``search`` is blank."""
    wanted = [norm(line) for line in search if line.strip()]
    if not wanted:
        return []
    index = [i for i, line in enumerate(lines) if line.strip()]
    normed = [norm(lines[i]) for i in index]
    width = len(wanted)
    return [j for j in range(len(normed) - width + 1) if normed[j:j + width] == wanted]


def _nearest_hint(lines: list[str], search: list[str]) -> str:
    """Where the longest matching prefix of ``search`` is, and the first line that differs."""
    wanted = [_norm_none(line) for line in search if line.strip()]
    index = [i for i, line in enumerate(lines) if line.strip()]
    normed = [_norm_none(lines[i]) for i in index]
    best, at = 0, -1
    for j in range(len(normed)):
        k = 0
        while k < len(wanted) and j + k < len(normed) and normed[j + k] == wanted[k]:
            k += 1
        if k > best:
            best, at = k, j
    if best == 0:
        return "its first line occurs nowhere in the program"
    shown = [line for line in search if line.strip()]
    found = lines[index[at + best]].strip() if at + best < len(index) else "(end of program)"
    return (f"its first {best} line(s) match at program line {index[at] + 1}, then line "
            f"{best + 1} of the hunk differs: expected {shown[best].strip()[:80]!r}, "
            f"found {found[:80]!r}")


def _apply_one(text: str, hunk: Hunk, number: int, total: int) -> str:
    label = f"hunk {number} of {total}"
    search_lines = hunk.search.split("\n")
    if not hunk.search.strip():
        if hunk.kind == "diff":
            raise PatchError(f"{label} has no context or removed lines, so it cannot be placed "
                             f"(first lines: {_preview(hunk.replace)})", number)
        return text.rstrip("\n") + "\n\n" + hunk.replace.strip("\n") + "\n"
    lines = text.split("\n")
    replacement = _trim_blank_edges(search_lines, hunk.replace.split("\n"))
    for norm in _TIERS:
        starts = _line_matches(lines, search_lines, norm)
        if len(starts) > 1:
            index = [i for i, line in enumerate(lines) if line.strip()]
            where = ", ".join(str(index[s] + 1) for s in starts[:6])
            raise PatchError(f"{label} matches {len(starts)} places (program lines {where}); "
                             f"include more surrounding lines to make it unique "
                             f"(first lines: {_preview(hunk.search)})", number)
        if len(starts) == 1:
            index = [i for i, line in enumerate(lines) if line.strip()]
            width = sum(1 for line in search_lines if line.strip())
            first, last = index[starts[0]], index[starts[0] + width - 1]
            model_first = next(line for line in search_lines if line.strip())
            delta = _indent_width(lines[first]) - _indent_width(model_first)
            lines[first:last + 1] = _reindent(replacement, delta)
            return "\n".join(lines)
    # Last resort: a fragment of a line (e.g. one assignment without its comment).
    exact = hunk.search.strip("\n")
    count = text.count(exact)
    if count == 1:
        return text.replace(exact, hunk.replace.strip("\n"), 1)
    if count > 1:
        raise PatchError(f"{label} matches {count} places; include more surrounding lines to "
                         f"make it unique (first lines: {_preview(hunk.search)})", number)
    raise PatchError(f"{label} does not match the program: {_nearest_hint(lines, search_lines)} "
                     f"(first lines: {_preview(hunk.search)})", number)


def apply_patch(source: str, blocks: Sequence[Hunk]) -> str:
    """Apply every hunk in order; return the new text or raise ``PatchError`` (nothing is
    half-applied: the caller's ``source`` is only replaced by a fully patched text)."""
    if not blocks:
        raise PatchError("the patch has no hunks")
    text = source
    for number, hunk in enumerate(blocks, 1):
        text = _apply_one(text, hunk, number, len(blocks))
    return text
