"""The reflector's prompts fit its context window: trimmed in the documented order, the reply
cap lowered only as far as the answer still fits, refused before sending otherwise."""

from __future__ import annotations

import pytest
from fakes.llamacpp import LlamaCpp
from fakes.openai_server import FakeOpenAIServer
from test_meta_llm import GOOD_PATCH, LONG_RETRIEVED, PARENT, make_context, trace

from evolve.errors import PromptTooLong
from evolve.llm.hub import ModelHub
from evolve.llm.limits import RoleLimits, estimate_tokens
from evolve.llm.openai_chat import OpenAIChatModel, RetryPolicy
from evolve.meta.base import LineageEntry
from evolve.meta.context_render import trim_lineage
from evolve.meta.guard import EndpointGuard
from evolve.meta.llm_agent import LLMMetaAgent
from evolve.meta.prompt_fit import FIX_LADDER, REFLECT_LADDER


def big_context(**overrides):
    """vector_search as parent, three long failed cases, a long lineage and write example."""
    lineage = (tuple(LineageEntry(f"a{i:063d}", "ancestor", 0.3, 0.01, "an older change " * 8)
                     for i in range(4))
               + (LineageEntry("p" * 64, "parent", 0.412, 0.1, "add date headers"),)
               + tuple(LineageEntry(f"c{i:063d}", "child", 0.3, -0.1, "tried this " * 12, True)
                       for i in range(8)))
    base = dict(failed_cases=tuple(trace(f"Q{i}: when did Alice adopt her dog?", 0.0,
                                         LONG_RETRIEVED) for i in range(3)),
                lineage=lineage,
                write_example={"raw_text": "R" * 3000, "item": {"summary": "S" * 1500}})
    base.update(overrides)
    return make_context(**base)


def agent_for(server: FakeOpenAIServer, window: int = 0, **kwargs) -> LLMMetaAgent:
    chat = OpenAIChatModel("local", base_url=server.url, api_key="k", timeout=10.0,
                           retry=RetryPolicy(max_retries=0), context_window=window)
    return LLMMetaAgent(ModelHub({"reflector": chat, "task": chat},
                                 limits=RoleLimits(context_window=window)), **kwargs)


def sent(server: FakeOpenAIServer) -> list[dict]:
    return [r["json"] for r in server.requests if r["path"] == "/chat/completions"]


def user_text(request: dict) -> str:
    return request["messages"][-1]["content"]


@pytest.fixture
def llama():
    with FakeOpenAIServer(llamacpp=LlamaCpp(n_ctx=8192, runaway=False),
                          responder=lambda r: GOOD_PATCH) as server:
        yield server


def test_unknown_window_sends_the_prompt_as_configured(llama):
    agent = agent_for(llama)
    context = big_context()
    proposal = agent.propose(context)
    assert proposal.source is not None
    (request,) = sent(llama)
    assert request["messages"] == agent.reflect_messages(context)
    assert request["max_tokens"] == 4096


def test_an_8k_window_gets_a_prompt_that_fits_with_its_reply_cap(llama):
    """Old code sent the ~10k-token prompt to an 8192-token server: HTTP 400."""
    agent = agent_for(llama, window=8192)
    proposal = agent.propose(big_context())
    assert proposal.source is not None and proposal.error is None
    (request,) = sent(llama)
    assert estimate_tokens(request["messages"]) + request["max_tokens"] <= 8192
    assert llama.llamacpp.stats["rejected"] == 0
    text = user_text(request)
    # everything trimmed (vector_search does not fit 4096 prompt tokens even then), the
    # parent's source kept whole, and the reply cap lowered but still room for a patch
    assert "toolkit offers:" in text and "Required top-level names" not in text
    assert PARENT.strip() in text
    assert 1024 <= request["max_tokens"] < 4096


def test_trimming_follows_the_stated_order(llama):
    agent = agent_for(llama)
    context = big_context()
    sizes = [estimate_tokens(agent.reflect_messages(context, step)) for step in REFLECT_LADDER]
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == len(sizes)
    texts = [user_text({"messages": agent.reflect_messages(context, step)})
             for step in REFLECT_LADDER]
    no_success, one_failed, short_traces, shortest, lineage6, lineage3, short_if = texts[1:]
    assert "Success case 1" in texts[0] and "Success case 1" not in no_success
    assert "Failed case 3" in no_success and "Failed case 2" not in one_failed
    assert "MIDDLEMARK" not in short_traces and "QUERY-STEP PROMPT" in short_traces
    assert "QUERY-STEP PROMPT" not in shortest
    assert "earlier children cut" in lineage6 and "earlier children cut" not in shortest
    assert lineage3.count("REGRESSION") < lineage6.count("REGRESSION")
    assert "Required top-level names" in lineage3 and "Required top-level names" not in short_if
    # a window just big enough for step 3 ("one failed case") stops there
    budget = sizes[2]
    with FakeOpenAIServer(llamacpp=LlamaCpp(n_ctx=budget + 4096, runaway=False),
                          responder=lambda r: GOOD_PATCH) as server:
        agent_for(server, window=budget + 4096).propose(context)
        (request,) = sent(server)
        assert request["messages"] == agent.reflect_messages(context, REFLECT_LADDER[2])
        assert request["max_tokens"] == 4096


def test_a_prompt_that_cannot_fit_is_never_sent_and_the_proposal_fails(llama):
    agent = agent_for(llama, window=5000, mode="full")  # the program alone needs ~3.6k
    with pytest.raises(PromptTooLong, match="does not fit the reflector's context window"):
        agent.propose(big_context())
    assert sent(llama) == []
    proposal = EndpointGuard(agent).propose(big_context())
    assert proposal.source is None and "PromptTooLong" in proposal.error
    assert "trimmed down to: short interface spec" in proposal.error


def test_asking_again_fits_the_window_too():
    """A long unusable first reply is cut head-and-tail in the follow-up conversation, and
    the reply cap lowered as far as a patch still fits."""
    junk = "I think " * 1200  # ~3200 estimated tokens, no patch and no program
    replies = iter([junk, GOOD_PATCH])
    with FakeOpenAIServer(llamacpp=LlamaCpp(n_ctx=8192, runaway=False),
                          responder=lambda r: next(replies)) as server:
        proposal = agent_for(server, window=8192, mode="patch").propose(big_context())
        first, retry = sent(server)
    assert proposal.source is not None
    assert 1024 <= retry["max_tokens"] <= first["max_tokens"]
    assert estimate_tokens(retry["messages"]) + retry["max_tokens"] <= 8192
    assert "characters cut" in retry["messages"][-2]["content"]
    # "auto" asks again for the whole program, which cannot fit: a clear failure, not a 400
    with FakeOpenAIServer(llamacpp=LlamaCpp(n_ctx=8192, runaway=False),
                          responder=lambda r: junk) as server:
        proposal = agent_for(server, window=8192, mode="auto").propose(big_context())
        assert len(sent(server)) == 1 and server.llamacpp.stats["rejected"] == 0
    assert proposal.source is None and "not asked again: no room left" in proposal.error


def test_fix_prompt_falls_back_to_the_short_interface(llama):
    agent = agent_for(llama)
    full = estimate_tokens(agent.fix_messages(PARENT, "parse", "bad", 1))
    short = estimate_tokens(agent.fix_messages(PARENT, "parse", "bad", 1, FIX_LADDER[1]))
    window = short + 4096
    assert full > short
    with FakeOpenAIServer(llamacpp=LlamaCpp(n_ctx=window, runaway=False),
                          responder=lambda r: f"PROGRAM:\n```python\n{PARENT}```\n") as server:
        agent_for(server, window=window).fix(make_context(), PARENT, "parse", "bad", 1)
        (request,) = sent(server)
    assert "toolkit offers:" in user_text(request) and request["max_tokens"] == 4096


def test_lineage_trim_keeps_the_parent_and_the_newest_children():
    entries = big_context().lineage
    kept = trim_lineage(entries, 6)
    names = [e if isinstance(e, str) else e.relation for e in kept]
    assert names.count("parent") == 1 and len([n for n in names if n in
                                                ("ancestor", "parent", "child")]) == 6
    assert kept[-1] == entries[-1]  # the newest child
    assert any(isinstance(e, str) and "earlier children cut" in e for e in kept)
    assert trim_lineage(entries, None) == list(entries)
