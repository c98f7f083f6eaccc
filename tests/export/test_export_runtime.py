"""The runtime an exported package carries imports only itself, numpy and the standard library.

A sandbox module split in two (``chroma`` importing ``chroma_matrix``) must be listed in
``evolve/export/runtime.py`` or every exported package that uses vectors breaks on import.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from evolve.export.runtime import runtime_files

USE_THE_STORE = """
import sys
sys.path.insert(0, ".")
from _runtime.toolkit import Toolkit
toolkit = Toolkit(lambda texts: [[1.0, float(len(t))] for t in texts], None, lambda *a: None)
notes = toolkit.chroma.get_or_create_collection("notes", metadata={"hnsw:space": "cosine"})
notes.add(ids=["a", "b"], documents=["x", "yyyy"], metadatas=[{"k": 1}, {"k": 2}])
found = notes.query(query_texts=["yyy"], n_results=2, where={"k": {"$gte": 1}})
print(found["ids"][0], any(m.startswith("evolve") for m in sys.modules))
"""


def test_every_relative_import_of_the_runtime_is_shipped() -> None:
    files = runtime_files()
    runtime = {Path(p).stem for p in files if p.startswith("_runtime/") and p.count("/") == 1}
    for path, text in files.items():
        if not path.startswith("_runtime/") or path.count("/") != 1:
            continue
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                names = [node.module] if node.module else [a.name for a in node.names]
                missing = [n for n in names if n.split(".")[0] not in runtime]
                assert not missing, f"{path} imports .{missing[0]}, not in the runtime"


def test_the_shipped_vector_store_runs_outside_evolve(tmp_path: Path) -> None:
    for path, text in runtime_files().items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-I", "-c", USE_THE_STORE], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "['b', 'a'] False"
