"""``evolve export``: an installable package that needs no part of evolve and reads like the
campaign did.

The fast tests use a tiny campaign and import the exported package in a subprocess. The slow
test exports the quickstart's best program, installs it into a fresh virtualenv (``import
evolve`` must fail there), runs the package's own test and checks that ``read`` returns, for
the same writes, exactly what the campaign stored.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tomllib
import venv
from pathlib import Path

import pytest
from suite_support.runs import make_synthetic_run

from evolve.cli import main
from evolve.export import export_program, package_name
from evolve.report.data import open_snapshot

ROOT = Path(__file__).resolve().parents[2]

READ_SCRIPT = """
import json, sys
import {package} as harness
golden = json.loads((__import__("pathlib").Path(harness.__file__).parent / "golden.json").read_text())
replies = golden["llm"]
def llm(messages, **options):
    key = json.dumps([{{"role": m["role"], "content": m["content"]}} for m in messages],
                     sort_keys=True, ensure_ascii=False)
    return replies[key]
mem = harness.Memory(llm=llm)
for write in golden["writes"]:
    mem.write(write["item"], write["raw_text"])
out = [{{"query": r["query"], "output": mem.read(r["query"])}} for r in golden["reads"]]
print(json.dumps({{"reads": out, "constants": [harness.INSTRUCTION_KNOWLEDGE_ITEM,
    harness.INSTRUCTION_QUERY, harness.INSTRUCTION_RESPONSE, harness.ALWAYS_ON_KNOWLEDGE],
    "evolve_loaded": any(m == "evolve" or m.startswith("evolve.") for m in sys.modules)}}))
"""


def _run_reads(python: str, package: str, env: dict[str, str] | None = None) -> dict:
    proc = subprocess.run([python, "-c", READ_SCRIPT.format(package=package)],
                          capture_output=True, text=True, env=env, cwd="/", timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def _campaign_reads(run_dir: Path, program: str) -> dict[str, str]:
    """Query (canonical JSON) -> read output the campaign stored for ``program``'s static run."""
    store = open_snapshot(run_dir)
    try:
        rows = store.query(
            "SELECT i.trace, i.retrieved FROM item_results i JOIN evaluations e ON "
            "e.id = i.evaluation_id WHERE e.program_id = ? AND e.split = 'static'", [program])
    finally:
        store.close()
    return {json.dumps(json.loads(trace)["query"], sort_keys=True): retrieved
            for trace, retrieved in rows}


def _isolated_env(out: Path) -> dict[str, str]:
    """Python can import the exported package (from OUT) -- evolve is still installed here,
    which is why the subprocess also reports whether anything imported it."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(out)
    return env


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("export-run")
    assert main(["run", str(ROOT / "examples" / "quickstart.toml"), "--run-dir", str(run),
                 "--quiet", "--set", "task.args.size=tiny", "--set", "search.iterations=1",
                 "--set", "data.val_size=10", "--set",
                 "search.seeds=experience_learner,llm_summarizer"]) == 0
    return run


def _program_id(run: Path, name: str) -> str:
    store = open_snapshot(run)
    try:
        return store.query("SELECT id FROM programs WHERE name = ?", [name])[0][0]
    finally:
        store.close()


def test_export_best_writes_an_installable_package(tiny_run: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "pkg"
    assert main(["export", str(tiny_run), "--best", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    meta_files = list(out.glob("evolved_*/metadata.json"))
    assert len(meta_files) == 1
    meta = json.loads(meta_files[0].read_text())
    package = meta["package"]
    assert package == package_name("quickstart", meta["program_id"])
    assert package.startswith("evolved_quickstart_") and len(package.rsplit("_", 1)[1]) == 8
    project = tomllib.loads((out / "pyproject.toml").read_text())["project"]
    assert project["name"] == package.replace("_", "-")
    assert "numpy>=1.26" in project["dependencies"]
    assert any(d.startswith("wordllama") for d in project["dependencies"])  # campaign embedder
    assert not any("evolve" in d for d in project["dependencies"])
    readme = (out / "README.md").read_text()
    assert meta["program_id"] in readme and "## Lineage" in readme and "| validation" in readme
    assert meta["scores"]["validation"]["score"] is not None
    assert (out / "tests" / f"test_{package}.py").is_file()
    assert (out / package / "program.py").read_text() == _source(tiny_run, meta["program_id"])
    # the recorded reads equal the campaign's stored reads (the sandbox rerun is faithful)
    assert "equal to the campaign's stored reads" in printed
    golden = json.loads((out / package / "golden.json").read_text())
    compared = [r for r in golden["reads"] if "campaign_output" in r]
    assert compared and all(r["output"] == r["campaign_output"] for r in compared)

    result = _run_reads(sys.executable, package, _isolated_env(out))
    stored = _campaign_reads(tiny_run, meta["program_id"])
    assert not result["evolve_loaded"]
    for read in result["reads"]:
        assert read["output"] == stored[json.dumps(read["query"], sort_keys=True)]


def _source(run: Path, program: str) -> str:
    store = open_snapshot(run)
    try:
        return store.query("SELECT source FROM programs WHERE id = ?", [program])[0][0]
    finally:
        store.close()


def test_program_using_the_toolkit_llm_replays_its_calls(tiny_run: Path, tmp_path: Path) -> None:
    program = _program_id(tiny_run, "llm_summarizer")
    result = export_program(tiny_run, tmp_path / "pkg", program[:10])
    assert result.program_id == program and result.golden_reads > 0
    golden = json.loads((tmp_path / "pkg" / result.package / "golden.json").read_text())
    assert golden["llm"], "llm_summarizer calls toolkit.llm_completion at read time"
    assert result.campaign_compared and result.campaign_equal == result.campaign_compared
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(tmp_path / "pkg" / "tests")], capture_output=True, text=True,
                          env=_isolated_env(tmp_path / "pkg"), cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "3 passed" in proc.stdout


ADAPTER_SCRIPT = """
import json
from types import SimpleNamespace as NS
import {package} as harness

calls = []

class Completions:
    def create(self, **kwargs):
        calls.append(("chat", kwargs))
        last = kwargs["messages"][-1]["content"]
        if "<schema name=\\"KnowledgeItem\\">" in last:
            text = json.dumps({{"summary": "Ana moved to Valencia in May."}})
        elif "<schema name=\\"Query\\">" in last:
            text = json.dumps({{"question": "Where does Ana live?"}})
        else:
            text = "Valencia"
        return NS(choices=[NS(message=NS(content=text))])

class Embeddings:
    def create(self, model, input):
        calls.append(("embed", model, len(input)))
        data = [NS(index=i, embedding=[1.0, float(len(t) % 7), 0.5]) for i, t in enumerate(input)]
        return NS(data=list(reversed(data)))

client = NS(chat=NS(completions=Completions()), embeddings=Embeddings())
mem = harness.Memory.from_openai(client, model="gpt-test", embedding_model="emb-test",
                                 temperature=0)
item = mem.remember("[1 May 2023] Ana: I moved to Valencia.")
answer = mem.ask("Where does Ana live?")
vectors = mem.toolkit.embed(["ab", "abcdef"])
print(json.dumps({{"item": item, "answer": answer, "calls": calls, "vectors": vectors}}))
"""


def test_openai_adapter_drives_the_program_with_the_applications_client(
        tiny_run: Path, tmp_path: Path) -> None:
    """``Memory.from_openai``: chat calls (JSON mode for the agent's steps and the program's
    own toolkit call) and embeddings go to the client; ``remember``/``ask`` use the campaign's
    prompts."""
    program = _program_id(tiny_run, "llm_summarizer")
    result = export_program(tiny_run, tmp_path / "pkg", program)
    proc = subprocess.run([sys.executable, "-c", ADAPTER_SCRIPT.format(package=result.package)],
                          capture_output=True, text=True, env=_isolated_env(tmp_path / "pkg"),
                          cwd="/", timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    chats = [c[1] for c in out["calls"] if c[0] == "chat"]
    assert all(c["model"] == "gpt-test" and c["temperature"] == 0 for c in chats)
    assert chats[0]["response_format"] == {"type": "json_object"}  # extraction step
    assert "<text>\n[1 May 2023] Ana: I moved to Valencia.\n</text>" in \
        chats[0]["messages"][-1]["content"]
    # extraction, query step, the program's own summary call inside read(), answer step
    assert len(chats) == 4 and "response_format" in chats[1]
    assert "<schema" not in chats[2]["messages"][-1]["content"]  # the toolkit call
    assert out["item"] == {"summary": "Ana moved to Valencia in May."}
    assert out["answer"] == "Valencia"
    assert ["embed", "emb-test", 2] in out["calls"]
    first, second = out["vectors"]  # rows back in input order (by index), unit length
    assert abs(sum(v * v for v in first) - 1) < 1e-5 and second[1] > first[1]
    final = chats[-1]["messages"]
    assert final[-2]["role"] == "assistant" and "<retrieved_memory>" in final[-1]["content"]


def test_export_refuses_bad_requests(tiny_run: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    assert main(["export", str(tiny_run), "--best", "--out", str(out)]) == 2
    assert (out / "keep.txt").exists()
    assert main(["export", str(tiny_run), "--program", "zzzz", "--out", str(tmp_path / "a")]) == 2
    assert main(["export", str(tiny_run), "--out", str(tmp_path / "b")]) == 2  # --best or --program
    assert main(["export", str(tiny_run), "--best", "--out", str(tmp_path / "c"),
                 "--name", "Not-Valid"]) == 2
    assert main(["export", str(tmp_path / "nope"), "--best", "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 5 and all(line.startswith("evolve: ") for line in err)
    # --force replaces a previous export only, never a foreign directory
    assert main(["export", str(tiny_run), "--best", "--out", str(out), "--force"]) == 2
    assert (out / "keep.txt").exists()


def test_gate_failed_program_and_remote_embedder(tmp_path: Path) -> None:
    run = tmp_path / "run"
    marks = make_synthetic_run(run, 16, embedder="text-embedding-3-small")
    assert main(["export", str(run), "--program", marks["failed"][:12],
                 "--out", str(tmp_path / "f")]) == 2
    result = export_program(run, tmp_path / "pkg", None)
    assert result.program_id == marks["best"]
    assert result.golden_reads == 0 and "not bundled" in (result.golden_note or "")
    meta = json.loads((tmp_path / "pkg" / result.package / "metadata.json").read_text())
    assert meta["embedder_export"] is None
    deps = tomllib.loads((tmp_path / "pkg" / "pyproject.toml").read_text())["project"]
    assert deps["dependencies"] == ["numpy>=1.26"]
    proc = subprocess.run(
        [sys.executable, "-c", f"import {result.package} as h\n"
         "try:\n    h.Memory()\nexcept ValueError as e:\n    print('refused', e)\n"
         "m = h.Memory(embed=lambda texts: [[1.0, float(len(t))] for t in texts])\n"
         "print(type(m.read({'question': 'x'})).__name__)"],
        capture_output=True, text=True, env=_isolated_env(tmp_path / "pkg"), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "refused" in proc.stdout and "text-embedding-3-small" in proc.stdout
    assert proc.stdout.strip().endswith("str")


def test_package_name_is_a_valid_identifier() -> None:
    assert package_name("My Campaign: LoCoMo #3", "ab12cd34ef") == "evolved_my_campaign_locomo_3_ab12cd34"
    assert package_name("***", "0123456789") == "evolved_memory_01234567"


def _clean_env() -> dict[str, str]:
    """No PYTHONPATH: the venv must see only what was installed into it."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


def _imports_evolve(python: Path, cwd: Path) -> bool:
    # run from a directory that holds no evolve checkout (sys.path[0] is the cwd for -c)
    return subprocess.run([str(python), "-c", "import evolve"], capture_output=True,
                          cwd=cwd, env=_clean_env()).returncode == 0


def _pip(python: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(python), "-m", "pip", "install", "-q",
                           "--disable-pip-version-check", *args], capture_output=True,
                          text=True, timeout=900, env=_clean_env())


@pytest.mark.slow
def test_quickstart_export_installs_and_reads_like_the_campaign_without_evolve(
        quickstart_run_dir: Path, tmp_path: Path) -> None:
    run = quickstart_run_dir
    started = time.monotonic()
    out = tmp_path / "exported"
    assert main(["export", str(run), "--best", "--out", str(out)]) == 0
    package = next(out.glob("evolved_*/metadata.json")).parent.name
    exported = time.monotonic()

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    python = env_dir / "bin" / "python"
    assert not _imports_evolve(python, tmp_path)
    # --no-build-isolation builds with the venv's own setuptools (+ wheel, for old ones):
    # nothing but the package's declared dependencies comes from the index.
    tools = _pip(python, "wheel")
    if tools.returncode != 0:
        pytest.skip(f"no package index reachable for the venv: {tools.stderr.strip()[-300:]}")
    install = _pip(python, "--no-build-isolation", f"{out}[test]")
    assert install.returncode == 0, install.stderr[-3000:]
    installed = time.monotonic()
    listing = subprocess.run([str(python), "-m", "pip", "list", "--format=json"],
                             capture_output=True, text=True, check=True,
                             env=_clean_env()).stdout
    names = {p["name"].lower() for p in json.loads(listing)}
    assert "evolve-memory" not in names and not any(n.startswith("evolve-") for n in names)
    assert not _imports_evolve(python, tmp_path)

    result = _run_reads(str(python), package, _clean_env())
    stored = _campaign_reads(run, json.loads(
        (out / package / "metadata.json").read_text())["program_id"])
    assert len(result["reads"]) >= 5
    for read in result["reads"]:
        assert read["output"] == stored[json.dumps(read["query"], sort_keys=True)]
    tests = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            str(out / "tests")], capture_output=True, text=True, cwd=tmp_path,
                           timeout=600, env=_clean_env())
    assert tests.returncode == 0 and "3 passed" in tests.stdout, tests.stdout[-3000:]
    print(f"\nexport {exported - started:.1f} s, venv + install {installed - exported:.1f} s, "
          f"reads + package tests {time.monotonic() - installed:.1f} s")
