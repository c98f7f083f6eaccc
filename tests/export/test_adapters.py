"""The exported package's adapters against the real libraries: Mem0 shape, LangGraph, MCP.

Each round trip is a script run in a subprocess (``ROUNDTRIPS``), in two phases over one store
file: ``write`` adds 20 memories for each of two users and reads them back; ``reread`` is a
new process (a restart) that finds everything again. Both phases check that no memory (and no
word of the read text) of one user is returned for the other. Here the scripts run with this
venv (evolve installed, the package on PYTHONPATH); ``test_adapters_venv.py`` runs the same
scripts in a fresh venv holding only the package and its extras. The harness runs the offline
path (no LLM) in the round trips; the LLM path is tested against the fake OpenAI server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evolve.cli import main

pytest.importorskip("langgraph")
pytest.importorskip("mcp")

USERS = ("alice", "bob")
COMMON = """
import json, sys
PKG, PHASE, STORE = sys.argv[1], sys.argv[2], sys.argv[3]
USERS = ("alice", "bob")
THINGS = ("city", "colour", "food", "band", "sport")
def text(user, i):
    return f"{user} fact {i}: the favourite {THINGS[i % 5]} of {user} is {user.upper()}{i}x"
def other(user):
    return USERS[1 - USERS.index(user)]
def clean(user, texts):
    # nothing of the other user: neither their name nor their marker
    bad = [t for t in texts if other(user) in t.lower()]
    assert not bad, (user, bad[:2])
report = {"phase": PHASE, "users": {}}
"""

MEM0 = COMMON + """
import importlib
Mem0Memory = importlib.import_module(PKG + ".mem0").Mem0Memory
memory = Mem0Memory(STORE)
for user in USERS:
    if PHASE == "write":
        for i in range(20):
            added = memory.add([{"role": "user", "content": text(user, i)}], user_id=user,
                               metadata={"i": i})
            assert added["results"][0]["event"] == "ADD"
    stored = memory.get_all(user_id=user)["results"]
    assert sorted(r["memory"] for r in stored) == sorted("user: " + text(user, i) for i in range(20))
    found = memory.search(f"what is the favourite city of {user}?", user_id=user, limit=5)
    clean(user, [r["memory"] for r in found["results"]] + [found["context"]])
    assert found["results"] and all(r["user_id"] == user for r in found["results"])
    report["users"][user] = {"stored": len(stored), "hits": len(found["results"])}
if PHASE == "reread":  # delete really deletes, and survives another restart
    victim = memory.get_all(user_id="bob")["results"][0]
    memory.delete(victim["id"])
    memory.close()
    memory = Mem0Memory(STORE)
    assert memory.get(victim["id"]) is None
    assert len(memory.get_all(user_id="bob")["results"]) == 19
    report["deleted"] = victim["id"]
memory.close()
print(json.dumps(report))
"""

LANGGRAPH = COMMON + """
import importlib
from typing import TypedDict
from langgraph.graph import END, START, StateGraph
from langgraph.store.base import BaseStore
HarnessStore = importlib.import_module(PKG + ".langgraph").HarnessStore

class State(TypedDict, total=False):
    user: str
    write: bool
    found: list

def remember(state: State, *, store: BaseStore) -> State:
    if state["write"]:
        for i in range(20):
            store.put(("memories", state["user"]), f"m{i}", {"content": text(state["user"], i)})
    return {}

def recall(state: State, *, store: BaseStore) -> State:
    hits = store.search(("memories", state["user"]),
                        query=f"what is the favourite city of {state['user']}?", limit=5)
    return {"found": [h.value["content"] for h in hits]}

builder = StateGraph(State)
builder.add_node("remember", remember)
builder.add_node("recall", recall)
builder.add_edge(START, "remember")
builder.add_edge("remember", "recall")
builder.add_edge("recall", END)
store = HarnessStore(STORE)
graph = builder.compile(store=store)
for user in USERS:
    out = graph.invoke({"user": user, "write": PHASE == "write"})
    clean(user, out["found"])
    assert out["found"]
    listed = store.search(("memories", user), limit=100)
    assert sorted(i.value["content"] for i in listed) == sorted(text(user, i) for i in range(20))
    assert store.get(("memories", user), "m3").value["content"] == text(user, 3)
    report["users"][user] = {"stored": len(listed), "hits": len(out["found"])}
assert store.list_namespaces(prefix=("memories",)) == [("memories", "alice"), ("memories", "bob")]
store.close()
print(json.dumps(report))
"""

MCP = COMMON + """
import asyncio, os
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

def payload(result):
    return json.loads(result.content[0].text)

async def session():
    params = StdioServerParameters(command=sys.executable,
                                   args=["-m", PKG + ".mcp", "--store", STORE],
                                   env=dict(os.environ))  # the SDK passes only a few by default
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as client:
            await client.initialize()
            tools = sorted(t.name for t in (await client.list_tools()).tools)
            assert {"add_memory", "search_memories", "list_memories", "delete_memory"} <= set(tools)
            report["tools"] = tools
            for user in USERS:
                if PHASE == "write":
                    for i in range(20):
                        await client.call_tool("add_memory", {"text": text(user, i),
                                                              "user_id": user})
                listed = payload(await client.call_tool("list_memories", {"user_id": user}))
                assert sorted(r["memory"] for r in listed["results"]) == sorted(
                    text(user, i) for i in range(20))
                found = payload(await client.call_tool(
                    "search_memories", {"query": f"what is the favourite city of {user}?",
                                        "user_id": user, "limit": 5}))
                clean(user, [r["memory"] for r in found["results"]] + [found["context"]])
                assert found["results"]
                report["users"][user] = {"stored": len(listed["results"]),
                                         "hits": len(found["results"])}

asyncio.run(session())
print(json.dumps(report))
"""

ROUNDTRIPS = {"mem0": MEM0, "langgraph": LANGGRAPH, "mcp": MCP}


def run_roundtrip(python: str, name: str, package: str, store: Path, phase: str,
                  env: dict[str, str]) -> dict:
    """One phase of one round trip in a fresh process; returns its report."""
    proc = subprocess.run([python, "-c", ROUNDTRIPS[name], package, phase, str(store)],
                          capture_output=True, text=True, env=env, cwd=store.parent,
                          timeout=600)
    assert proc.returncode == 0, f"{name} {phase}:\n{proc.stderr[-4000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def check_roundtrip(python: str, name: str, package: str, store: Path,
                    env: dict[str, str]) -> list[dict]:
    """Both phases; each user ends with 20 memories (19 for bob after the Mem0 delete)."""
    reports = [run_roundtrip(python, name, package, store, phase, env)
               for phase in ("write", "reread")]
    for report in reports:
        assert set(report["users"]) == set(USERS)
        for user in USERS:
            assert report["users"][user]["stored"] == 20 and report["users"][user]["hits"] > 0
    return reports


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory,
             quickstart_run_dir: Path) -> tuple[Path, str]:
    """The quickstart's best program exported (OUT, package name)."""
    run = quickstart_run_dir
    out = tmp_path_factory.mktemp("adapters") / "pkg"
    assert main(["export", str(run), "--best", "--out", str(out)]) == 0
    return out, next(out.glob("evolved_*/metadata.json")).parent.name


def _env(out: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(out)}


@pytest.mark.parametrize("name", sorted(ROUNDTRIPS))
def test_adapter_round_trip_two_users_and_a_restart(exported: tuple[Path, str], name: str,
                                                   tmp_path: Path) -> None:
    out, package = exported
    store = tmp_path / "memories.sqlite"
    reports = check_roundtrip(sys.executable, name, package, store, _env(out))
    if name == "mcp":
        assert "add_memory" in reports[0]["tools"]
    assert store.exists() and store.stat().st_size > 0


DOCS = Path(__file__).resolve().parents[2] / "docs" / "adapters"


def _python_blocks(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    return [block.split("\n", 1)[1] for block in text.split("```")[1::2]
            if block.startswith("python\n")]


@pytest.mark.parametrize("page", ["mem0.md", "langgraph.md", "mcp.md"])
def test_the_adapter_pages_examples_run(exported: tuple[Path, str], page: str,
                                        tmp_path: Path) -> None:
    out, package = exported
    blocks = _python_blocks(DOCS / page)
    assert blocks, f"docs/adapters/{page} has no python example"
    for block in blocks:
        code = block.replace("evolved_pkg", package)
        # the package is on PYTHONPATH here, not installed, and the MCP SDK starts the server
        # with a reduced environment: hand it ours (an installed package needs no env)
        code = code.replace("StdioServerParameters(command=sys.executable,",
                            "StdioServerParameters(env=dict(__import__('os').environ), "
                            "command=sys.executable,")
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              cwd=tmp_path, env=_env(out), timeout=300)
        assert proc.returncode == 0, f"{page}:\n{proc.stderr[-3000:]}"
        assert "Oslo" in proc.stdout or "alice" in proc.stdout or proc.stdout.strip()
