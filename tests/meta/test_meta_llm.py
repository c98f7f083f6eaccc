"""LLMMetaAgent end to end over real HTTP against the fake OpenAI-compatible server."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path
from typing import Any

import evolve_seeds
import pytest
from fakes.openai_server import FakeOpenAIServer

from evolve.errors import EndpointError
from evolve.llm.cache import ResponseCache
from evolve.llm.hub import ModelHub
from evolve.llm.openai_chat import OpenAIChatModel, RetryPolicy
from evolve.meta.base import LineageEntry, MetaAgent, ProgramSnapshot, ReflectionContext
from evolve.meta.llm_agent import LLMMetaAgent
from evolve.program.static_gate import static_gate

PARENT = (Path(evolve_seeds.__file__).parent / "vector_search.py").read_text()
LONG_RETRIEVED = "HEADMARK " + "a" * 2500 + " MIDDLEMARK " + "z" * 2500 + " TAILMARK"

GOOD_PATCH = """DIAGNOSIS:
Failed case 1 needs more chunks: the gold date sits in the sixth chunk.

COMMIT MESSAGE: Return 8 chunks instead of 5 so dates further down are kept

```
<<<<<<< SEARCH
TOP_K = 5  # chunks returned per read
=======
TOP_K = 8  # chunks returned per read
>>>>>>> REPLACE
```
"""
BROKEN_PATCH = """COMMIT MESSAGE: keep more chunks

<<<<<<< SEARCH
TOP_K = 50  # this line is not in the program
=======
TOP_K = 8
>>>>>>> REPLACE
"""
FULL_PROGRAM = PARENT.replace("TOP_K = 5", "TOP_K = 7")
FULL_REPLY = f"COMMIT MESSAGE: Return 7 chunks\n\nPROGRAM:\n```python\n{FULL_PROGRAM}```\n"


def trace(question: str, score: float, retrieved: str = "short memory") -> dict[str, Any]:
    return {
        "item_id": question[:8], "group_id": "conv-1", "category": "2", "question": question,
        "gold": "7 May 2023", "query": {"question": question, "keywords": ["Alice", "dog"]},
        "query_reply": "", "retrieved": retrieved, "answer": "not mentioned", "score": score,
        "rationale": "token F1", "error": None,
        "prompts": {"query": [{"role": "system", "content": "sys"},
                              {"role": "user", "content": "QUERY-STEP PROMPT " + question}]},
    }


def make_context(**overrides: Any) -> ReflectionContext:
    base = dict(
        parent=ProgramSnapshot("p" * 64, PARENT, 0.412, {"1": 0.3, "2": 0.25},
                               "seed: vector search"),
        lineage=(LineageEntry("a" * 64, "ancestor", 0.30, None, "seed"),
                 LineageEntry("p" * 64, "parent", 0.412, 0.112, "add date headers"),
                 LineageEntry("c" * 64, "child", 0.350, -0.062, "cut chunks to 200 chars", True)),
        failed_cases=(trace("When did Alice adopt her dog?", 0.0, LONG_RETRIEVED),
                      trace("Who is Bob's sister?", 0.2)),
        success_cases=(trace("Where does Alice work?", 1.0),),
        write_example={"raw_text": "[1:56 pm on 8 May, 2023]\nAlice: I adopted Rex yesterday!",
                       "item": {"summary": "Alice adopted a dog named Rex"}},
        category_names={"1": "multi-hop", "2": "temporal"},
        iteration=4, seed=11,
    )
    base.update(overrides)
    return ReflectionContext(**base)


def scripted(*replies: str) -> Callable[[dict[str, Any]], str]:
    """A responder returning ``replies`` in order (the last one repeats)."""
    queue = list(replies)

    def respond(_request: dict[str, Any]) -> str:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return respond


def make_agent(server: FakeOpenAIServer, *, cache: ResponseCache | None = None,
               model: str = "fake-chat", **kwargs: Any) -> LLMMetaAgent:
    chat = OpenAIChatModel(model, base_url=server.url, api_key="k", timeout=5.0,
                           retry=RetryPolicy(max_retries=0))
    return LLMMetaAgent(ModelHub({"reflector": chat, "task": chat}, cache=cache), **kwargs)


def user_prompts(server: FakeOpenAIServer) -> list[list[dict[str, str]]]:
    return [r["json"]["messages"] for r in server.requests if r["path"] == "/chat/completions"]


def test_good_patch_gives_a_gated_child_and_prompt_has_every_section():
    with FakeOpenAIServer(responder=scripted(GOOD_PATCH)) as server:
        agent = make_agent(server)
        assert isinstance(agent, MetaAgent) and agent.name == "llm"
        proposal = agent.propose(make_context())
        sent = user_prompts(server)
    assert proposal.error is None
    assert proposal.mutator == "llm-patch" and proposal.origin == "mutation"
    assert proposal.commit_message == "Return 8 chunks instead of 5 so dates further down are kept"
    assert "TOP_K = 8  # chunks returned per read" in proposal.source
    assert static_gate(proposal.source) is None
    assert proposal.raw_reply == GOOD_PATCH
    assert len(sent) == 1
    prompt = sent[0][-1]["content"]
    # interface, rules, program, scores with category names
    assert "toolkit.llm_completion" in prompt and "toolkit.chroma" in prompt
    assert "at most 3000 characters" in prompt and "numpy" in prompt
    assert "class KnowledgeBase" in prompt and "TOP_K = 5" in prompt
    assert "Validation score: 0.412" in prompt
    assert "category 2 (temporal): 0.250" in prompt and "category 1 (multi-hop)" in prompt
    # lineage with deltas, commit messages and the REGRESSION mark on the bad child only
    lineage_lines = [line for line in prompt.split("\n") if line.startswith(("ancestor", "parent",
                                                                            "child"))]
    assert len(lineage_lines) == 3
    assert "REGRESSION" in lineage_lines[2] and "delta -0.062" in lineage_lines[2]
    assert '"cut chunks to 200 chars"' in lineage_lines[2]
    assert "REGRESSION" not in lineage_lines[1] and "delta +0.112" in lineage_lines[1]
    # failed cases: full traces, long texts cut head-and-tail
    assert prompt.count("### Failed case") == 2 and prompt.count("### Success case") == 1
    assert "HEADMARK" in prompt and "TAILMARK" in prompt and "MIDDLEMARK" not in prompt
    assert "characters cut ...]" in prompt
    assert "Gold answer: 7 May 2023" in prompt and '"keywords": ["Alice", "dog"]' in prompt
    assert "QUERY-STEP PROMPT" in prompt
    # write example and the answer format
    assert "Alice: I adopted Rex yesterday!" in prompt and "Alice adopted a dog named Rex" in prompt
    assert "COMMIT MESSAGE:" in prompt and "<<<<<<< SEARCH" in prompt


def test_auto_mode_falls_back_to_full_program_when_patch_does_not_apply():
    with FakeOpenAIServer(responder=scripted(BROKEN_PATCH, FULL_REPLY)) as server:
        proposal = make_agent(server, mode="auto").propose(make_context())
        sent = user_prompts(server)
    assert proposal.error is None
    assert proposal.mutator == "llm-full"
    assert proposal.source == FULL_PROGRAM
    assert proposal.commit_message == "Return 7 chunks"
    assert len(sent) == 2
    follow = sent[1]
    assert follow[-2] == {"role": "assistant", "content": BROKEN_PATCH}
    assert "could not be used" in follow[-1]["content"]
    assert "hunk 1 of 1 does not match" in follow[-1]["content"]
    assert "```python" in follow[-1]["content"]  # asks for the complete program


def test_patch_mode_asks_again_for_a_patch():
    with FakeOpenAIServer(responder=scripted(BROKEN_PATCH, GOOD_PATCH)) as server:
        proposal = make_agent(server, mode="patch").propose(make_context())
        sent = user_prompts(server)
    assert proposal.mutator == "llm-patch"
    assert "TOP_K = 8" in proposal.source
    assert "Send the patch again" in sent[1][-1]["content"]


def test_full_mode_asks_for_a_program():
    with FakeOpenAIServer(responder=scripted(FULL_REPLY)) as server:
        proposal = make_agent(server, mode="full").propose(make_context())
        prompt = user_prompts(server)[0][-1]["content"]
    assert proposal.source == FULL_PROGRAM and proposal.mutator == "llm-full"
    assert "PROGRAM:\n```python" in prompt and "<<<<<<< SEARCH" not in prompt


def test_garbage_reply_gives_no_source_and_an_error():
    with FakeOpenAIServer(responder=scripted("I'm sorry, I can't do that.")) as server:
        proposal = make_agent(server).propose(make_context())
        assert server.counts["/chat/completions"] == 2  # one follow-up, then give up
    assert proposal.source is None
    assert "neither SEARCH/REPLACE blocks nor" in proposal.error
    assert "after asking again" in proposal.error
    assert "I'm sorry" in proposal.raw_reply


def test_unchanged_child_is_refused():
    noop = "COMMIT MESSAGE: nothing\n<<<<<<< SEARCH\nTOP_K = 5  # chunks returned per read\n" \
           "=======\nTOP_K = 5  # chunks returned per read (same)\n>>>>>>> REPLACE\n"
    with FakeOpenAIServer(responder=scripted(noop)) as server:
        proposal = make_agent(server).propose(make_context())
    assert proposal.source is None and proposal.error == "no change"


def test_freeze_instructions_is_enforced_on_the_child():
    reply = GOOD_PATCH.replace(
        "TOP_K = 8  # chunks returned per read\n",
        'TOP_K = 8  # chunks returned per read\n>>>>>>> REPLACE\n<<<<<<< SEARCH\n'
        'ALWAYS_ON_KNOWLEDGE = ""\n=======\nALWAYS_ON_KNOWLEDGE = "Be brief."\n')
    with FakeOpenAIServer(responder=scripted(reply)) as server:
        free = make_agent(server).propose(make_context())
        frozen = make_agent(server).propose(make_context(freeze_instructions=True))
        prompt = user_prompts(server)[-1][-1]["content"]
    assert 'ALWAYS_ON_KNOWLEDGE = "Be brief."' in free.source
    assert 'ALWAYS_ON_KNOWLEDGE = ""' in frozen.source and "TOP_K = 8" in frozen.source
    assert "FROZEN" in prompt


def test_fix_returns_the_corrected_program():
    broken = PARENT.replace("def read(self, query: Query) -> str:", "def read(self, query: Query) -> str")
    stage, message = "parse", "line 121: expected ':'"
    with FakeOpenAIServer(responder=scripted(FULL_REPLY)) as server:
        proposal = make_agent(server).fix(make_context(), broken, stage, message, attempt=1)
        prompt = user_prompts(server)[0][-1]["content"]
    assert proposal.source == FULL_PROGRAM and ast.parse(proposal.source)
    assert proposal.mutator == "llm-fix" and proposal.error is None
    assert "Gate: parse" in prompt and "line 121: expected ':'" in prompt
    assert "def read(self, query: Query) -> str\n" in prompt  # the failing program is shown
    assert "fix round 1 of 3" in prompt


def test_fix_with_garbage_and_repair_with_a_program():
    with FakeOpenAIServer(responder=scripted("no idea")) as server:
        failed = make_agent(server).fix(make_context(), PARENT + "\n(", "parse", "eof", 2)
    assert failed.source is None and failed.error
    violation = "read() returned 5120 characters (cap 3000)"
    with FakeOpenAIServer(responder=scripted(FULL_REPLY)) as server:
        repaired = make_agent(server).repair(make_context(), PARENT.replace("MAX_CHARS = 3000",
                                                                           "MAX_CHARS = 9000"),
                                             violation)
        prompt = user_prompts(server)[0][-1]["content"]
    assert repaired.origin == "repair" and repaired.source == FULL_PROGRAM
    assert violation in prompt and "read cap" in prompt


def test_cache_replays_same_step_and_salt_separates_seeds():
    counter = {"n": 0}

    def respond(_request: dict[str, Any]) -> str:
        counter["n"] += 1
        return GOOD_PATCH.replace("TOP_K = 8", f"TOP_K = {10 + counter['n']}")

    with FakeOpenAIServer(responder=respond) as server:
        agent = make_agent(server, cache=ResponseCache(None))
        first = agent.propose(make_context())
        again = agent.propose(make_context())
        other_seed = agent.propose(make_context(seed=12))
        calls = server.counts["/chat/completions"]
    assert first.source == again.source  # same context, same child (served from the cache)
    assert other_seed.source != first.source
    assert calls == 2


def test_endpoint_errors_propagate():
    with FakeOpenAIServer() as server:
        agent = make_agent(server, model="no-such-model")
        with pytest.raises(EndpointError):
            agent.propose(make_context())


def test_bad_mode_is_rejected():
    with pytest.raises(ValueError):
        LLMMetaAgent(hub=None, mode="diff")  # type: ignore[arg-type]


def test_reply_with_both_kinds_uses_the_kind_asked_for_and_fills_commit_message():
    both = (BROKEN_PATCH.replace("COMMIT MESSAGE: keep more chunks\n", "")
            + f"\n```python\n{FULL_PROGRAM}```\n")
    with FakeOpenAIServer(responder=scripted(both)) as server:
        full = make_agent(server, mode="full").propose(make_context())
        assert server.counts["/chat/completions"] == 1
    assert full.source == FULL_PROGRAM and full.mutator == "llm-full"
    assert full.commit_message == "LLM mutation"  # no commit message, no diagnosis
    with FakeOpenAIServer(responder=scripted(both)) as server:
        auto = make_agent(server, mode="auto").propose(make_context())
        assert server.counts["/chat/completions"] == 1  # the patch failed, the program is used
    assert auto.source == FULL_PROGRAM


def test_crossover_context_shows_the_second_parent():
    other = ProgramSnapshot("o" * 64, PARENT.replace("CHUNK_CHARS = 500", "CHUNK_CHARS = 321"),
                            0.5, {"2": 0.6})
    with FakeOpenAIServer(responder=scripted(GOOD_PATCH)) as server:
        proposal = make_agent(server).propose(make_context(other=other))
        prompt = user_prompts(server)[0][-1]["content"]
    assert proposal.origin == "crossover" and proposal.source is not None
    assert "Second parent (oooooooooooo)" in prompt and "CHUNK_CHARS = 321" in prompt
