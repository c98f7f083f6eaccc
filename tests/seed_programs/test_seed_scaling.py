"""Seeds whose per-call cost no longer grows with the memory size keep their results.

Each efficiency fix of a seed (issue #18: full scans, copies of the whole history per call)
comes with two checks here: the seed's ``read()`` outputs on a fixed fixture are the ones the
program gave before the fix (a digest of every output, recorded with the old code), and an
operation count showing that the cost of a call is bounded by what it returns, not by what is
stored. The fixture is synthetic (numbered people, places and objects), written in-process
against a ``Toolkit`` with a deterministic hashing embedder and a deterministic toolkit LLM.
"""

from __future__ import annotations

import hashlib
import json
import re
import types
import zlib

import numpy as np
from evolve_sandbox.toolkit import Toolkit

from evolve.seeds import seed_source

PEOPLE = ("Ana", "Ben", "Caro", "Dev")
PLACES = ("Lisbon", "Oslo", "Denver", "Kyoto", "Lima")
THINGS = ("violin", "bicycle", "garden", "kayak", "camera", "piano")
_TOKEN = re.compile(r"[a-z0-9]+")


def sessions(count: int) -> list[str]:
    """``count`` dated sessions of two speakers; facts repeat and change so that updates,
    duplicates and new facts all occur."""
    out = []
    for k in range(count):
        a, b = PEOPLE[k % 4], PEOPLE[(k + 1) % 4]
        place, thing = PLACES[k % 5], THINGS[(k * 7) % 6]
        lines = [f"[10:{k % 60:02d} am on {1 + k % 28} May, 2023]",
                 f"{a}: I moved to {place} last week and I really like it there.",
                 f"{b}: I bought a {thing} number {k % 9} for my hobby this month.",
                 f"{a}: My friend {b} works as a {THINGS[k % 6]} teacher now.",
                 f"{b}: Nice, the weather is good today."]
        out.append("\n".join(lines))
    return out


def hash_embed(texts: list[str]) -> list[list[float]]:
    rows = np.zeros((len(texts), 64), dtype=np.float32)
    for r, text in enumerate(texts):
        for word in _TOKEN.findall(str(text).lower()):
            h = zlib.crc32(word.encode())
            rows[r, h % 64] += 1.0 if (h >> 8) & 1 else -1.0
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return (rows / np.where(norms > 0, norms, 1.0)).tolist()


def decide(messages: list[dict], options: dict) -> str:
    """Deterministic toolkit LLM: UPDATE the first known memory with the first new fact when
    the prompt holds an odd number of known memories, otherwise reply with no operations."""
    known = re.findall(r"^\[(m\d+)\]", messages[-1]["content"], re.MULTILINE)
    if len(known) % 2:
        return json.dumps({"operations": [{"fact": "n0", "event": "UPDATE", "id": known[0]}]})
    return json.dumps({"operations": []})


def load(source: str, name: str) -> types.ModuleType:
    module = types.ModuleType(f"seed_{name}")
    exec(compile(source, name, "exec", dont_inherit=True), module.__dict__)  # noqa: S102
    return module


def facts_of(text: str) -> list[str]:
    """Facts of a session: two about the same person and place (so that both can replace one
    stored fact in a single write) and one about an object."""
    a, place = re.search(r"^(\w+): I moved to (\w+)", text, re.MULTILINE).groups()
    b, thing = re.search(r"^(\w+): I bought a (\w+)", text, re.MULTILINE).groups()
    return [f"{a} lives in {place} now", f"{a} lives in {place} with a friend",
            f"{b} owns a {thing} now"]


def read_digest(name: str, count: int = 40) -> str:
    """sha256 of every read() output of seed ``name`` after each of ``count`` writes."""
    module = load(seed_source(name), name)
    kb = module.KnowledgeBase(Toolkit(hash_embed, decide, lambda level, msg: None))
    digest = hashlib.sha256()
    fields = {f for f in module.KnowledgeItem.__dataclass_fields__}
    for k, text in enumerate(sessions(count)):
        item = module.KnowledgeItem(**({"facts": facts_of(text)} if "facts" in fields else {}))
        kb.write(item, text)
        for question in (f"Where does {PEOPLE[k % 4]} live?", f"Who bought a {THINGS[k % 6]}?"):
            query_fields = module.Query.__dataclass_fields__
            values = {"question": question}
            if "keywords" in query_fields:
                values["keywords"] = [w for w in question.rstrip("?").split() if w[0].isupper()]
            digest.update(kb.read(module.Query(**values)).encode() + b"\0")
    return digest.hexdigest()


# -- full_context ------------------------------------------------------------------------------

class CountingList(list):
    """A list that counts the elements handed out by iteration (forward or reversed)."""

    touched = 0

    def __iter__(self):
        for value in super().__iter__():
            self.touched += 1
            yield value

    def __reversed__(self):
        for value in super().__reversed__():
            self.touched += 1
            yield value


FULL_CONTEXT_DIGEST = "74a198f0aaeadc0f1eba90babade678f3a6ada885d708d3b6ad26a0a46c9b5e5"


def test_full_context_reads_are_unchanged():
    # recorded with the program before the fix (it copied the whole history on every read)
    assert read_digest("full_context") == FULL_CONTEXT_DIGEST


def test_full_context_read_touches_only_the_episodes_it_shows():
    module = load(seed_source("full_context"), "full_context")
    kb = module.KnowledgeBase(Toolkit(hash_embed, decide, lambda level, msg: None))
    for text in sessions(500):
        kb.write(module.KnowledgeItem(), text)
    kb.episodes = CountingList(kb.episodes)
    out = kb.read(module.Query(question="anything"))
    shown = out.count("\n\n") + 1
    # the episodes shown plus the first that did not fit; the old code copied all 500
    assert 1 < shown and kb.episodes.touched == shown + 1


# -- mem0_facts --------------------------------------------------------------------------------

MEM0_DIGEST = "a2e322f5e0a4dbb7b4d6284b6de0ef3e71a0d96b0200cd4c7a98934894bcb62d"


def test_mem0_reads_are_unchanged():
    # recorded with the program before the fix (replaced facts were kept, flagged inactive);
    # the fixture updates facts (reads show "earlier: ..."), by rule and by the toolkit LLM
    assert read_digest("mem0_facts") == MEM0_DIGEST


def test_mem0_two_candidates_replacing_one_fact_both_keep_its_history():
    def both_update(messages, options):
        known = re.findall(r"^\[(m\d+)\]", messages[-1]["content"], re.MULTILINE)
        return json.dumps({"operations": [{"fact": f"n{i}", "event": "UPDATE", "id": known[0]}
                                          for i in range(2)]})

    module = load(seed_source("mem0_facts"), "mem0_facts")
    kb = module.KnowledgeBase(Toolkit(hash_embed, both_update, lambda level, msg: None))
    kb.write(module.KnowledgeItem(facts=["Ben works as a nurse"]), "[1 May, 2023]\nBen: hi")
    kb.write(module.KnowledgeItem(facts=["Ben works as a teacher now",
                                         "Ben works as a teacher today"]), "[2 May, 2023]\nBen: hi")
    out = kb.read(module.Query(question="What is Ben's job?", keywords=["Ben"]))
    assert out.count("(earlier: Ben works as a nurse (1 May 2023))") == 2
    assert "- [2 May 2023] Ben works as a nurse" not in out and kb.facts.count() == 2


def test_mem0_neighbour_queries_score_only_current_facts(monkeypatch):
    from evolve_sandbox import chroma_matrix

    scored: list[int] = []
    fast = chroma_matrix._fast_distances

    def counting(space, queries, rows, norms):
        scored.append(int(rows.shape[0]))
        return fast(space, queries, rows, norms)

    monkeypatch.setattr(chroma_matrix, "_fast_distances", counting)
    module = load(seed_source("mem0_facts"), "mem0_facts")
    kb = module.KnowledgeBase(Toolkit(hash_embed, decide, lambda level, msg: None))
    texts = sessions(40)
    for text in texts[:-1]:
        kb.write(module.KnowledgeItem(facts=facts_of(text)), text)
    current = len(kb.facts.get(where={"active": True})["ids"])
    scored.clear()
    kb.write(module.KnowledgeItem(facts=facts_of(texts[-1])), texts[-1])
    # One neighbour query, over the current facts and at most as many removed ones awaiting
    # compaction; the old program scored every fact ever stored (91 rows for 20 current).
    assert len(scored) == 1 and scored[0] <= 2 * current
    assert kb.facts.count() == len(kb.facts.get(where={"active": True})["ids"])
