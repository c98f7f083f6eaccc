"""End to end: `evolve eval` on real sandboxed programs, tasks and the offline model."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from fakes import FakeOpenAIServer
from fakes.programs import minimal_program

from evolve.cli import main
from evolve.evaluation.evaluate import EvalSettings, evaluate_program
from evolve.llm.factory import build_hub
from evolve.llm.offline import OfflineModel
from evolve.seeds import list_seeds, seed_source
from evolve.tasks.registry import make_task

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"



def program(read_body: str, **replacements: str) -> str:
    source = minimal_program(read_body)
    for old, new in replacements.items():
        source = source.replace(old, new)
    return source


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def hub():
    return build_hub(model="offline")


@pytest.fixture(scope="module")
def small_task():
    return make_task("dialog-synth", {"size": "small"})


@pytest.fixture(scope="module")
def seed_results(hub, small_task):
    return {seed.name: evaluate_program(seed_source(seed.name), small_task, hub, EvalSettings())
            for seed in list_seeds()}


def test_every_seed_is_ok_and_design_matters(seed_results):
    assert len(seed_results) >= 10
    for name, result in seed_results.items():
        assert result.status == "ok", (name, result.error)
        assert result.n_items > 50 and result.sandbox_mode
    scores = {name: r.score for name, r in seed_results.items()}
    assert max(scores.values()) - min(scores.values()) >= 0.15, scores


def test_no_memory_only_scores_on_adversarial(seed_results):
    per_category = seed_results["no_memory"].per_category
    assert set(per_category) == {"1", "2", "3", "4", "5"}
    for category, score in per_category.items():
        if category != "5":
            assert score <= 0.1, per_category


def test_oracle_reaches_the_reader_ceiling(hub, small_task):
    result = evaluate_program(seed_source("no_memory"), small_task, hub,
                              EvalSettings(oracle=True))
    assert result.status == "ok" and result.oracle
    assert result.score >= 0.8, result.per_category
    # the oracle evidence, not the program's read(), is what the answer step saw
    assert all(t.retrieved for t in result.items if t.category != "5")


def test_json_contract_fields(capsys, tmp_path):
    traces = tmp_path / "traces.jsonl"
    code, out, err = run_cli(["eval", "vector_search", "--task", "dialog-synth",
                              "--task-arg", "size=tiny", "--json", "--traces", str(traces)],
                             capsys)
    assert code == 0, err
    summary = json.loads(out)
    for key in ("status", "score", "per_category", "n_items", "error", "sandbox_mode",
                "llm_calls", "seconds"):
        assert key in summary
    assert summary["status"] == "ok" and summary["n_items"] == len(traces.read_text().splitlines())
    first = json.loads(traces.read_text().splitlines()[0])
    for key in ("question", "query", "retrieved", "answer", "gold", "score", "prompts"):
        assert key in first
    assert first["prompts"]["answer"][-1]["content"].count("<retrieved_memory>") == 1


def test_program_exception_text_reaches_the_error_field(capsys, tmp_path):
    path = tmp_path / "raiser.py"
    path.write_text(program("raise ValueError('boom-1234 in read')"))
    code, out, _ = run_cli(["eval", str(path), "--task", "dialog-synth", "--task-arg",
                            "size=tiny", "--json", "--limit", "5"], capsys)
    summary = json.loads(out)
    # the smoke test already calls read(), so this program never gets past the gates
    assert code == 1 and summary["status"] == "gate_failed" and summary["gate_stage"] == "smoke"
    assert "boom-1234 in read" in summary["error"]


def test_exception_on_some_reads_is_status_error(capsys, tmp_path):
    path = tmp_path / "flaky.py"
    body = ("if 'filler' not in str(query.question):\n"
            "            raise KeyError('flaky-read-77')\n"
            "        return ''")
    path.write_text(program(body))
    code, out, _ = run_cli(["eval", str(path), "--task", "dialog-synth", "--task-arg",
                            "size=tiny", "--json", "--limit", "4"], capsys)
    summary = json.loads(out)
    assert code == 1 and summary["status"] == "error"
    assert "flaky-read-77" in summary["error"] and summary["n_items"] == 4


def test_read_cap_is_a_runtime_violation(capsys, tmp_path):
    path = tmp_path / "verbose.py"
    body = ("return 'x' * (5000 if 'filler' not in str(query.question) else 10)")
    path.write_text(program(body))
    code, out, _ = run_cli(["eval", str(path), "--task", "dialog-synth", "--task-arg",
                            "size=tiny", "--json", "--limit", "3"], capsys)
    summary = json.loads(out)
    assert code == 1 and summary["status"] == "runtime_violation" and summary["score"] == 0
    assert "3000" in summary["error"]


def test_llm_budget_is_a_runtime_violation(capsys, tmp_path):
    path = tmp_path / "chatty.py"
    body = ("if 'filler' in str(query.question):\n"
            "            return ''\n"
            "        for _ in range(3):\n"
            "            try:\n"
            "                self.toolkit.llm_completion([{'role': 'user', 'content': 'hi'}])\n"
            "            except Exception:\n"
            "                pass\n"
            "        return ''")
    path.write_text(program(body))
    code, out, _ = run_cli(["eval", str(path), "--task", "dialog-synth", "--task-arg",
                            "size=tiny", "--json", "--limit", "2"], capsys)
    summary = json.loads(out)
    assert code == 1 and summary["status"] == "runtime_violation"
    assert "budget" in summary["error"].lower()


def test_mstar_style_program_runs_unchanged(capsys, tmp_path):
    """chromadb import, toolkit.chroma collections, toolkit.db and llm_completion(messages)."""
    source = textwrap.dedent('''
        import json
        import chromadb
        from dataclasses import dataclass, field

        INSTRUCTION_KNOWLEDGE_ITEM = "Copy the text."
        INSTRUCTION_QUERY = "Restate the question."
        INSTRUCTION_RESPONSE = "Answer in a few words."
        ALWAYS_ON_KNOWLEDGE = ""

        @dataclass
        class KnowledgeItem:
            summary: str = field(default="", metadata={"description": "what happened"})

        @dataclass
        class Query:
            query: str = field(default="", metadata={"description": "the question"})

        class KnowledgeBase:
            def __init__(self, toolkit):
                self.toolkit = toolkit
                self.collection = toolkit.chroma.get_or_create_collection("memories")
                self.client = chromadb.Client()
                self.toolkit.db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
                self.n = 0

            def write(self, item, raw_text):
                self.n += 1
                self.collection.add(documents=[raw_text[:2000]], ids=[f"doc{self.n}"])
                self.toolkit.db.execute("INSERT INTO notes (body) VALUES (?)", (raw_text,))
                self.toolkit.logger.debug(f"stored doc{self.n}")

            def read(self, query):
                hits = self.collection.query(query_texts=[query.query], n_results=2)
                context = "\\n".join(hits["documents"][0])
                summary = self.toolkit.llm_completion(
                    [{"role": "user", "content": f"Question: {query.query}\\nNotes:\\n{context}"}])
                return (summary or context)[:3000]
    ''')
    path = tmp_path / "mstar.py"
    path.write_text(source)
    code, out, err = run_cli(["eval", str(path), "--task", "dialog-synth", "--task-arg",
                              "size=tiny", "--json"], capsys)
    summary = json.loads(out)
    assert code == 0, (summary, err)
    assert summary["status"] == "ok" and summary["score"] > 0.25


def test_locomo_format_file_evaluates(capsys):
    code, out, err = run_cli(["eval", "bm25", "--task", "locomo", "--task-arg",
                              f"path={FIXTURES / 'locomo_mini.json'}", "--task-arg",
                              "conversations=2", "--split", "all", "--json"], capsys)
    assert code == 0, err
    summary = json.loads(out)
    assert summary["status"] == "ok" and summary["n_items"] > 0
    assert set(summary["per_category"]) <= {"1", "2", "3", "4", "5"}


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["eval", "/nonexistent/prog.py", "--task", "dialog-synth"], "not found"),
        (["eval", "no_memory", "--task", "nope"], "unknown task"),
        (["eval", "no_memory", "--task", "dialog-synth", "--task-arg", "colour=red"],
         "unknown argument"),
        (["eval", "no_memory", "--task", "dialog-synth", "--task-arg", "size"], "KEY=VALUE"),
        (["eval", "no_memory", "--task", "locomo"], "path"),
        (["eval", "no_memory", "--task", "dialog-synth", "--sandbox", "chroot"], "invalid choice"),
        (["eval", "no_memory", "--task", "dialog-synth", "--concurrency", "0"], "concurrency"),
        (["evaluate"], "invalid choice"),
    ],
)
def test_bad_usage_is_one_line_exit_2(argv, needle, capsys):
    code, _, err = run_cli(argv, capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and needle in err


def test_syntax_error_program_is_bad_input(capsys, tmp_path):
    path = tmp_path / "broken.py"
    path.write_text(minimal_program("return ''").replace("class Query:", "class Query(:"))
    code, _, err = run_cli(["eval", str(path), "--task", "dialog-synth"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "syntax" in err


def test_malformed_locomo_file_is_bad_input(capsys, tmp_path):
    bad = tmp_path / "locomo.json"
    bad.write_text(json.dumps([{"sample_id": "x", "conversation": {"speaker_a": "A"}}]))
    code, _, err = run_cli(["eval", "no_memory", "--task", "locomo", "--task-arg",
                            f"path={bad}"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and str(bad) in err


def test_unknown_model_and_unreachable_endpoint_are_bad_input(capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with FakeOpenAIServer() as server:
        code, _, err = run_cli(["eval", "no_memory", "--task", "dialog-synth", "--model",
                                "no-such-model", "--base-url", server.url, "--cache", "off"],
                               capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "no-such-model" in err
    code, _, err = run_cli(["eval", "no_memory", "--task", "dialog-synth", "--model", "m",
                            "--base-url", "http://127.0.0.1:9/v1", "--cache", "off"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "unreachable" in err


def test_eval_over_http_with_an_openai_compatible_model(capsys, monkeypatch, tmp_path):
    """The task agent's calls go over real HTTP (JSON mode) and hit the cache the second time."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    stand_in = OfflineModel()

    def responder(request):
        json_mode = (request.get("response_format") or {}).get("type") == "json_object"
        return stand_in.complete(request["messages"], json_mode=json_mode).text

    cache = tmp_path / "cache.sqlite"
    argv = ["eval", "vector_search", "--task", "dialog-synth", "--task-arg", "size=tiny",
            "--limit", "6", "--model", "fake-chat", "--json", "--cache", str(cache)]
    with FakeOpenAIServer(responder=responder) as server:
        code, out, err = run_cli([*argv, "--base-url", server.url], capsys)
        assert code == 0, err
        first = json.loads(out)
        chats = [r for r in server.requests if r["path"].endswith("/chat/completions")]
        assert first["status"] == "ok" and first["score"] > 0.3
        assert any((r["json"].get("response_format") or {}).get("type") == "json_object"
                   for r in chats)
        served = len(chats)
        code, out, _ = run_cli([*argv, "--base-url", server.url], capsys)
        again = [r for r in server.requests if r["path"].endswith("/chat/completions")]
        assert code == 0 and json.loads(out)["score"] == first["score"]
        assert len(again) == served  # every chat request of the rerun came from the cache


def test_console_script_runs(tmp_path):
    completed = subprocess.run([sys.executable, "-m", "evolve.cli", "seeds"], capture_output=True,
                               text=True, timeout=60, cwd=tmp_path)
    assert completed.returncode == 0
    assert "vector_search" in completed.stdout and "no_memory" in completed.stdout
