"""Render a ``ReflectionContext`` into the text sections of the meta-agent's prompt.

Every long text (a trace message, the retrieved memory, an episode) is cut in its middle, so the
reader sees how it starts and how it ends ("head and tail"), with a marker saying how much was
cut. Lineage lines carry score deltas and a ``REGRESSION`` mark. The functions are pure: the same
context gives the same text (needed for cache hits and deterministic campaigns).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .base import LineageEntry, ProgramSnapshot, ReflectionContext

CUT_MARKER = "[... {n} characters cut ...]"


def truncate_middle(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` characters, else its head and tail around a marker.

    The head gets 60% of the room (beginnings carry headers and dates), the tail the rest.
    """
    text = str(text)
    if limit <= 0 or len(text) <= limit:
        return text
    room = max(limit - len(CUT_MARKER) - 8, 20)
    head = room * 3 // 5
    tail = room - head
    cut = len(text) - head - tail
    return f"{text[:head]}\n{CUT_MARKER.format(n=cut)}\n{text[len(text) - tail:]}"


def fmt_score(score: float | None) -> str:
    return "n/a" if score is None else f"{score:.3f}"


def fmt_delta(delta: float | None) -> str:
    return "" if delta is None else f"{delta:+.3f}"


def category_label(category: Any, names: Mapping[str, str]) -> str:
    """``"2 (temporal)"`` when the category has a name, else the category itself."""
    key = str(category)
    name = names.get(key)
    return f"{key} ({name})" if name and name != key else key


def render_scores(program: ProgramSnapshot, names: Mapping[str, str]) -> str:
    """The program's validation score and one line per category."""
    lines = [f"Validation score: {fmt_score(program.score)}"]
    for category in sorted(program.per_category, key=str):
        label = category_label(category, names)
        lines.append(f"  category {label}: {fmt_score(program.per_category[category])}")
    return "\n".join(lines)


def render_lineage_entry(entry: LineageEntry) -> str:
    """One log line: relation, id, score, delta, REGRESSION mark, commit message."""
    parts = [f"{entry.relation:<8}", entry.program_id[:12]]
    if entry.pending:
        parts.append("score pending (proposed and still being evaluated: do not repeat it)")
    elif entry.score is None:
        parts.append("score n/a (rejected by a gate or not evaluated)")
    else:
        parts.append(f"score {fmt_score(entry.score)}")
        if entry.delta is not None:
            parts.append(f"delta {fmt_delta(entry.delta)}")
    if entry.regression or (entry.delta is not None and entry.delta < 0):
        parts.append("REGRESSION")
    if entry.duplicate:
        parts.append(f"DUPLICATE: this proposal was identical to program "
                     f"{entry.program_id[:12]}, already in the pool; it added nothing")
    message = " ".join(entry.commit_message.split()) or "(no commit message)"
    parts.append(f'"{truncate_middle(message, 240)}"')
    if entry.relation == "parent":
        parts.append("<- the program you are improving")
    return "  ".join(parts)


def render_lineage(entries: Sequence[LineageEntry], keep: int | None = None) -> str:
    """The lineage log (ancestors oldest first, the parent, then children already tried);
    with ``keep``, at most that many entries around the parent (``trim_lineage``)."""
    if not entries:
        return "(no history yet: this program has no evaluated ancestors or children)"
    lines: list[str] = []
    for entry in trim_lineage(entries, keep):
        lines.append(entry if isinstance(entry, str) else render_lineage_entry(entry))
    return "\n".join(lines)


def trim_lineage(entries: Sequence[LineageEntry],
                 keep: int | None) -> list[LineageEntry | str]:
    """The lineage cut to about ``keep`` entries: the parent, the ancestors nearest to it and
    the most recent children (those say most about what to try next), with a line saying
    how many were left out on each side."""
    if keep is None or len(entries) <= keep:
        return list(entries)
    parent_at = next((i for i, e in enumerate(entries) if e.relation == "parent"), None)
    if parent_at is None:  # no parent line: keep the newest entries
        return [f"[... {len(entries) - keep} older entries cut ...]", *entries[-keep:]]
    ancestors, children = entries[:parent_at], entries[parent_at + 1:]
    room = max(keep - 1, 0)
    kept_children = min(len(children), room - min(len(ancestors), room // 3))
    kept_ancestors = min(len(ancestors), room - kept_children)
    out: list[LineageEntry | str] = []
    if len(ancestors) > kept_ancestors:
        out.append(f"[... {len(ancestors) - kept_ancestors} older ancestors cut ...]")
    out.extend(ancestors[len(ancestors) - kept_ancestors:])
    out.append(entries[parent_at])
    if len(children) > kept_children:
        out.append(f"[... {len(children) - kept_children} earlier children cut ...]")
    out.extend(children[len(children) - kept_children:])
    return out


def _as_json(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        return str(value)


def _block(label: str, text: Any, limit: int) -> str:
    body = truncate_middle(str(text if text is not None else ""), limit)
    if not body.strip():
        body = "(empty)"
    return f"{label}:\n<text>\n{body}\n</text>"


def _query_prompt(trace: Mapping[str, Any]) -> str:
    """The last user message of the query step (how the task agent saw INSTRUCTION_QUERY)."""
    messages = (trace.get("prompts") or {}).get("query") or []
    users = [m.get("content", "") for m in messages if isinstance(m, Mapping)
             and m.get("role") == "user"]
    return users[-1] if users else ""


def render_case(trace: Mapping[str, Any], *, title: str, max_chars: int,
                names: Mapping[str, str], show_prompt: bool = False) -> str:
    """One evaluation item's trace: question, query JSON, retrieved memory, answer, gold,
    score and rationale; each part cut head-and-tail to ``max_chars``."""
    score = trace.get("score")
    header = (f"### {title}: category {category_label(trace.get('category', '?'), names)}, "
              f"score {fmt_score(score if isinstance(score, (int, float)) else None)}")
    query = trace.get("query") or trace.get("query_reply") or {}
    retrieved = str(trace.get("retrieved") or "")
    parts = [
        header,
        f"Question: {truncate_middle(str(trace.get('question', '')), max_chars)}",
    ]
    if show_prompt and _query_prompt(trace):
        parts.append(_block("Query-step prompt the task agent received", _query_prompt(trace),
                            max_chars))
    parts += [
        _block("Query JSON the task agent filled", _as_json(query), max_chars),
        _block(f"Retrieved memory returned by read() ({len(retrieved)} chars)", retrieved,
               max_chars),
        f"Task agent's answer: {truncate_middle(str(trace.get('answer', '')), max_chars)}",
        f"Gold answer: {truncate_middle(str(trace.get('gold', '')), max_chars)}",
    ]
    if trace.get("rationale"):
        parts.append(f"Scorer's note: {truncate_middle(str(trace['rationale']), max_chars)}")
    if trace.get("error"):
        parts.append(f"Error: {truncate_middle(str(trace['error']), max_chars)}")
    return "\n".join(parts)


def render_cases(traces: Sequence[Mapping[str, Any]], *, kind: str, max_chars: int,
                 names: Mapping[str, str], show_first_prompt: bool = False) -> str:
    """All cases of one kind ("Failed case" / "Success case"), or a note when there are none."""
    if not traces:
        return f"(no {kind.lower()}s available)"
    return "\n\n".join(
        render_case(trace, title=f"{kind} {i}", max_chars=max_chars, names=names,
                    show_prompt=show_first_prompt and i == 1)
        for i, trace in enumerate(traces, 1))


def render_write_example(example: Mapping[str, Any] | None, max_chars: int) -> str:
    """An episode's raw text (cut head-and-tail to ``2 * max_chars``) and the KnowledgeItem
    the task agent filled from it (to ``max_chars``)."""
    if not example:
        return "(no write example available)"
    item = example.get("item")
    item_text = "(the task agent's extraction failed: write() got no item)" if item is None \
        else json.dumps(item, ensure_ascii=False, indent=2, default=str)
    return "\n".join([
        _block("Raw episode text passed to write() as raw_text", example.get("raw_text", ""),
               max_chars * 2),
        _block("KnowledgeItem the task agent extracted (passed to write() as item)", item_text,
               max_chars),
    ])


def render_program(source: str, max_chars: int) -> str:
    """The program, cut in the middle only if it exceeds ``max_chars`` (patches can then only
    touch the visible parts)."""
    return truncate_middle(source, max_chars)


@dataclass(frozen=True)
class PromptSections:
    """Text sections for ``meta_reflect.j2`` (and the fix / repair templates)."""

    program: str
    scores: str
    lineage: str
    failed_cases: str
    success_cases: str
    write_example: str
    commit_message: str
    other_program: str = ""
    other_scores: str = ""


def render_sections(context: ReflectionContext, *, max_case_chars: int,
                    max_program_chars: int, show_query_prompt: bool = True,
                    lineage_keep: int | None = None,
                    write_chars: int | None = None) -> PromptSections:
    """All sections of the reflection prompt for ``context``. The keyword arguments after
    ``max_program_chars`` shorten it (``evolve.meta.prompt_fit``): no query-step prompt in the
    first failed case, at most ``lineage_keep`` lineage entries, the write example cut to
    ``write_chars``."""
    names = dict(context.category_names)
    other = context.other
    return PromptSections(
        program=render_program(context.parent.source, max_program_chars),
        scores=render_scores(context.parent, names),
        lineage=render_lineage(context.lineage, lineage_keep),
        failed_cases=render_cases(context.failed_cases, kind="Failed case",
                                  max_chars=max_case_chars, names=names,
                                  show_first_prompt=show_query_prompt),
        success_cases=render_cases(context.success_cases, kind="Success case",
                                   max_chars=max_case_chars, names=names),
        write_example=render_write_example(context.write_example,
                                           write_chars or max_case_chars),
        commit_message=" ".join(context.parent.commit_message.split()),
        other_program=render_program(other.source, max_program_chars) if other else "",
        other_scores=render_scores(other, names) if other else "",
    )
