"""Template contexts of the report pages, built from ``RunData`` (no HTML here but highlighting).

``overview_context`` feeds ``index.html.j2``; ``program_context`` feeds ``program.html.j2``.
Values are plain dicts/lists; HTML fragments (highlighted source, diffs) are ``Markup``.
"""

from __future__ import annotations

import json
from typing import Any

from markupsafe import Markup

from ..program.contract import READ_CHAR_CAP
from ..stats import gain_text
from .data import ProgramInfo, RunData
from .highlight import diff_html, diff_stats, highlight_python, line_numbers

MAX_EVENTS_ON_INDEX = 300
RETRIEVED_CHARS = READ_CHAR_CAP  # a read() is capped at this many chars in campaigns by default


def page_names(data: RunData) -> dict[str, str]:
    """File name (inside ``programs/``) per program id: a 12-char prefix, unique in the run."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for program in data.programs:
        name = program.id[:12]
        if name in taken:
            name = program.id
        taken.add(name)
        names[program.id] = f"{name}.html"
    return names


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _spend_rows(status: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rows = [{"role": role, **spend} for role, spend in sorted(status.get("spend", {}).items())]
    total = {"calls": sum(r["calls"] for r in rows), "tokens": sum(r["tokens"] for r in rows),
             "usd": round(sum(r["usd"] for r in rows), 6),
             "cached": sum(r["cached"] for r in rows), "errors": sum(r["errors"] for r in rows)}
    return rows, total


def _sandbox_modes(data: RunData) -> list[str]:
    modes = {e.get("sandbox_mode") for evals in data.evaluations.values() for e in evals}
    return sorted(m for m in modes if m)


def _test_items(data: RunData) -> int | None:
    best = data.best
    if best is None:
        return None
    for evaluation in data.evaluations.get(best.id, []):
        if evaluation["split"] == "test":
            return evaluation.get("n_items")
    return None


def _gain_text(gain: dict[str, float] | None) -> str:
    """A paired gain with its 95% interval over the validation items ("-" without one)."""
    if not gain:
        return "-"
    return f"{gain_text(gain['mean'], gain['low'], gain['high'])} on {gain['n']} items"


def program_row(program: ProgramInfo, data: RunData, pages: dict[str, str]) -> dict[str, Any]:
    """One row of the index table (also the sort keys the inline script uses)."""
    cost = data.cost_of(program)
    return {
        "id": program.id, "short": program.short, "href": f"programs/{pages[program.id]}",
        "title": program.title, "iteration": program.iteration, "origin": program.origin,
        "mutator": program.mutator or "", "status": program.status,
        "val": program.val_score, "val_text": _fmt(program.val_score),
        "test": program.test_score, "test_text": _fmt(program.test_score),
        "cost": cost, "cost_text": _fmt(cost, 1),
        "parents": [{"short": p[:8], "href": f"programs/{pages[p]}" if p in pages else None}
                    for p in program.parents],
        "children": len(program.children),
        "is_best": data.best is not None and program.id == data.best.id,
    }


def overview_context(data: RunData, pages: dict[str, str], plots: dict[str, str],
                     generated_at: str) -> dict[str, Any]:
    """Everything ``index.html.j2`` shows."""
    status, campaign, config = data.status, data.campaign, data.config
    spend_rows, spend_total = _spend_rows(status)
    best = data.best
    seeds = [{"name": p.name or p.short, "href": f"programs/{pages[p.id]}",
              "val": _fmt(p.val_score), "status": p.status} for p in data.seeds]
    front = (status.get("pareto_front") or {}).get("programs") or []
    front_rows = [{"short": f["id"][:8], "href": f"programs/{pages[f['id']]}"
                   if f["id"] in pages else None, "score": _fmt(f.get("score")),
                   "cost": _fmt(f.get("cost"), 1)} for f in front]
    kinds: dict[str, int] = {}
    for event in data.events:
        kinds[event["kind"]] = kinds.get(event["kind"], 0) + 1
    events = [{**e, "href": f"programs/{pages[e['program_id']]}"
               if e.get("program_id") in pages else None,
               "short": (e.get("program_id") or "")[:8]}
              for e in data.events[-MAX_EVENTS_ON_INDEX:]]
    gap = status.get("val_test_gap")
    return {
        "title": f"evolve report: {campaign.get('name') or 'campaign'}",
        "generated_at": generated_at,
        "campaign": campaign, "config": config,
        "task_args": ", ".join(f"{k}={v}" for k, v in (campaign.get("task_args") or {}).items()),
        "models": config.get("models", {}), "search": config.get("search", {}),
        "data_cfg": config.get("data", {}), "budget": config.get("budget", {}),
        "finished": bool(status.get("finished")),
        "iterations_done": status.get("iterations_done"),
        "iterations_target": status.get("iterations_target"),
        "stop_reason": status.get("stop_reason") or "-",
        "best": None if best is None else {
            "short": best.short, "id": best.id, "href": f"programs/{pages[best.id]}",
            "title": best.title, "val": _fmt(status.get("best_val")),
            "test": _fmt(status.get("best_test")),
            "gap": "-" if gap is None else f"{gap:+.3f}",
            "test_items": _test_items(data)},
        "best_seed_val": _fmt(status.get("best_seed_val")),
        "gain": _gain_text(status.get("best_gain_vs_seed")),
        "seeds": seeds, "spend_rows": spend_rows, "spend_total": spend_total,
        "program_counts": status.get("programs", {}),
        "sandbox_modes": ", ".join(_sandbox_modes(data)) or "-",
        "plots": plots, "front": front_rows,
        "cost_unit": "LLM calls/query" if data.cost_objective == "llm_calls" else "tokens/query",
        "rows": [program_row(p, data, pages) for p in data.programs],
        "event_kinds": sorted(kinds.items()), "events": events,
        "events_cut": max(0, len(data.events) - MAX_EVENTS_ON_INDEX),
    }


def _evaluation_rows(data: RunData, program: ProgramInfo) -> list[dict[str, Any]]:
    rows = []
    for e in data.evaluations.get(program.id, []):
        rows.append({"split": e["split"], "subset": e["subset"], "status": e["status"],
                     "score": _fmt(e["score"]), "n_items": e["n_items"],
                     "tokens_per_query": _fmt(e["tokens_per_query"], 1),
                     "calls_per_query": _fmt(e["calls_per_query"], 2),
                     "cost_usd": _fmt(e["cost_usd"], 4), "sandbox": e["sandbox_mode"] or "-",
                     "seconds": _fmt(e["duration_s"], 1), "error": e["error"]})
    return rows


def _category_rows(data: RunData, program: ProgramInfo,
                   parent: ProgramInfo | None) -> list[dict[str, Any]]:
    rows = []
    for key in data.categories():
        val = program.per_category.get(key)
        base = parent.per_category.get(key) if parent else None
        rows.append({"label": data.category_label(key), "val": _fmt(val),
                     "test": _fmt(program.test_per_category.get(key)),
                     "parent": _fmt(base),
                     "delta": "-" if val is None or base is None else f"{val - base:+.3f}"})
    return rows


def _attempts(data: RunData, program: ProgramInfo, pages: dict[str, str]) -> list[dict]:
    """Other programs proposed in the same step (same iteration and parents): fix/repair
    rounds of one child show up here."""
    if program.origin == "seed":
        return []
    return [{"short": p.short, "href": pages[p.id], "origin": p.origin, "status": p.status,
             "gate": f"{p.gate_stage}: {p.gate_message}" if p.gate_stage else "",
             "val": _fmt(p.val_score)}
            for p in data.programs
            if p.id != program.id and p.iteration == program.iteration
            and p.parents == program.parents]


def _failed(data: RunData, program: ProgramInfo) -> list[dict[str, Any]]:
    items = []
    for item in data.failed_items.get(program.id, []):
        query = item.get("query")
        retrieved = item.get("retrieved") or ""
        items.append({
            "item_id": item["item_id"], "category": data.category_label(str(item["category"])),
            "question": item["question"], "gold": item["gold"], "answer": item["answer"],
            "score": _fmt(item["score"], 2), "error": item.get("error"),
            "rationale": item.get("rationale"),
            "query": json.dumps(query, ensure_ascii=False, default=str)
            if query is not None else "-",
            "retrieved": retrieved[:RETRIEVED_CHARS],
            "retrieved_cut": max(0, len(retrieved) - RETRIEVED_CHARS)})
    return items


def program_context(data: RunData, program: ProgramInfo, pages: dict[str, str],
                    generated_at: str) -> dict[str, Any]:
    """Everything ``program.html.j2`` shows for one program."""
    by_id = data.by_id
    parent = by_id.get(program.parents[0]) if program.parents else None
    source = data.sources.get(program.id, "")
    diff, stats = Markup(""), None
    if parent is not None:
        parent_source = data.sources.get(parent.id, "")
        diff = Markup(diff_html(parent_source, source, parent.short, program.short))
        stats = diff_stats(parent_source, source)
    events = [e for e in data.events if e.get("program_id") == program.id]
    return {
        "title": f"program {program.short}",
        "generated_at": generated_at,
        "campaign_name": data.campaign.get("name") or "campaign",
        "p": program, "is_best": data.best is not None and program.id == data.best.id,
        "val": _fmt(program.val_score), "test": _fmt(program.test_score),
        "cost": _fmt(data.cost_of(program), 1),
        "parents": [{"short": q[:8], "href": pages.get(q), "title":
                     by_id[q].title if q in by_id else "(not in this run)",
                     "val": _fmt(by_id[q].val_score) if q in by_id else "-"}
                    for q in program.parents],
        "children": [{"short": c[:8], "href": pages[c], "val": _fmt(by_id[c].val_score),
                      "title": by_id[c].title} for c in program.children],
        "evaluations": _evaluation_rows(data, program),
        "categories": _category_rows(data, program, parent),
        "events": events, "attempts": _attempts(data, program, pages),
        "diff": diff, "diff_stats": stats, "parent_short": parent.short if parent else None,
        "source_html": Markup(highlight_python(source)),
        "source_lines": line_numbers(source),
        "failed": _failed(data, program),
    }
