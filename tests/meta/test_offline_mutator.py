"""The offline meta-agent: design space and rendering, seeds as renderings, moves, diagnosis,
move choice (diagnosis, lineage, determinism, freeze switches), crossover, non-template
parents, fix/repair, and a short improvement run on dialog-synth tiny.

Rendered programs run in-process against the sandbox ``Toolkit`` with a hashing embedder and a
toolkit LLM that counts its calls; the improvement run goes through ``evaluate_program``.
"""

from __future__ import annotations

import hashlib
import random
import re
import types
import zlib

import numpy as np
import pytest
from evolve_sandbox.toolkit import Toolkit

from evolve.meta.base import LineageEntry, MetaAgent, ProgramSnapshot, ReflectionContext
from evolve.meta.offline import design as D
from evolve.meta.offline.diagnosis import diagnose
from evolve.meta.offline.knobs import nearest_design, read_knobs
from evolve.meta.offline.moves import MOVES, MOVES_BY_NAME, applicable
from evolve.meta.offline.mutator import OfflineMutator, tried_moves, without_effect
from evolve.meta.offline.seed_render import main as seed_render_main
from evolve.meta.offline.seed_render import stale_seeds
from evolve.meta.offline.wording import instructions
from evolve.program.static_gate import static_gate
from evolve.seeds import seed_source

# -- in-process harness -----------------------------------------------------------------------
_TOKEN = re.compile(r"[a-z0-9]+")


def hash_embed(texts: list[str]) -> list[list[float]]:
    rows = np.zeros((len(texts), 64), dtype=np.float32)
    for r, text in enumerate(texts):
        for word in _TOKEN.findall(str(text).lower()):
            h = zlib.crc32(word[:5].encode())
            rows[r, h % 64] += 1.0 if (h >> 8) & 1 else -1.0
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return (rows / np.where(norms > 0, norms, 1.0)).tolist()


class CountingLLM:
    def __init__(self, fail: bool = False) -> None:
        self.calls = 0
        self.fail = fail

    def __call__(self, messages: list[dict], options: dict) -> str:
        self.calls += 1
        if self.fail:
            raise RuntimeError("toolkit model down")
        return "Summary: Ana adopted a dog named Biscuit."


SESSIONS = [
    "[1:56 pm on 8 May, 2023]\nBen: Hey! How are you?\nAna: I adopted a dog named Biscuit "
    "last Saturday!\nBen: Wow, congratulations!\nAna: I live in Lisbon these days.",
    "[10:02 am on 15 May, 2023]\nBen: I work as a nurse at the hospital.\nAna: Coffee keeps "
    "me going.\nBen: My sister Maya lives in Porto.",
    "[4:50 pm on 6 August, 2023]\nAna: Big news: I moved to Oslo yesterday!\nBen: No way, "
    "that's wonderful.\nBen: Guess what, I got hired as a teacher two weeks ago.",
]
FACTS = [[ln.split(": ", 1)[0] + ": " + ln.split(": ", 1)[1] for ln in s.splitlines()[1:]]
         for s in SESSIONS]


def load(source: str) -> types.ModuleType:
    module = types.ModuleType("program")
    exec(compile(source, "program", "exec", dont_inherit=True), module.__dict__)  # noqa: S102
    return module


def fill(cls: type, index: int) -> object:
    values = {}
    for name, f in cls.__dataclass_fields__.items():
        values[name] = FACTS[index] if "list" in str(f.type) else FACTS[index][0]
    return cls(**values)


def query(module: types.ModuleType, question: str) -> object:
    values = {}
    for name, f in module.Query.__dataclass_fields__.items():
        words = [w for w in re.findall(r"[A-Za-z]+", question) if len(w) > 2]
        values[name] = words if "list" in str(f.type) else question
    return module.Query(**values)


def exercise(source: str, fail: bool = False) -> list[str]:
    """Write the sessions, read three questions; check read size and LLM budgets."""
    module = load(source)
    llm = CountingLLM(fail)
    kb = module.KnowledgeBase(Toolkit(hash_embed, llm, lambda level, msg: None))
    for index, text in enumerate([*SESSIONS, ""]):
        llm.calls = 0
        kb.write(fill(module.KnowledgeItem, index % len(FACTS)), text)
        assert llm.calls <= module.TOOLKIT_LLM_CALLS["write"] == 0
    outs = []
    for question in ("What is the name of Ana's dog?", "Where does Ana live now?", ""):
        llm.calls = 0
        out = kb.read(query(module, question))
        assert isinstance(out, str) and len(out) <= 3000
        assert llm.calls <= module.TOOLKIT_LLM_CALLS["read"] <= 1
        outs.append(out)
    return outs


def context(source: str, *, seed: int = 0, failed=(), lineage=(), per_category=None,
            other: ProgramSnapshot | None = None, **flags) -> ReflectionContext:
    pid = hashlib.sha256(source.encode()).hexdigest()
    parent = ProgramSnapshot(pid, source, 0.7, per_category or {}, "parent")
    return ReflectionContext(parent=parent, lineage=tuple(lineage), failed_cases=tuple(failed),
                             category_names={"1": "multi-hop", "2": "temporal",
                                             "3": "knowledge-update", "4": "single-hop",
                                             "5": "adversarial"},
                             seed=seed, other=other, **flags)


def trace(question: str, gold: str, retrieved: str, answer: str, category: str = "4",
          score: float = 0.0) -> dict:
    return {"item_id": question[:20], "question": question, "gold": gold, "answer": answer,
            "retrieved": retrieved, "category": category, "score": score,
            "query": {"question": question, "keywords": []}}


SMALL_TALK = "\n".join(f"Ben: The weather has been strange again, day {i}." for i in range(80))
TRUNCATING = trace("What does Ana do for a living?", "nurse", SMALL_TALK[:2950], "not mentioned")
STALE = trace("Where does Ana live now?", "Oslo",
              "[8 May 2023] Ana: I live in Lisbon.\n[6 August 2023] Ana: I moved to Oslo.",
              "Lisbon", category="3")


# -- design space ------------------------------------------------------------------------------
def test_validate_fills_defaults_and_rejects_bad_designs():
    assert D.validate({}) == D.normalise(D.DEFAULT_DESIGN)
    with pytest.raises(D.DesignError, match="unknown design key 'colour'"):
        D.validate({"colour": "red"})
    with pytest.raises(D.DesignError, match="top_k"):
        D.validate({"top_k": 0})
    with pytest.raises(D.DesignError, match="index"):
        D.validate({"index": "magic"})
    with pytest.raises(D.DesignError, match="lessons"):
        D.validate({"lessons": "yes"})
    # combinations the code cannot honour are normalised, not silently mis-rendered
    assert D.validate({"unit": "chunk", "update": "newest_wins"})["update"] == "none"
    assert D.validate({"index": "none", "fill_budget": False})["fill_budget"] is True


def test_render_parse_round_trip_and_docstring():
    rng = random.Random(7)
    for _ in range(12):
        design = D.validate({k: (rng.random() < 0.5 if p.kind == "bool" else
                                 rng.choice(p.choices) if p.kind == "choice" else
                                 rng.choice(p.ladder)) for k, p in D.SPACE.items()})
        source = D.render(design)
        assert D.parse_design(source) == design and D.is_rendered(source)
        assert re.search(r"^DESIGN = \{$", source, re.M)
        first = source.split('"""')[1].splitlines()[0]
        assert first.endswith(".") and len(first) < 120
        assert "Toolkit LLM calls: 0 per write, " in source
        knobs = {k.name: k.value for k in read_knobs(source)}
        assert knobs["MAX_CHARS"] == design["max_chars"] and knobs["DATE_PREFIX"] is \
            design["date_prefix"] and knobs["LAYOUT"] == design["layout"]
    edited = D.render(D.SEED_DESIGNS["vector_search"]).replace("TOP_K = 5", "TOP_K = 7")
    assert D.parse_design(edited) is not None and not D.is_rendered(edited)
    assert D.parse_design("x = 1") is None and D.parse_design("def (") is None
    assert D.parse_design("DESIGN = {'top_k': -3}") is None


def test_random_designs_pass_gates_and_limits():
    rng = random.Random(11)
    for _ in range(25):
        design = D.validate({k: (rng.random() < 0.5 if p.kind == "bool" else
                                 rng.choice(p.choices) if p.kind == "choice" else
                                 rng.choice(p.ladder)) for k, p in D.SPACE.items()})
        source = D.render(design)
        assert static_gate(source) is None, design
        exercise(source, fail=design["summarize"])


def build(design: dict) -> tuple[types.ModuleType, object]:
    module = load(D.render(design))
    kb = module.KnowledgeBase(Toolkit(hash_embed, CountingLLM(), lambda level, msg: None))
    for index, text in enumerate(SESSIONS):
        kb.write(fill(module.KnowledgeItem, index), text)
    return module, kb


def test_structural_options_behave():
    facts = {**D.DEFAULT_DESIGN, "unit": "fact", "index": "lexical", "top_k": 1}
    module, kb = build(facts)
    assert "Lisbon" in kb.read(query(module, "Where does Ana live now?"))
    module, kb = build({**facts, "update": "newest_wins"})
    now = kb.read(query(module, "Where does Ana live now?"))
    assert "Oslo" in now and "Lisbon" not in now  # the older home is superseded
    assert "Lisbon" in kb.read(query(module, "Where did Ana live before?"))  # history kept
    module, kb = build({**facts, "resolve_dates": True, "top_k": 3})
    out = kb.read(query(module, "When did Ana adopt Biscuit?"))
    assert "on 6 May 2023" in out and "last Saturday" not in out  # said on Monday 8 May
    module, kb = build({**facts, "top_k": 2, "layout": "chronological", "index": "fts5"})
    out = kb.read(query(module, "Where has Ana lived and moved?"))
    assert out.index("8 May") < out.index("6 August")  # newest last
    module, kb = build({**D.DEFAULT_DESIGN, "unit": "turn", "index": "fts5", "top_k": 1,
                        "context_lines": 1, "layout": "grouped"})
    out = kb.read(query(module, "What is the name of Ana's dog?"))
    assert out.startswith("[1:56 pm on 8 May, 2023]\nBen: Hey!") and "Wow" in out


# -- seeds -------------------------------------------------------------------------------------
def test_committed_seed_files_equal_their_renderings(tmp_path):
    assert stale_seeds() == [], "run: python -m evolve.meta.offline.seed_render"
    for name, design in D.SEED_DESIGNS.items():
        assert seed_source(name) == D.render(design)
    assert seed_render_main(["--check", "--seeds-dir", str(tmp_path)]) == 1
    assert seed_render_main(["--seeds-dir", str(tmp_path)]) == 0
    assert seed_render_main(["--check", "--seeds-dir", str(tmp_path)]) == 0


def test_seed_designs_keep_their_m_star_shape():
    vs, ls, el = (D.SEED_DESIGNS[n] for n in ("vector_search", "llm_summarizer",
                                              "experience_learner"))
    assert (vs["unit"], vs["chunk_chars"], vs["index"], vs["top_k"]) == ("chunk", 500,
                                                                         "vector", 5)
    assert ls["summarize"] and ls["unit"] == "turn"
    assert "TOOLKIT_LLM_CALLS = {\"write\": 0, \"read\": 1}" in seed_source("llm_summarizer")
    assert el["unit"] == "fact" and el["lessons"] and el["index"] == "none"


# -- moves -------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed_name", sorted(D.SEED_DESIGNS))
def test_every_move_yields_a_gate_passing_program(seed_name):
    base = D.SEED_DESIGNS[seed_name]
    moved = applicable(base)
    assert len(moved) >= 20
    for move, new in moved:
        assert new != D.validate(base), move.name
        source = D.render(new)
        assert static_gate(source) is None, move.name
        assert move.describe(base, new)
        if move.instruction_only:
            assert {k for k in D.SPACE if new[k] != base[k]} <= {
                "item_instruction", "query_instruction", "response_instruction", "always_on"}
    for _, new in moved[::3]:
        exercise(D.render(new))


def test_moves_do_what_they_say():
    vs = D.SEED_DESIGNS["vector_search"]
    assert MOVES_BY_NAME["raise_k"].apply(vs)["top_k"] == 8
    assert MOVES_BY_NAME["smaller_chunks"].apply(vs)["chunk_chars"] == 400
    assert MOVES_BY_NAME["newest_wins"].apply(vs) is None  # chunks hold many statements
    el = D.SEED_DESIGNS["experience_learner"]
    assert MOVES_BY_NAME["raise_k"].apply(el) is None  # nothing is ranked
    assert MOVES_BY_NAME["index_fts5"].apply(el)["index"] == "fts5"
    assert len({m.name for m in MOVES}) == len(MOVES)


# -- diagnosis ---------------------------------------------------------------------------------
def kinds(traces, **kw):
    return [f.kind for f in diagnose(traces, **kw)]


def test_diagnosis_names_the_right_problem():
    assert {"truncated", "evidence_missing", "noise"} <= set(kinds([TRUNCATING]))
    assert kinds([trace("What does Ana do?", "nurse", "Ana: I like tea.", "x")]) == [
        "evidence_missing", "budget_unused"]
    assert kinds([STALE])[0] == "stale_value"
    dated = trace("When did Ana adopt Biscuit?", "6 May 2023",
                  "Ana: I adopted a dog named Biscuit last Saturday!", "last saturday",
                  category="2")
    assert kinds([dated]) == ["dates_missing"]
    adversarial = trace("What is the name of Ben's dog?", "not mentioned",
                        "[8 May 2023] Ana: I adopted a dog named Biscuit.\nBen: Wow!", "Biscuit", "5")
    assert kinds([adversarial]) == ["wrong_person"]
    partial = trace("Which cities has Ana lived in?", "Lisbon, Porto, Oslo",
                    "Ana: I live in Lisbon.\nAna: I moved to Oslo.", "Lisbon, Oslo", "1")
    assert kinds([partial])[0] == "partial_evidence"
    nobody = trace("What is Clara's job?", "chef", "Ana: I work as a nurse.", "nurse")
    assert "speaker_missing" in kinds([nobody])
    assert diagnose([{**STALE, "score": 1.0}]) == []
    found = diagnose([TRUNCATING, STALE])
    assert found[0].weight >= found[-1].weight and all(f.evidence for f in found)


def test_weak_categories_add_weak_findings():
    found = diagnose([], per_category={"2": 0.4, "4": 1.0})
    assert [f.kind for f in found] == ["dates_missing"] and found[0].weight == pytest.approx(0.18)


# -- the mutator -------------------------------------------------------------------------------
def test_offline_mutator_is_a_meta_agent_and_deterministic():
    mutator = OfflineMutator()
    assert isinstance(mutator, MetaAgent) and mutator.name == "offline"
    source = seed_source("vector_search")
    ctx = context(source, seed=5, failed=[TRUNCATING, STALE])
    first, again = mutator.propose(ctx), OfflineMutator().propose(ctx)
    assert first.source == again.source and first.commit_message == again.commit_message
    assert first.source != source and static_gate(first.source) is None
    assert re.search(r"\[offline:\w+\]", first.commit_message)
    assert first.design == D.parse_design(first.source) and first.mutator.startswith("offline:")
    others = {OfflineMutator(policy="random").propose(context(source, seed=s)).source
              for s in range(6)}
    assert len(others) > 1
    with pytest.raises(ValueError):
        OfflineMutator(policy="magic")


def test_diagnosis_picks_moves_that_address_the_findings():
    el = seed_source("experience_learner")
    for seed in range(8):
        proposal = OfflineMutator().propose(context(el, seed=seed, failed=[TRUNCATING] * 3))
        moved = re.search(r"\[offline:(\w+)\]", proposal.commit_message).group(1)
        assert moved.startswith("index_") and moved != "index_none", moved
        assert "truncated" in proposal.commit_message
    stale_moves = {re.search(r"\[offline:(\w+)\]", OfflineMutator().propose(
        context(seed_source("llm_summarizer"), seed=s, failed=[STALE] * 3)).commit_message)
        .group(1) for s in range(8)}
    assert stale_moves <= {"newest_wins", "order_newest_last", "response_latest", "raise_k",
                           "date_prefix_on", "always_updates", "item_changes", "fact_units"}
    assert stale_moves & {"newest_wins", "order_newest_last"}


def test_lineage_prevents_retrying_moves_and_known_programs():
    el = seed_source("experience_learner")
    base = D.SEED_DESIGNS["experience_learner"]
    regressed = [LineageEntry(f"c{i}", "child", 0.5, -0.2, f"x [offline:index_{k}]", True)
                 for i, k in enumerate(("lexical", "fts5", "vector"))]
    ctx = context(el, failed=[TRUNCATING] * 3, lineage=regressed)
    assert tried_moves(ctx) == {"index_lexical": True, "index_fts5": True, "index_vector": True}
    for seed in range(6):
        proposal = OfflineMutator().propose(context(el, seed=seed, failed=[TRUNCATING] * 3,
                                                    lineage=regressed))
        assert not re.search(r"\[offline:index_(lexical|fts5|vector)\]", proposal.commit_message)
    # a child that would reproduce a program of the lineage (here: the hybrid one) is skipped
    hybrid = D.render(MOVES_BY_NAME["index_hybrid"].apply(base))
    known = LineageEntry(hashlib.sha256(hybrid.encode()).hexdigest(), "ancestor", 0.9, None, "")
    proposal = OfflineMutator().propose(context(el, seed=1, failed=[TRUNCATING] * 3,
                                                lineage=[*regressed, known]))
    assert proposal.source not in (hybrid, None)


def test_when_every_move_was_tried_the_library_is_crossed_in():
    source = seed_source("vector_search")
    tried = [LineageEntry(f"c{i}", "child", 0.8, 0.0, f"m [offline:{move.name}]")
             for i, (move, _) in enumerate(applicable(D.SEED_DESIGNS["vector_search"]))]
    proposal = OfflineMutator().propose(context(source, failed=[STALE], lineage=tried))
    assert proposal.origin == "crossover" and "library design" in proposal.commit_message
    assert D.is_rendered(proposal.source) and proposal.source != source
    lonely = OfflineMutator(library=[]).propose(context(source, failed=[STALE], lineage=tried))
    assert lonely.source is None and "no untried move" in lonely.error


def test_freeze_switches():
    source = seed_source("vector_search")
    base = D.SEED_DESIGNS["vector_search"]
    for seed in range(5):
        code_frozen = OfflineMutator().propose(context(source, seed=seed, failed=[STALE],
                                                       freeze_code=True))
        changed = {k for k in D.SPACE if code_frozen.design[k] != base[k]}
        assert changed and changed <= {"item_instruction", "query_instruction",
                                       "response_instruction", "always_on"}
        words_frozen = OfflineMutator().propose(context(source, seed=seed, failed=[STALE],
                                                        freeze_instructions=True))
        assert instructions(words_frozen.design) == instructions(base)


def test_crossover_takes_each_component_from_the_better_parent():
    a = D.SEED_DESIGNS["vector_search"]
    b = {**D.SEED_DESIGNS["experience_learner"], "index": "lexical", "update": "newest_wins"}
    other = ProgramSnapshot("b" * 64, D.render(b), 0.8,
                            {"1": 0.9, "3": 0.2, "4": 0.9, "2": 1.0, "5": 1.0}, "b")
    ctx = context(D.render(a), seed=3, other=other,
                  per_category={"1": 0.4, "3": 0.9, "4": 0.8, "2": 1.0, "5": 1.0})
    proposal = OfflineMutator().propose(ctx)
    child = proposal.design
    assert proposal.origin == "crossover" and "[offline:crossover]" in proposal.commit_message
    assert (child["unit"], child["index"], child["lessons"]) == ("fact", "lexical", True)
    assert (child["update"], child["layout"]) == ("none", "rank")  # knowledge-update: A
    assert "evidence from B" in proposal.commit_message
    assert static_gate(proposal.source) is None


def test_non_template_parents_get_knob_tweaks_or_a_template_rewrite():
    bm25 = seed_source("bm25")
    assert D.parse_design(bm25) is None and read_knobs(bm25)
    missing = trace("What does Ana do for a living?", "nurse", "Ana: hi", "not mentioned")
    proposal = OfflineMutator().propose(context(bm25, failed=[missing] * 2))
    assert "TOP_K from 12 to 18" in proposal.commit_message
    assert re.search(r"^TOP_K = 18  #", proposal.source, re.M) and static_gate(proposal.source) is None
    assert "[offline:knob:TOP_K:up]" in proposal.commit_message
    tried = [LineageEntry("c", "child", 0.1, -0.5, proposal.commit_message, True)]
    again = OfflineMutator().propose(context(bm25, failed=[missing] * 2, lineage=tried))
    assert "TOP_K:up" not in again.commit_message
    bare = seed_source("no_memory")
    rewrite = OfflineMutator().propose(context(bare, failed=[missing]))
    assert "nearest template design" in rewrite.commit_message
    assert D.is_rendered(rewrite.source) and static_gate(rewrite.source) is None
    assert nearest_design(seed_source("hybrid"))["index"] == "hybrid"
    assert nearest_design(seed_source("mem0_facts"))["unit"] == "fact"


def test_never_raises_on_a_broken_parent():
    proposal = OfflineMutator().propose(context("this is not python ((", failed=[STALE]))
    assert proposal.source is None or static_gate(proposal.source) is None


def test_fix_and_repair():
    mutator = OfflineMutator()
    parent = seed_source("vector_search")
    child = D.render(MOVES_BY_NAME["raise_k"].apply(D.SEED_DESIGNS["vector_search"]))
    broken = child.replace("import re\n", "import os\n", 1)
    ctx = context(parent, failed=[STALE])
    fixed = mutator.fix(ctx, broken, "imports", "import of 'os' is not allowed", 1)
    assert fixed.source == child and fixed.origin == "repair"
    fallback = mutator.fix(ctx, broken, "imports", "still broken", 2)
    assert "parent's last good design" in fallback.commit_message
    assert static_gate(fallback.source) is None and fallback.source != broken
    big = D.render({**D.SEED_DESIGNS["llm_summarizer"], "top_k": 48, "fill_budget": True})
    repaired = mutator.repair(ctx, big, "read() returned 3400 characters (cap 3000)")
    assert repaired.design["max_chars"] < 3000 and repaired.design["top_k"] < 48
    assert not repaired.design["fill_budget"] and static_gate(repaired.source) is None
    no_llm = mutator.repair(ctx, big, "toolkit LLM budget exceeded: 2 calls in read")
    assert not no_llm.design["summarize"] and '"read": 0' in no_llm.source


# -- a short run through the real evaluator ----------------------------------------------------
def test_three_iterations_on_tiny_improve_or_hold():
    from evolve.evaluation.evaluate import EvalSettings, evaluate_program
    from evolve.llm.factory import build_hub
    from evolve.tasks.registry import make_task

    hub = build_hub(model="offline")
    task = make_task("dialog-synth", {"size": "tiny"})
    settings = EvalSettings(split="val", sandbox_mode="none")
    source = seed_source("vector_search")
    result = evaluate_program(source, task, hub, settings)
    start = best = result.score
    lineage: list[LineageEntry] = []
    mutator = OfflineMutator()
    for iteration in range(3):
        failed = sorted((t for t in result.items if t.score < 1), key=lambda t: t.score)[:3]
        ctx = ReflectionContext(
            parent=ProgramSnapshot(hashlib.sha256(source.encode()).hexdigest(), source, best,
                                   result.per_category),
            lineage=tuple(lineage), failed_cases=tuple(t.to_dict() for t in failed),
            category_names=dict(task.category_names), iteration=iteration, seed=iteration)
        proposal = mutator.propose(ctx)
        assert proposal.source is not None, proposal.error
        child = evaluate_program(proposal.source, task, hub, settings)
        assert child.status == "ok", child.error
        delta = child.score - best
        lineage.append(LineageEntry(hashlib.sha256(proposal.source.encode()).hexdigest(),
                                    "child", child.score, delta, proposal.commit_message,
                                    delta < 0))
        if child.score > best:  # greedy: continue from the better program
            source, result, best, lineage = proposal.source, child, child.score, []
    assert best >= start
    assert best > start  # deterministic: top_k 5 -> 8 lifts vector_search on tiny


def test_checking_many_designs_keeps_few_renderings_in_memory():
    """The mutator renders candidates only to learn their ids: a long campaign must not keep
    hundreds of ~11 KB sources (the old 512-entry cache held ~6 MB after ~60 iterations)."""
    import gc
    import hashlib
    import tracemalloc

    from evolve.meta.offline import design as design_module

    design_module._render_cached.cache_clear()
    design_module._id_cached.cache_clear()
    base = {key: param.default for key, param in design_module.SPACE.items()}
    designs = [dict(base, chunk_chars=100 + i, top_k=1 + i % 50) for i in range(600)]
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        ids = [design_module.rendered_id(d) for d in designs]
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < 1.5 * 1024 * 1024, f"{kept / 1e6:.1f} MB kept for 600 checked designs"
    assert len(set(ids)) == 600
    for d, pid in list(zip(designs, ids, strict=True))[::97]:  # ids are the sources' sha256
        assert pid == hashlib.sha256(design_module.render(d).encode("utf-8")).hexdigest()


# -- moves that cannot change an answer (masking.MASKS) and moves that changed nothing -----------
FACT_FILL = D.validate({**D.DEFAULT_DESIGN, "unit": "fact", "index": "vector",
                        "fill_budget": True})


def _names(design: dict) -> set[str]:
    return {move.name for move, _ in applicable(design)}


def test_top_k_is_not_moved_where_budget_filling_overrides_it():
    assert not {"raise_k", "lower_k"} & _names(FACT_FILL)
    assert {"raise_k", "lower_k"} <= _names({**FACT_FILL, "fill_budget": False})
    # the claim behind the mask: with filling on, top_k 3 and top_k 8 read the same text
    few = exercise(D.render({**FACT_FILL, "top_k": 3}))
    many = exercise(D.render({**FACT_FILL, "top_k": 8}))
    assert few == many
    assert exercise(D.render({**FACT_FILL, "top_k": 2, "fill_budget": False})) != many


def test_more_units_are_not_asked_for_when_top_k_chunks_already_fill_the_read():
    vs = D.SEED_DESIGNS["vector_search"]  # 5 chunks of 500 characters fit 3000
    assert "raise_k" in _names(vs)
    assert "raise_k" not in _names({**vs, "top_k": 8})  # 8 x 500 > 3000: extra ones are cut
    assert "raise_k" in _names({**vs, "top_k": 8, "max_chars": 3000, "chunk_chars": 250})


def test_wording_moves_that_render_the_same_instructions_are_not_proposed():
    chunks = D.SEED_DESIGNS["vector_search"]
    facts = D.validate({**chunks, "unit": "fact"})
    assert not {"item_atomic", "item_changes"} & _names(chunks)
    assert {"item_atomic", "item_changes"} <= _names(facts)
    chrono = D.validate({**facts, "layout": "chronological"})
    assert "response_latest" not in _names(chrono) and "response_latest" in _names(facts)
    # every mask of an instruction move is one where the four constants stay the same
    for design in (chunks, chrono, D.SEED_DESIGNS["experience_learner"]):
        for move in MOVES:
            new = move.apply(design)
            if move.instruction_only and new is not None and move.name not in _names(design):
                assert instructions(new) == instructions(design), move.name


def _raised(delta: float) -> tuple[ReflectionContext, set[str]]:
    design = D.validate({**D.DEFAULT_DESIGN, "unit": "turn", "index": "fts5", "top_k": 8})
    source = D.render(design)
    pid = hashlib.sha256(source.encode()).hexdigest()
    lineage = [LineageEntry("g", "ancestor", 0.7, None, "seed"),
               LineageEntry(pid, "parent", 0.7 + delta, delta,
                            "Return more units per read: top_k 5 -> 8. [offline:raise_k]")]
    others = {name for name in MOVES_BY_NAME if name != "raise_k"}
    return context(source, failed=[TRUNCATING], lineage=lineage), others


def test_a_move_that_changed_nothing_is_not_repeated_from_the_child_it_made():
    ctx, others = _raised(0.0)  # the parent answered exactly as its own parent did
    assert without_effect(ctx) == {"raise_k"}
    design = D.parse_design(ctx.parent.source)
    assert OfflineMutator().choose(design, [], ctx, random.Random(0), exclude=others) is None
    ctx, others = _raised(0.02)  # it changed the score: raising top_k again is a real move
    assert without_effect(ctx) == set()
    picked = OfflineMutator().choose(design, [], ctx, random.Random(0), exclude=others)
    assert picked is not None and picked[0].name == "raise_k"


def test_a_run_of_no_op_ancestors_is_remembered_up_to_the_last_real_change():
    source = seed_source("vector_search")
    entries = [LineageEntry("a", "ancestor", 0.6, None, "seed"),
               LineageEntry("b", "ancestor", 0.7, 0.1, "x [offline:index_fts5]"),
               LineageEntry("c", "ancestor", 0.7, 0.0, "x [offline:response_lists]"),
               LineageEntry("d", "parent", 0.7, 0.0, "x [offline:lower_k]"),
               LineageEntry("e", "child", 0.7, 0.0, "x [offline:raise_budget]")]
    assert without_effect(context(source, lineage=entries)) == {"response_lists", "lower_k"}
    design = D.SEED_DESIGNS["vector_search"]
    only = {name for name in MOVES_BY_NAME if name not in ("response_lists", "lower_k")}
    assert OfflineMutator(policy="random").choose(
        design, [], context(source, lineage=entries), random.Random(0), exclude=only) is None
    entries[3] = LineageEntry("d", "parent", 0.72, 0.02, "x [offline:lower_k]")
    picked = OfflineMutator(policy="random").choose(
        design, [], context(source, lineage=entries), random.Random(0), exclude=only)
    assert picked is not None and picked[0].name in ("response_lists", "lower_k")
