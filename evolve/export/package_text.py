"""Text of the exported package's own files, rendered from ``evolve/templates/export/*.j2``.

``render_files`` returns ``{relative path: text}`` for pyproject.toml, README.md, the test, and
inside the package ``__init__.py``, ``memory.py``, ``prompts.py`` and the JSON data files
(``metadata.json``, ``prompts.json``, ``golden.json``). The runtime copies and the program
itself are added by the builder.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import jinja2

from ..agent import prompts as agent_prompts
from ..jail import ProgramInfo
from ..program.parsing import parse_source
from .golden import Golden
from .run_info import ProgramExport
from .runtime import OFFLINE_EMBEDDERS

# Placeholders left in the rendered prompts; unusual brackets so no real text contains them.
MARKERS = {"raw_text": "\u27e6RAW_TEXT\u27e7", "question": "\u27e6QUESTION\u27e7",
           "retrieved": "\u27e6RETRIEVED\u27e7"}
PACKAGE_VERSION = "1.0.0"
# Modules of every exported package beside memory/prompts: the persistent store, its tapes,
# the namespaced harness, and the Mem0 / LangGraph / MCP adapters (optional extras).
ADAPTER_MODULES = ("tape", "store", "snapshot", "harness", "ann", "mem0", "langgraph", "mcp")


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("evolve", "templates/export"),
        undefined=jinja2.StrictUndefined, autoescape=False,  # Python, TOML, Markdown
        keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=False,
    )


def _dump(value: Any) -> str:
    return json.dumps(value, indent=1, ensure_ascii=False, default=str) + "\n"


def prompts_data(info: ProgramInfo) -> dict[str, Any]:
    """The campaign's task-agent prompts for this program, with placeholders (prompts.json)."""
    constants = info.constants
    extract = agent_prompts.extraction_messages(constants["INSTRUCTION_KNOWLEDGE_ITEM"],
                                                info.item_fields, MARKERS["raw_text"])
    query = agent_prompts.query_messages(constants["INSTRUCTION_QUERY"], info.query_fields,
                                         MARKERS["question"])
    answer = agent_prompts.answer_messages(
        [], "", always_on=constants["ALWAYS_ON_KNOWLEDGE"], retrieved=MARKERS["retrieved"],
        instruction=constants["INSTRUCTION_RESPONSE"], question=MARKERS["question"])[-1]
    # the schemas let the exported package coerce replies exactly as the campaign's agent did
    return {"markers": MARKERS, "extract": extract, "query": query, "answer": answer,
            "item_fields": info.item_fields, "query_fields": info.query_fields,
            "always_on": constants["ALWAYS_ON_KNOWLEDGE"],
            "instruction_response": constants["INSTRUCTION_RESPONSE"]}


def _dependencies(export: ProgramExport) -> list[str]:
    deps = ["numpy>=1.26"]
    if export.embedder_export in ("hybrid", "wordllama"):
        deps.append("wordllama>=0.4")  # the campaign's embedder: needed for identical reads
    return deps


def _score_rows(export: ProgramExport) -> list[dict[str, str]]:
    val = export.scores.get("validation") or {}
    test = export.scores.get("test") or {}
    names = export.scores.get("category_names") or {}
    keys = sorted(set(val.get("per_category", {})) | set(test.get("per_category", {})),
                  key=lambda k: (not str(k).isdigit(), int(k) if str(k).isdigit() else 0, k))

    def fmt(value: Any) -> str:
        return "-" if value is None else f"{value:.3f}"

    return [{"category": f"{k} {names.get(k, '')}".strip(),
             "val": fmt(val.get("per_category", {}).get(k)),
             "test": fmt(test.get("per_category", {}).get(k))} for k in keys]


def _docstring(source: str) -> str:
    import ast

    try:
        return (ast.get_docstring(parse_source(source)) or "").strip()
    except SyntaxError:
        return ""


def metadata(export: ProgramExport, package: str, exported_at: str) -> dict[str, Any]:
    """``metadata.json`` of the package (the README and the test read it too)."""
    return {
        "package": package, "program_id": export.program_id,
        "campaign": export.campaign_name, "campaign_id": export.campaign_id,
        "task": export.task, "task_args": export.task_args, "protocol": export.protocol,
        "models": export.models, "embedder": export.embedder,
        "embedder_export": export.embedder_export,
        "scores": export.scores, "lineage": export.lineage,
        "exported_at": exported_at, "evolve_version": export.evolve_version,
        "offline_embedders": sorted(set(OFFLINE_EMBEDDERS.values())),
    }


def render_files(export: ProgramExport, package: str, info: ProgramInfo, golden: Golden, *,
                 exported_at: str) -> dict[str, str]:
    """Rendered package files (see the module docstring)."""
    meta = metadata(export, package, exported_at)
    val = export.scores.get("validation") or {}
    test = export.scores.get("test")
    context = {
        "package": package, "distribution": package.replace("_", "-"),
        "version": PACKAGE_VERSION, "program_id": export.program_id,
        "campaign": export.campaign_name, "task": export.task,
        "title": f"Evolved memory harness {export.program_id[:8]} ({export.campaign_name})",
        "description": f"Memory program {export.program_id[:12]} evolved by evolve "
                       f"(campaign {export.campaign_name}, task {export.task})",
        "dependencies": _dependencies(export), "packages": [package, f"{package}._runtime",
                                                             f"{package}._runtime.chromadb",
                                                             f"{package}._runtime.chromadb.utils"],
        "meta": meta, "val": val, "test": test, "score_rows": _score_rows(export),
        "lineage": export.lineage, "design": _docstring(export.source),
        "item_fields": info.item_fields, "query_fields": info.query_fields,
        "golden_reads": sum(1 for r in golden.reads if "output" in r),
        "golden_note": golden.skipped, "golden_writes": len(golden.writes),
        "golden_origin": golden.origin, "campaign_match": golden.campaign_matches,
        "task_args": ", ".join(f"{k}={v}" for k, v in export.task_args.items()),
    }
    env = _env()
    files = {
        "pyproject.toml": env.get_template("pyproject.toml.j2").render(**context),
        "README.md": env.get_template("README.md.j2").render(**context),
        f"tests/test_{package}.py": env.get_template("test_package.py.j2").render(**context),
        f"{package}/__init__.py": env.get_template("__init__.py.j2").render(**context),
        f"{package}/memory.py": env.get_template("memory.py.j2").render(**context),
        f"{package}/prompts.py": env.get_template("prompts.py.j2").render(**context),
    }
    # persistence and the adapters: the same for every program (module docstrings say more)
    for module in ADAPTER_MODULES:
        files[f"{package}/{module}.py"] = env.get_template(f"{module}.py.j2").render(**context)
    files.update({
        f"{package}/metadata.json": _dump(meta),
        f"{package}/prompts.json": _dump(prompts_data(info)),
        f"{package}/golden.json": _dump(golden.to_json()),
    })
    return files
