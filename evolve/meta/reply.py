"""Parse a meta-agent reply: diagnosis, commit message, and either hunks or a full program.

Reply format (defined in ``evolve/templates/meta_reflect.j2``)::

    DIAGNOSIS:
    <free text>

    COMMIT MESSAGE: <one line>

    <<<<<<< SEARCH
    <lines copied from the current program>
    =======
    <lines that replace them>
    >>>>>>> REPLACE
    (more blocks)

or, instead of the blocks, one fenced ```python block holding the complete new program.

``parse_reply`` also understands unified-diff hunks (``@@ ... @@`` then `` ``/``-``/``+`` lines,
line numbers ignored), blocks wrapped in code fences, prose around everything, and a missing
commit message (then ``commit_message`` is ``""``, or the program's ``COMMIT_MESSAGE`` constant).

The hunks are applied by ``evolve.meta.patch.apply_patch``.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from ..program.parsing import parse_source
from .patch import Hunk

_SEARCH = re.compile(r"^\s*<{5,9}\s*SEARCH\b.*$", re.IGNORECASE)
_DIVIDER = re.compile(r"^\s*={5,9}\s*$")
_REPLACE = re.compile(r"^\s*>{5,9}\s*(REPLACE|UPDATED)\b.*$", re.IGNORECASE)
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*([\w+.-]*)\s*$")
_HUNK_HEADER = re.compile(r"^\s*@@.*$")
_COMMIT = re.compile(r"^[\s#>*_]*commit[ _-]?message[\s*_]*[:\uff1a]\s*(.*)$", re.IGNORECASE)
_COMMIT_HEADING = re.compile(r"^[\s#>*_]*commit[ _-]?message[\s*_:]*$", re.IGNORECASE)
_SECTION = re.compile(r"^[\s#>*_]*(diagnosis|patch|program|full program|changes|plan)[\s*_]*:?"
                      r"[\s*_]*$", re.IGNORECASE)
_DIAGNOSIS = re.compile(r"^[\s#>*_]*diagnosis[\s*_]*(?:[:\uff1a][\s*_]*(.*)|)$", re.IGNORECASE)
_PROGRAM_START = re.compile(r"^(\"\"\"|'''|import |from |#|@|class |def |[A-Z_][A-Z0-9_]*\s*[:=])")
MAX_COMMIT_CHARS = 500



@dataclass(frozen=True)
class ParsedReply:
    """What a reply contained: a commit message and either hunks or a full program.

    ``blocks`` is ``None`` when the reply had no patch; ``full_source`` is ``None`` when it had
    no program. A reply may hold both; the caller decides which to prefer.
    """

    commit_message: str
    blocks: tuple[Hunk, ...] | None
    full_source: str | None
    diagnosis: str = ""

    @property
    def empty(self) -> bool:
        return self.blocks is None and self.full_source is None


def _strip_fence_lines(lines: list[str]) -> list[str]:
    """Drop a fence line at the start and at the end of a block section (models add them)."""
    if lines and _FENCE.match(lines[0]):
        lines = lines[1:]
    if lines and _FENCE.match(lines[-1]):
        lines = lines[:-1]
    return lines


def parse_search_replace(text: str) -> list[Hunk]:
    """SEARCH/REPLACE blocks of ``text``; a block missing its closing marker ends at the next
    SEARCH marker or at the end of the text."""
    hunks: list[Hunk] = []
    state, search, replace = "", list[str](), list[str]()

    def emit() -> None:
        hunks.append(Hunk("\n".join(_strip_fence_lines(search)),
                          "\n".join(_strip_fence_lines(replace))))

    for line in text.split("\n"):
        if _SEARCH.match(line):
            if state == "replace":
                emit()
            state, search, replace = "search", [], []
        elif state == "search" and _DIVIDER.match(line):
            state = "replace"
        elif state == "replace" and _REPLACE.match(line):
            emit()
            state = ""
        elif state == "search":
            search.append(line)
        elif state == "replace":
            replace.append(line)
    if state == "replace":
        while replace and (not replace[-1].strip() or _FENCE.match(replace[-1])):
            replace.pop()  # an unterminated last block: drop the closing fence / blank tail
        emit()
    return hunks


def _diff_hunk(body: list[tuple[str, str]]) -> Hunk | None:
    """``body`` is (tag, text) with tag in ' ', '-', '+', '?' (unprefixed line)."""
    while body and (body[-1][0] == "?" or (body[-1][0] == " " and not body[-1][1].strip())):
        body.pop()  # trailing prose or blank context carries no information
    if not any(tag in "-+" for tag, _ in body):
        return None
    search = [text for tag, text in body if tag in " -?"]
    replace = [text for tag, text in body if tag in " +?"]
    return Hunk("\n".join(search), "\n".join(replace), kind="diff")


def parse_unified_diff(text: str) -> list[Hunk]:
    """Unified-diff hunks of ``text`` (``@@`` headers; their line numbers are not used).

    Without any ``@@`` header, the content of ```diff fences is read as one hunk each.
    """
    lines = text.split("\n")
    if any(_HUNK_HEADER.match(line) for line in lines):
        return _hunks_after_headers(lines)
    hunks = []
    for lang, body in _fenced_blocks(text):
        if lang in ("diff", "patch", "udiff"):
            tagged = [_tag(line) for line in body.split("\n")
                      if not line.startswith(("--- ", "+++ ", "diff "))]
            hunk = _diff_hunk(tagged)
            if hunk:
                hunks.append(hunk)
    return hunks


def _tag(line: str) -> tuple[str, str]:
    if line.startswith((" ", "-", "+")):
        return line[0], line[1:]
    if not line.strip():
        return " ", ""
    return "?", line  # models often drop the leading space of context lines


def _hunks_after_headers(lines: list[str]) -> list[Hunk]:
    hunks: list[Hunk] = []
    body: list[tuple[str, str]] | None = None
    for index, line in enumerate(lines):
        next_line = lines[index + 1] if index + 1 < len(lines) else ""
        is_file_header = line.startswith("--- ") and next_line.startswith("+++ ")
        ends = (_HUNK_HEADER.match(line) or _FENCE.match(line) or is_file_header
                or line.startswith(("diff --git", "+++ ")) or _SEARCH.match(line))
        if ends:
            if body is not None:
                hunk = _diff_hunk(body)
                if hunk:
                    hunks.append(hunk)
            body = [] if _HUNK_HEADER.match(line) else None
            continue
        if body is not None and not line.startswith("\\"):  # "\ No newline at end of file"
            body.append(_tag(line))
    if body is not None:
        hunk = _diff_hunk(body)
        if hunk:
            hunks.append(hunk)
    return hunks


def _fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language, content) of each fenced block; an unclosed fence runs to the end."""
    blocks: list[tuple[str, str]] = []
    lang: str | None = None
    opener = ""
    body: list[str] = []
    for line in text.split("\n"):
        match = _FENCE.match(line)
        if lang is None:
            if match:
                lang, opener, body = match.group(2).lower(), match.group(1), []
        elif match and not match.group(2) and match.group(1)[0] == opener[0] \
                and len(match.group(1)) >= len(opener):
            blocks.append((lang, "\n".join(body)))
            lang = None
        else:
            body.append(line)
    if lang is not None:
        blocks.append((lang, "\n".join(body)))
    return blocks


def _looks_like_program(code: str) -> bool:
    return "KnowledgeBase" in code and ("def read" in code or "INSTRUCTION_" in code)


def _unfenced_program(text: str) -> str | None:
    """A program written without a fence: from one of its first code-like lines to the end,
    dropping trailing lines (prose after the code) until it parses."""
    lines = text.split("\n")
    starts = [i for i, line in enumerate(lines) if _PROGRAM_START.match(line)
              and not (_COMMIT.match(line) or _DIAGNOSIS.match(line) or _SECTION.match(line))]
    for start in starts[:5]:
        candidate = lines[start:]
        for _ in range(min(30, len(candidate))):
            code = "\n".join(candidate).rstrip()
            try:
                parse_source(code)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                candidate = candidate[:-1]
                continue
            if _looks_like_program(code):
                return code + "\n"
            break
    return None


def _has_patch_markers(code: str) -> bool:
    return any(_SEARCH.match(line) or _REPLACE.match(line) or _HUNK_HEADER.match(line)
               for line in code.split("\n"))


def extract_program(text: str) -> str | None:
    """The full program in ``text``: the last fenced python block that looks like a memory
    program (else the longest python block), or unfenced code that parses."""
    fenced = [body for lang, body in _fenced_blocks(text)
              if lang in ("", "python", "py", "python3") and not _has_patch_markers(body)]
    programs = [body for body in fenced if _looks_like_program(body)]
    if programs:
        return programs[-1].strip("\n") + "\n"
    if fenced:
        return None  # snippets, not a program
    return _unfenced_program(text)


def _masked_lines(text: str) -> list[str]:
    """Lines of ``text`` outside fences and SEARCH/REPLACE blocks (where prose lives)."""
    out, in_fence, in_block = [], False, False
    for line in text.split("\n"):
        if _SEARCH.match(line):
            in_block = True
        elif in_block and _REPLACE.match(line):
            in_block = False
        elif _FENCE.match(line) and not in_block:
            in_fence = not in_fence
        elif not (in_fence or in_block):
            out.append(line)
            continue
        out.append("")
    return out


def _is_marker(line: str) -> bool:
    return bool(_SEARCH.match(line) or _FENCE.match(line) or _HUNK_HEADER.match(line)
                or _SECTION.match(line) or _COMMIT.match(line) or line.startswith("--- "))


def _paragraph_after(lines: list[str], index: int) -> str:
    """The lines after ``index`` up to a blank line, a marker or code, joined into one line."""
    parts: list[str] = []
    for line in lines[index + 1:]:
        if _is_marker(line) or _PROGRAM_START.match(line) or (not line.strip() and parts):
            break
        if line.strip():
            parts.append(line.strip())
    return " ".join(parts)


def _clean_commit(message: str) -> str:
    message = message.strip().strip("*_`\"' ").strip()
    return message[:MAX_COMMIT_CHARS]


def find_commit_message(text: str) -> str:
    """The ``COMMIT MESSAGE:`` line, or the paragraph under a bare ``COMMIT MESSAGE`` heading
    (joined into one line), or ``""``."""
    for lines in (_masked_lines(text), text.split("\n")):
        for index, line in enumerate(lines):
            match = _COMMIT.match(line)
            if match and match.group(1).strip("*_ "):
                return _clean_commit(match.group(1))  # the format asks for one line
            if match or _COMMIT_HEADING.match(line):
                return _clean_commit(_paragraph_after(lines, index))
    return ""


def _find_diagnosis(text: str) -> str:
    """The ``DIAGNOSIS:`` section up to the next marker (commit message, block, fence)."""
    lines = _masked_lines(text)
    for index, line in enumerate(lines):
        match = _DIAGNOSIS.match(line)
        if match:
            first = (match.group(1) or "").strip()
            parts = [first] if first else []
            for follow in lines[index + 1:]:
                if _is_marker(follow):
                    break
                parts.append(follow.rstrip())
            return "\n".join(parts).strip()
    return ""


def _constant_commit_message(source: str) -> str:
    try:
        tree = parse_source(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "COMMIT_MESSAGE" for t in node.targets) \
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return _clean_commit(node.value.value)
    return ""


def parse_reply(text: str) -> ParsedReply:
    """Split a meta-agent reply into commit message, patch hunks and/or full program.

    Never raises: an unusable reply gives ``ParsedReply(..., blocks=None, full_source=None)``.
    """
    text = (text or "").replace("\r\n", "\n")
    commit = find_commit_message(text)
    diagnosis = _find_diagnosis(text)
    hunks = parse_search_replace(text) or parse_unified_diff(text)
    program = extract_program(text)
    if program is not None and not commit:
        commit = _constant_commit_message(program)
    return ParsedReply(commit, tuple(hunks) if hunks else None, program, diagnosis)
