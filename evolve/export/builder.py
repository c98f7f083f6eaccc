"""``evolve export``: turn one program of a run into an installable, evolve-free package.

Contract of ``export_program(run_dir, out_dir, program=None | prefix)`` (None = the best by
static validation): writes ``out_dir`` holding ``pyproject.toml``, ``README.md`` (scores, lineage,
usage), ``tests/test_<package>.py`` and the package ``<package>/`` (the program unchanged, the
``Memory`` adapter, the copied runtime, the campaign's offline embedder, the campaign's
prompts, ``metadata.json`` and ``golden.json`` -- reads recorded in the sandbox that the
package's test replays). ``out_dir`` must be absent or empty, or a previous export replaced
with ``force`` (see ``out_dir.py``); it gets the marker file ``.evolve-export``. The package
name is ``evolved_<campaign>_<id8>`` unless ``name`` is given. Bad input: ``UsageError``.
"""

from __future__ import annotations

import datetime
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from .golden import Golden, program_info, record_reads
from .out_dir import prepare_out_dir
from .package_text import render_files
from .replay import campaign_group
from .run_info import ProgramExport, read_program_export
from .runtime import runtime_files

GOLDEN_QUERIES = 8
PYTHON_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass
class ExportResult:
    """Where the package went and what it holds."""

    out_dir: Path
    package: str
    distribution: str
    program_id: str
    golden_reads: int
    golden_note: str | None
    campaign_equal: int = 0     # recorded reads equal to the campaign's stored read output
    campaign_compared: int = 0  # recorded reads that have a stored campaign output


def package_name(campaign: str, program_id: str) -> str:
    """``evolved_<campaign slug>_<first 8 hex of the id>``: a valid, readable import name."""
    slug = re.sub(r"[^a-z0-9]+", "_", campaign.lower()).strip("_")[:32].strip("_")
    return "_".join(part for part in ("evolved", slug or "memory", program_id[:8]) if part)


def _golden(export: ProgramExport, sandbox_mode: str) -> Golden:
    """Reads of the program recorded in the sandbox with the campaign's embedder: the writes of
    one static group re-extracted by the offline task model (the reads then carry the
    campaign's stored output too), else the stored write examples and queries. Skipped, with a
    reason, when the embedder is not a bundled offline one (recording must not need a
    network or spend money)."""
    info = program_info(export.source, sandbox_mode)
    if export.embedder_export is None:
        return Golden([], [], info=info,
                      skipped=f"the campaign embedder {export.embedder!r} is not bundled "
                              "(remote or not an offline one)")
    group = campaign_group(export, info, GOLDEN_QUERIES)
    if group is not None and group[0] and group[1]:
        writes, reference = group
        queries = [r["query"] for r in reference]
        origin = (f"campaign group {export.static_items[0]['group_id']}: {len(writes)} writes "
                  "re-extracted by the offline task model, queries and outputs as stored")
    else:
        writes, reference = export.write_examples, []
        queries = export.queries[:GOLDEN_QUERIES]
        origin = "stored write examples and queries of the program's evaluations"
    if not writes or not queries:
        return Golden(writes, [], info=info, skipped="the run stored no write or query")
    from ..llm.embedder_factory import make_embedder

    hub = None
    if export.toolkit_model == "offline":
        from ..llm.factory import build_hub

        hub = build_hub(model="offline", embedder="hashing", cache_path="off")
    golden = record_reads(export.source, writes, queries,
                          embedder=make_embedder(export.embedder_export), hub=hub,
                          sandbox_mode=sandbox_mode)
    golden.origin = origin
    for read, ref in zip(golden.reads, reference, strict=False):
        read["campaign_output"] = ref["campaign_output"]
    if any("error" in r for r in golden.reads):
        golden.skipped = "some reads raised while recording (they are not checked)"
    return golden


def export_program(run_dir: str | Path, out_dir: str | Path, program: str | None = None, *,
                   name: str | None = None, force: bool = False,
                   sandbox_mode: str = "auto") -> ExportResult:
    """Export ``program`` (an id prefix; None = the best) of RUN_DIR as a package in OUT_DIR."""
    export = read_program_export(run_dir, program)
    package = name or package_name(export.campaign_name, export.program_id)
    if not PYTHON_NAME.match(package):
        raise UsageError(f"package name {package!r} is not a valid lowercase Python name")
    out = Path(out_dir)
    prepare_out_dir(out, run_dir=Path(run_dir), force=force)
    try:
        golden = _golden(export, sandbox_mode)
        assert golden.info is not None
        files = render_files(export, package, golden.info, golden,
                             exported_at=datetime.datetime.now().isoformat(timespec="seconds"))
        for relative, text in runtime_files().items():
            files[f"{package}/{relative}"] = text
        files[f"{package}/program.py"] = export.source
        for relative, text in sorted(files.items()):
            path = out / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)  # never leave half a package behind
        raise
    checked = sum(1 for r in golden.reads if "output" in r)
    equal, compared = golden.campaign_matches
    return ExportResult(out_dir=out, package=package, distribution=package.replace("_", "-"),
                        program_id=export.program_id, golden_reads=checked,
                        golden_note=golden.skipped, campaign_equal=equal,
                        campaign_compared=compared)

