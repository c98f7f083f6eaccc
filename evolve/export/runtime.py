"""The runtime an exported harness carries: copies of evolve's own modules, taken at export time.

Contract: ``runtime_files()`` maps paths inside the exported package to file contents:
- ``_runtime/``: the sandbox toolkit (``toolkit``, ``dbproxy``, ``chroma`` with its
  ``chroma_filters`` and ``chroma_matrix``), the program loader
  helpers (``program_loader`` = ``sandbox/program.py``, with ``importguard``) and the ``chromadb``
  shim. They import only the standard library and numpy (the program contract, README
  "Memory programs"), so they run unchanged outside the jail. They are copied, never imported
  from ``evolve``, so the exported package needs no part of evolve.
- ``_runtime/coerce.py`` with ``reply_json``, ``reply_shape``, ``schema_examples`` and
  ``contract_types``: the campaign's tolerant reading of a model's JSON reply (``evolve/agent``),
  copied so the exported extraction and query steps parse replies exactly as the campaign did.
  Their one import of evolve (``normalise_type``) is rewritten to the copied
  ``contract_types``; an import that cannot be rewritten fails the export.
- ``embedders.py``: the offline embedders (feature hashing, WordLlama, their hybrid) cut out
  of ``evolve/llm/embedders.py`` by name with ``ast``, so the exported harness embeds exactly
  as the campaign did. Only names listed in ``EMBEDDER_NAMES`` are taken; a rename in evolve
  fails loudly at export time instead of shipping a broken package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import evolve_sandbox

from ..agent import coerce as _coerce_module
from ..llm import embedders as _embedders_module
from ..program import contract as _contract_module
from ..program.parsing import parse_source

SANDBOX_FILES = {
    "_runtime/toolkit.py": "toolkit.py",
    "_runtime/dbproxy.py": "dbproxy.py",
    "_runtime/chroma.py": "chroma.py",
    "_runtime/chroma_filters.py": "chroma_filters.py",
    "_runtime/chroma_matrix.py": "chroma_matrix.py",
    "_runtime/program_loader.py": "program.py",
    "_runtime/importguard.py": "importguard.py",
    "_runtime/chromadb/__init__.py": "shims/chromadb/__init__.py",
    "_runtime/chromadb/config.py": "shims/chromadb/config.py",
    "_runtime/chromadb/utils/__init__.py": "shims/chromadb/utils/__init__.py",
    "_runtime/chromadb/utils/embedding_functions.py":
        "shims/chromadb/utils/embedding_functions.py",
}

# Top-level names of evolve/llm/embedders.py the exported embedders module needs, in order.
EMBEDDER_NAMES = ("_STOPWORDS", "_WORD", "normalise_rows", "HashingEmbedder", "_LazyModel",
                  "_wordllama_cache_dir", "WordLlamaEmbedder", "HybridEmbedder")

# Campaign embedder names the exported package can reproduce by itself (others need a hook).
OFFLINE_EMBEDDERS = {"offline": "hybrid", "hybrid": "hybrid", "hashing": "hashing",
                     "wordllama": "wordllama"}

_EMBEDDERS_HEADER = '''"""Offline embedders copied from evolve (``evolve/llm/embedders.py``) at export time.

The campaign embedded with one of these; using the same one here gives the same vectors, so
``read`` returns what it returned during the campaign. ``make_embedder(name)`` accepts
``hybrid`` (WordLlama + feature hashing, evolve's ``offline`` default), ``hashing`` and
``wordllama``. WordLlama loads its weights from its own wheel and never downloads anything.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import zlib
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

'''

_EMBEDDERS_FOOTER = '''

def make_embedder(name: str = "hybrid") -> Any:
    """One of the offline embedders by name (the same names evolve uses)."""
    if name in ("hybrid", "offline"):
        return HybridEmbedder([WordLlamaEmbedder(), HashingEmbedder()], [0.5, 0.5], name="hybrid")
    if name == "hashing":
        return HashingEmbedder()
    if name == "wordllama":
        return WordLlamaEmbedder()
    raise ValueError(f"unknown offline embedder {name!r}; use hybrid, hashing or wordllama")
'''


def _sandbox_root() -> Path:
    return Path(evolve_sandbox.__file__).resolve().parent


def _read_sandbox(relative: str) -> str:
    path = _sandbox_root() / relative
    return path.read_text(encoding="utf-8")


def embedders_source() -> str:
    """The exported ``embedders.py``: evolve's offline embedder code, cut out by name."""
    source = Path(_embedders_module.__file__).read_text(encoding="utf-8")
    tree = parse_source(source)
    segments: dict[str, str] = {}
    for node in tree.body:
        names: list[str] = []
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names = [node.name]
        elif isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        for name in names:
            if name in EMBEDDER_NAMES:
                segment = ast.get_source_segment(source, node, padded=False)
                decorators = getattr(node, "decorator_list", [])
                if decorators:  # get_source_segment starts at `def`/`class`, not at `@`
                    first = min(d.lineno for d in decorators)
                    lines = source.splitlines()
                    segment = "\n".join(lines[first - 1:node.lineno - 1]) + "\n" + (segment or "")
                segments[name] = segment or ""
    missing = [name for name in EMBEDDER_NAMES if not segments.get(name)]
    if missing:
        raise RuntimeError(f"evolve/llm/embedders.py no longer defines {', '.join(missing)}; "
                           "update evolve/export/runtime.py")
    body = "\n\n\n".join(segments[name] for name in EMBEDDER_NAMES)
    text = _EMBEDDERS_HEADER + body + "\n" + _EMBEDDERS_FOOTER
    compile(text, "embedders.py", "exec")  # a syntax error here is ours: fail at export time
    return text


# evolve/agent modules that read a model's JSON reply, copied under _runtime/ (same names).
COERCE_MODULES = ("reply_json", "reply_shape", "schema_examples", "coerce")
_CONTRACT_IMPORT = "from ..program.contract import normalise_type"


def _top_level_source(module_source: str, name: str) -> str:
    """The source of one top-level function of a module (cut with ``ast``)."""
    for node in parse_source(module_source).body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return ast.get_source_segment(module_source, node) or ""
    raise RuntimeError(f"evolve no longer defines {name}; update evolve/export/runtime.py")


def coerce_files() -> dict[str, str]:
    """The campaign's reply parsing (``evolve/agent``), rewritten to import only itself."""
    agent_dir = Path(_coerce_module.__file__).resolve().parent
    files: dict[str, str] = {}
    for name in COERCE_MODULES:
        text = (agent_dir / f"{name}.py").read_text(encoding="utf-8")
        text = text.replace(_CONTRACT_IMPORT, "from .contract_types import normalise_type")
        if "from .." in text:  # an import of evolve we do not know how to carry along
            raise RuntimeError(f"evolve/agent/{name}.py imports from outside evolve/agent; "
                               "update evolve/export/runtime.py")
        files[f"_runtime/{name}.py"] = text
    contract = Path(_contract_module.__file__).read_text(encoding="utf-8")
    files["_runtime/contract_types.py"] = (
        '"""``normalise_type`` copied from evolve/program/contract.py at export time."""\n\n'
        "from __future__ import annotations\n\n\n"
        + _top_level_source(contract, "normalise_type") + "\n")
    return files


def runtime_files() -> dict[str, str]:
    """Package-relative path -> content of every runtime file (see the module contract)."""
    files = {target: _read_sandbox(source) for target, source in SANDBOX_FILES.items()}
    files["_runtime/__init__.py"] = (
        '"""Runtime copied from evolve\'s sandbox package at export time: the toolkit a memory '
        'program\nreceives (SQLite, numpy vector store, embed and LLM hooks) and a chromadb '
        'stand-in."""\n')
    files.update(coerce_files())
    files["embedders.py"] = embedders_source()
    return files

