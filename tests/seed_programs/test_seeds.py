"""Seed memory programs: contract, import allow-list, LLM budget, retrieval and thread safety.

Every seed in ``seeds/`` is executed in-process (no sandbox) against a ``Toolkit`` with a
deterministic hashing embedder and a fake toolkit LLM that counts calls per thread. A small
LoCoMo-style conversation (12 dated sessions, facts hidden in small talk) is written, then
questions are read. Also covers ``evolve.seeds`` discovery.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import threading
import types
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from evolve_sandbox.toolkit import Toolkit

from evolve.errors import UsageError
from evolve.seed_build import SHARED_MODULE as SHARED
from evolve.seeds import SEEDS_DIR, list_seeds, seed_path, seed_source

ALLOWED_IMPORTS = {"json", "re", "math", "hashlib", "collections", "dataclasses", "typing",
                   "datetime", "textwrap", "sqlite3", "numpy", "heapq", "itertools",
                   "functools", "statistics", "string", "bisect"}
ALLOWED_TYPES = {"str", "int", "float", "bool", "list[str]", "Optional[str]",
                 "typing.Optional[str]", "str | None"}
CONSTANTS = ("INSTRUCTION_KNOWLEDGE_ITEM", "INSTRUCTION_QUERY", "INSTRUCTION_RESPONSE",
             "ALWAYS_ON_KNOWLEDGE")
SEED_NAMES = [info.name for info in list_seeds()]
MAX_READ = 3000

# -- a LoCoMo-style conversation --------------------------------------------------------------
SMALL_TALK = [
    ("Ana", "The weather has been so strange this week."),
    ("Ben", "Right? Sunshine in the morning and rain by lunch."),
    ("Ana", "I keep meaning to go to bed earlier but never do."),
    ("Ben", "Same, my evenings just disappear somehow."),
    ("Ben", "Have you seen any good films lately?"),
    ("Ana", "Not really, I fall asleep halfway through everything."),
    ("Ana", "Coffee is the only thing that gets me through Mondays."),
    ("Ben", "Ha, I am already on my third cup today."),
]
FACTS = [  # (session date, speaker, fact line)
    ("1:56 pm on 8 May, 2023", "Ana", "I adopted a dog named Biscuit last Saturday!"),
    ("10:02 am on 15 May, 2023", "Ben", "I work as a nurse at the children's hospital."),
    ("7:30 pm on 24 May, 2023", "Ana", "My sister Maya lives in Lisbon and loves it."),
    ("9:15 am on 2 June, 2023", "Ben", "I started violin lessons two weeks ago."),
    ("6:45 pm on 11 June, 2023", "Ana", "I ran a half marathon yesterday, my legs still hurt."),
    ("8:20 pm on 19 June, 2023", "Ben", "My brother Theo works as a pilot for a small airline."),
    ("12:10 pm on 30 June, 2023", "Ana", "I went on a trip to Kyoto last Sunday to see the temples."),
    ("5:05 pm on 9 July, 2023", "Ben", "I took up pottery a week ago and made a wonky bowl."),
    ("3:40 pm on 18 July, 2023", "Ana", "I have been living in Denver for a few years now."),
    ("11:25 am on 27 July, 2023", "Ben", "Guess what, I got hired as a teacher yesterday!"),
    ("4:50 pm on 6 August, 2023", "Ana", "My sister Maya moved to Oslo last Monday."),
    ("2:35 pm on 14 August, 2023", "Ben", "I bought a new bike three days ago for my commute."),
]


def _session(index: int) -> str:
    date, speaker, fact = FACTS[index]
    other = "Ben" if speaker == "Ana" else "Ana"
    talk = [SMALL_TALK[(index * 2 + k) % len(SMALL_TALK)] for k in range(4)]
    lines = [f"[{date}]", f"{other}: Hey! How have things been?",
             f"{speaker}: Pretty good, thanks for asking.", f"{talk[0][0]}: {talk[0][1]}",
             f"{talk[1][0]}: {talk[1][1]}", f"{other}: What's new with you?",
             f"{speaker}: {fact}", f"{other}: Wow, that's wonderful!",
             f"{talk[2][0]}: {talk[2][1]}", f"{talk[3][0]}: {talk[3][1]}",
             f"{other}: Talk soon, take care.", f"{speaker}: Bye for now!"]
    return "\n".join(lines)


SESSIONS = [_session(i) for i in range(len(FACTS))]
# (question, text the retrieval must contain)
QUESTIONS = [
    ("What is the name of Ana's dog?", "Biscuit"),
    ("What does Ben's brother Theo do for a living?", "pilot"),
    ("What lessons did Ben start?", "violin"),
]
LATEST = ("What did Ben buy for his commute?", "bike")  # told in the last session

# -- fakes ------------------------------------------------------------------------------------
_TOKEN = re.compile(r"[a-z0-9]+")
_STOP = {"a", "an", "the", "and", "is", "of", "to", "in", "i", "my", "what", "did", "does"}


def hash_embed(texts: list[str]) -> list[list[float]]:
    """64-d bag-of-words hashing embedder with unit rows (deterministic)."""
    rows = np.zeros((len(texts), 64), dtype=np.float32)
    for r, text in enumerate(texts):
        for word in _TOKEN.findall(str(text).lower()):
            if word not in _STOP and len(word) > 1:
                h = zlib.crc32(word[:4].encode())
                rows[r, h % 64] += 1.0 if (h >> 8) & 1 else -1.0
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return (rows / np.where(norms > 0, norms, 1.0)).tolist()


class FakeLLM:
    """Toolkit LLM stand-in: counts calls per thread; replies with the prompt lines that best
    match its <question> (an extractive 'summary'), or a JSON list when JSON is asked."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.local = threading.local()

    def reset(self) -> None:
        self.local.calls = 0

    @property
    def calls(self) -> int:
        return getattr(self.local, "calls", 0)

    def __call__(self, messages: list[dict], options: dict) -> str:
        self.local.calls = self.calls + 1
        if self.fail:
            raise RuntimeError("toolkit model unavailable")
        prompt = messages[-1]["content"]
        lines = [ln.strip() for ln in prompt.split("\n") if ln.strip()]
        if options.get("json_mode") or "JSON" in prompt:
            return '["' + lines[-1].replace('"', "'") + '"]'
        match = re.search(r"<question>\s*(.*?)\s*</question>", prompt, re.DOTALL)
        wanted = set(_TOKEN.findall((match.group(1) if match else lines[-1]).lower())) - _STOP
        ranked = sorted(lines, key=lambda ln: -len(wanted & set(_TOKEN.findall(ln.lower()))))
        return " ".join(ranked[:3])


def load(name: str) -> types.ModuleType:
    module = types.ModuleType(f"seed_{name}")
    code = compile(seed_source(name), str(seed_path(name)), "exec", dont_inherit=True)
    exec(code, module.__dict__)  # noqa: S102 - our own seed files, run in-process on purpose
    return module


def _type_name(tp: object) -> str:
    """'str', 'list[str]', 'Optional[str]' ... for a dataclass field's type."""
    if isinstance(tp, str):
        return tp
    if getattr(tp, "__origin__", None) is None and isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")


def fill(cls: type, text: str) -> object:
    """What a task agent might fill: lists get the content lines, strings the first one."""
    lines = [ln for ln in text.split("\n") if ln.strip() and not ln.startswith("[")]
    content = [ln for ln in lines if len(ln.split()) >= 5] or lines
    values = {}
    for f in dataclasses.fields(cls):
        name = _type_name(f.type)
        if name.startswith("list"):
            values[f.name] = list(content)
        elif "str" in name:
            values[f.name] = content[0] if content else ""
    return cls(**values)


def make_query(module: types.ModuleType, question: str) -> object:
    values = {}
    for f in dataclasses.fields(module.Query):
        name = _type_name(f.type)
        if name.startswith("list"):
            values[f.name] = [w for w in re.findall(r"[A-Za-z]+", question)
                              if w.lower() not in _STOP]
        elif "str" in name:
            values[f.name] = question
    return module.Query(**values)


def build(name: str, llm: FakeLLM | None = None, sessions: tuple[str, ...] = tuple(SESSIONS)):
    """A seed's module and a KnowledgeBase holding ``sessions``; checks the write budget."""
    module = load(name)
    llm = llm or FakeLLM()
    kb = module.KnowledgeBase(Toolkit(hash_embed, llm, lambda level, msg: None))
    limit = module.TOOLKIT_LLM_CALLS["write"]
    for text in sessions:
        llm.reset()
        kb.write(fill(module.KnowledgeItem, text), text)
        assert llm.calls <= limit <= 1, f"{name}: {llm.calls} LLM calls in one write"
    return module, kb, llm


# -- contract ---------------------------------------------------------------------------------
def test_discovery_lists_all_seeds():
    seeds = list_seeds()
    assert len(seeds) >= 11
    assert SEEDS_DIR.name in ("seeds", "evolve_seeds") and (SEEDS_DIR / "__init__.py").exists()
    required = {"no_memory", "full_context", "vector_search", "llm_summarizer",
                "experience_learner", "bm25", "hybrid", "mem0_facts", "temporal_fact_graph",
                "dynamic_cheatsheet", "reasoningbank_insights"}
    assert required <= {s.name for s in seeds}
    for info in seeds:
        assert info.summary and len(info.summary) < 120, info.name
        assert set(info.llm_calls) == {"write", "read"}, info.name
        source = seed_source(info.name)  # the file, shared helpers inlined (test_seed_build)
        assert f"import {SHARED}" not in source and f"{SHARED} import" not in source


def test_unknown_seed_is_a_usage_error_listing_valid_names():
    with pytest.raises(UsageError, match="vector_search"):
        seed_path("no_such_seed")
    assert seed_path("bm25.py") == seed_path("bm25")


@pytest.mark.parametrize("name", SEED_NAMES)
def test_static_contract(name):
    source = seed_source(name)
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert all(a.name.split(".")[0] in ALLOWED_IMPORTS for a in node.names), name
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0 and node.module.split(".")[0] in ALLOWED_IMPORTS, name
    assert "# --- design parameters ---" in source
    assert "# --- end design parameters ---" in source
    block = source.split("# --- design parameters ---")[1].split("# --- end design")[0]
    knobs = ast.parse(block).body
    assert knobs or name == "no_memory"
    for node in knobs:  # only plain UPPERCASE assignments of literals
        assert isinstance(node, ast.Assign) and len(node.targets) == 1, name
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", node.targets[0].id), name
        ast.literal_eval(node.value)
    doc = ast.get_docstring(tree)
    assert doc and "Toolkit LLM calls" in doc, name

    from evolve.program.static_gate import static_gate  # the orchestrator's own gate agrees
    assert static_gate(source) is None, name

    module = load(name)
    for constant in CONSTANTS:
        assert isinstance(getattr(module, constant), str), (name, constant)
    calls = module.TOOLKIT_LLM_CALLS
    assert set(calls) == {"write", "read"} and all(v in (0, 1) for v in calls.values())
    for cls in (module.KnowledgeItem, module.Query):
        assert dataclasses.is_dataclass(cls)
        for f in dataclasses.fields(cls):
            assert _type_name(f.type) in ALLOWED_TYPES, (name, f.name, f.type)
            assert (f.default is not dataclasses.MISSING
                    or f.default_factory is not dataclasses.MISSING), (name, f.name)
            assert f.metadata.get("description"), (name, f.name)
        cls()  # every field has a default
    for method in ("write", "read"):
        assert callable(getattr(module.KnowledgeBase, method))


# -- behaviour --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SEED_NAMES)
def test_reads_are_bounded_and_within_llm_budget(name):
    module, kb, llm = build(name)
    for question, _ in [*QUESTIONS, LATEST, ("", "")]:
        llm.reset()
        out = kb.read(make_query(module, question))
        assert isinstance(out, str) and len(out) <= MAX_READ
        assert llm.calls <= module.TOOLKIT_LLM_CALLS["read"] <= 1
    if name == "no_memory":
        assert kb.read(make_query(module, QUESTIONS[0][0])) == ""
    else:
        assert LATEST[1] in kb.read(make_query(module, LATEST[0]))


RETRIEVERS = [n for n in SEED_NAMES if n not in ("no_memory", "full_context")]


@pytest.mark.parametrize("name", RETRIEVERS)
def test_retrieval_finds_old_facts(name):
    module, kb, _ = build(name)
    for question, needle in QUESTIONS:
        out = kb.read(make_query(module, question))
        assert needle in out, f"{name} missed {needle!r} for {question!r}:\n{out}"


@pytest.mark.parametrize("name", SEED_NAMES)
def test_concurrent_reads_match_sequential(name):
    module, kb, _ = build(name)
    questions = [q for q, _ in [*QUESTIONS, LATEST]] * 4
    sequential = [kb.read(make_query(module, q)) for q in questions]
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(lambda q: kb.read(make_query(module, q)), questions))
    assert parallel == sequential


@pytest.mark.parametrize("name", SEED_NAMES)
def test_survives_failing_llm_and_foreign_text(name):
    transcript = ("You are in the middle of a room. Looking around you, you see a desk 1.\n"
                  "> go to desk 1\nOn the desk 1, you see a key 2 and a pen 1.\n"
                  "> take key 2 from desk 1\nYou pick up the key 2 from the desk 1.")
    module, kb, llm = build(name, FakeLLM(fail=True), (*SESSIONS[:3], transcript, "", "   "))
    out = kb.read(make_query(module, "Where is the key?"))
    assert isinstance(out, str) and len(out) <= MAX_READ
    empty = module.Query()
    assert isinstance(kb.read(empty), str)
    if name not in ("no_memory", "full_context"):
        assert "Biscuit" in kb.read(make_query(module, QUESTIONS[0][0]))


# -- design-specific behaviour ----------------------------------------------------------------
def test_full_context_keeps_newest_last():
    module, kb, _ = build("full_context")
    out = kb.read(make_query(module, "anything"))
    assert out.rstrip().endswith("Bye for now!") and "14 August, 2023" in out
    assert out.index("6 August") < out.index("14 August") and "8 May" not in out


def test_temporal_graph_supersedes_and_resolves_dates():
    module, kb, _ = build("temporal_fact_graph")
    out = kb.read(make_query(module, "Where does Ana's sister Maya live now?"))
    current, _, history = out.partition("Superseded")
    assert "Oslo" in current and "Lisbon" in history
    out = kb.read(make_query(module, "When did Ana adopt Biscuit?"))
    assert "6 May 2023" in out  # "last Saturday" said on Monday 8 May 2023


def test_mem0_deduplicates_repeated_facts():
    module, kb, _ = build("mem0_facts", sessions=(SESSIONS[0], SESSIONS[0]))
    out = kb.read(make_query(module, QUESTIONS[0][0]))
    assert out.count("Biscuit") == 1


def test_mem0_applies_llm_operations_and_keeps_history():
    def decide(messages, options):
        known = re.findall(r"^\[(m\d+)\]", messages[-1]["content"], re.MULTILINE)
        return json.dumps({"operations": [{"fact": "n0", "event": "UPDATE", "id": known[0]}]})

    module = load("mem0_facts")
    kb = module.KnowledgeBase(Toolkit(hash_embed, decide, lambda level, msg: None))
    kb.write(module.KnowledgeItem(facts=["Ben works as a nurse"]), SESSIONS[1])
    kb.write(module.KnowledgeItem(facts=["Ben works as a teacher now"]), SESSIONS[9])
    out = kb.read(make_query(module, "What is Ben's job?"))
    assert out.count("\n") == 0 and "teacher" in out and "(earlier: Ben works as a nurse" in out


def test_reasoningbank_observe_labels_failures():
    module, kb, _ = build("reasoningbank_insights", sessions=tuple(SESSIONS[:1]))
    kb.observe({"score": 0.0})
    out = kb.read(make_query(module, QUESTIONS[0][0]))
    assert "pitfall" in out and "Biscuit" in out


def test_dynamic_cheatsheet_accepts_a_valid_revision_and_rejects_junk():
    module = load("dynamic_cheatsheet")

    def curator(messages, options):
        notes = re.findall(r"^- (.*)$", messages[-1]["content"], re.MULTILINE)
        return "<cheatsheet>\n" + "\n".join(f"- {n}" for n in notes) + "\n</cheatsheet>"

    kb = module.KnowledgeBase(Toolkit(hash_embed, curator, lambda level, msg: None))
    for text in SESSIONS[:3]:
        kb.write(fill(module.KnowledgeItem, text), text)
    sheet = kb.read(module.Query()).split("Related excerpts")[0]
    assert "Biscuit" in sheet and "Maya" in sheet
    kb.toolkit._llm_fn = lambda messages, options: "<cheatsheet>\n- nothing\n</cheatsheet>"
    kb.write(fill(module.KnowledgeItem, SESSIONS[3]), SESSIONS[3])
    assert "Biscuit" in kb.read(module.Query())  # junk rejected, merge kept the old notes


# -- discovery: papers and declared LLM calls -------------------------------------------------
PAPER_SEEDS = {  # seed -> short paper label shown by `evolve seeds`
    "amem_notes": "A-MEM, 2025", "ama_multigranular": "AMA, 2026",
    "nemori_episodes": "Nemori, 2025", "memflow_tiers": "MemFlow, 2026",
    "memory_t1_temporal": "Memory-T1, 2026", "atommem_crud": "AtomMem, 2026",
    "reme_procedural": "ReMe, 2025", "task_memory_graph": "Task Memory Engine, 2025",
    "arcmemo_concepts": "ArcMemo, 2025", "memskill": "MemSkill, 2026",
    "memos_units": "MemOS, 2025", "memgpt_core_archival": "MemGPT, 2023",
    "langmem_profile": "LangMem, 2025", "expel_insights": "ExpeL, 2024",
    "awm_workflows": "AWM, 2025", "g_memory": "G-Memory, 2025",
}


def test_discovery_reads_papers_and_llm_calls():
    from evolve.commands.catalog import seed_tag

    infos = {info.name: info for info in list_seeds()}
    for name, short in PAPER_SEEDS.items():
        assert "Paper:" in seed_source(name), name
        assert infos[name].paper_short == short, (name, infos[name].paper)
    assert seed_tag(infos["vector_search"]) == "[llm: write 0, read 0]"  # rendered: no paper
    assert seed_tag(infos["no_memory"]) == "[M* baseline, 2026; llm: write 0, read 0]"
    assert seed_tag(infos["amem_notes"]) == "[A-MEM, 2025; llm: write 0, read 0]"
    assert seed_tag(infos["ama_multigranular"]) == "[AMA, 2026; llm: write 0, read 1]"
    assert infos["mem0_facts"].paper_short == "Mem0, 2025"
    for name, info in infos.items():  # the docstring states the declared budget
        doc = ast.get_docstring(ast.parse(seed_source(name))) or ""
        said = " ".join(doc.split("Toolkit LLM calls:")[1].split())
        for step in ("write", "read"):
            assert f"{info.llm_calls[step]} per {step}" in said, (name, step, said)


def test_seeds_command_shows_paper_and_calls(capsys):
    from evolve.cli import main

    assert main(["seeds"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("amem_notes "))
    assert line.endswith("[A-MEM, 2025; llm: write 0, read 0]")
    assert main(["seeds", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["memskill"]["llm_calls"] == {"write": 1, "read": 0}
    assert rows["memskill"]["paper"].startswith("MemSkill")


# -- design-specific behaviour of the paper seeds ------------------------------------------
def kb_for(name: str, llm=None, logs: list | None = None):
    """A seed's module and an empty KnowledgeBase (logs collected into ``logs``)."""
    module = load(name)
    sink = logs if logs is not None else []
    kb = module.KnowledgeBase(Toolkit(hash_embed, llm or FakeLLM(),
                                      lambda level, msg: sink.append(msg)))
    return module, kb


NURSE = "Ben: I work as a nurse at the children's hospital."
TEACHER = "Ben: I now work as a teacher at the primary school."
TRANSCRIPT = ("Your task is to: put a key in the drawer.\n> go to desk 1\n"
              "On the desk 1, you see a key 2 and a pen 1.\n> take key 2 from desk 1\n"
              "You pick up the key 2 from the desk 1.\n> open safe 1\nNothing happens.\n"
              "> go to drawer 3\nThe drawer 3 is open.\n> put key 2 in/on drawer 3\n"
              "You put the key 2 in/on the drawer 3. Task completed.")


def test_atommem_update_replaces_and_delete_removes():
    module, kb = kb_for("atommem_crud")
    kb.write(module.KnowledgeItem(facts=[NURSE]), SESSIONS[1])
    kb.write(module.KnowledgeItem(facts=[TEACHER]), SESSIONS[9])
    assert [op for op, _, _ in kb.ops] == ["CREATE", "UPDATE"] and kb.entries.count() == 1
    out = kb.read(make_query(module, "What is Ben's job?"))
    assert "teacher" in out and "nurse" not in out
    kb.write(module.KnowledgeItem(facts=["Ana: I adopted a dog named Biscuit."]), SESSIONS[0])
    kb.write(module.KnowledgeItem(facts=["Ana: I no longer have the dog Biscuit."]), SESSIONS[10])
    assert ("DELETE", "e1") in [(op, i) for op, i, _ in kb.ops]
    assert "adopted" not in kb.read(make_query(module, "Does Ana have a dog named Biscuit?"))

    def policy(messages, options):  # the LLM policy decides when it answers in JSON
        known = re.findall(r"^\[(e\d+)\]", messages[-1]["content"], re.MULTILINE)
        return json.dumps({"operations": [{"atom": "a0", "op": "DELETE", "target": known[0]}]})

    module, kb = kb_for("atommem_crud", policy)
    kb.write(module.KnowledgeItem(facts=[NURSE]), SESSIONS[1])
    kb.write(module.KnowledgeItem(facts=["Ben: I quit the hospital."]), SESSIONS[9])
    assert kb.ops[-2][0] == "DELETE" and "nurse" not in kb.read(make_query(module, "Ben job?"))


def test_memory_t1_evidence_carries_dates_and_respects_time_scope():
    module, kb, _ = build("memory_t1_temporal")
    out = kb.read(make_query(module, "When did Ana adopt Biscuit?"))
    assert "Biscuit on 6 May 2023" in out  # "last Saturday" said on Monday 8 May 2023
    assert all(re.match(r"\[\d{1,2} [A-Z][a-z]+ \d{4}\] ", ln) for ln in out.splitlines())
    out = kb.read(make_query(module, "What did Ana and Ben talk about in June 2023?"))
    assert out and all(" June 2023]" in ln.split("]")[0] + "]" for ln in out.splitlines())
    assert "Kyoto" in out and "Biscuit" not in out


def test_memflow_routes_queries_to_different_tiers():
    logs: list[str] = []
    module, kb = kb_for("memflow_tiers", logs=logs)
    for text in SESSIONS:
        kb.write(fill(module.KnowledgeItem, text), text)
    heads = {q: kb.read(make_query(module, q)).split("\n")[0] for q in (
        "What is Ben's job now?", "When did Ana adopt Biscuit?", "Which hobbies has Ben had?")}
    assert list(heads.values()) == ["Profile lookup:", "Targeted retrieval:",
                                    "Deep reasoning evidence:"]
    query = make_query(module, "What is Ben's job now?")
    query.intent = "deep"  # the task agent's intent label wins over the cues
    assert kb.read(query).startswith("Deep reasoning evidence:")
    assert any("route: profile" in line for line in logs)
    assert "Ana: I adopted a dog named Biscuit" in kb.read(
        make_query(module, "When did Ana adopt Biscuit?"))


def test_ama_judge_retrieves_again_and_refresher_drops_stale_facts():
    for verdict, sections in (("no", ["Facts:", "Turns:"]), ("yes", ["Facts:"])):
        logs: list[str] = []
        module, kb = kb_for("ama_multigranular", lambda m, o, v=verdict: v, logs)
        for text in SESSIONS[:4]:
            kb.write(fill(module.KnowledgeItem, text), text)
        out = kb.read(module.Query(question="What is the name of Ana's dog?",
                                   complexity="simple"))
        assert [ln for ln in out.splitlines() if ln.endswith(":")] == sections, verdict
        assert "Biscuit" in out
        assert any("judge: evidence insufficient" in ln for ln in logs) == (verdict == "no")
    module, kb = kb_for("ama_multigranular", lambda m, o: "yes")
    kb.write(module.KnowledgeItem(facts=["Ana: My sister Maya lives in Lisbon."]), SESSIONS[2])
    kb.write(module.KnowledgeItem(facts=["Ana: My sister Maya moved to Oslo."]), SESSIONS[10])
    out = kb.read(module.Query(question="Where does Maya live?", complexity="simple"))
    assert "Oslo" in out and "Lisbon" not in out


def test_memos_keeps_versions_provenance_and_lifecycle():
    module, kb = kb_for("memos_units")
    kb.write(module.KnowledgeItem(facts=[NURSE]), SESSIONS[1])
    kb.write(module.KnowledgeItem(facts=[NURSE]), SESSIONS[2])  # confirmed: merged
    assert len(kb.units) == 1 and kb.units["u0"]["state"] == "activated"
    assert [p["date"] for p in kb.units["u0"]["provenance"]] == ["15 May 2023", "24 May 2023"]
    kb.write(module.KnowledgeItem(facts=[TEACHER]), SESSIONS[9])
    old, new = kb.units["u0"], kb.units["u1"]
    assert (old["state"], old["successor"]) == ("archived", "u1")
    assert (new["state"], new["version"], new["predecessor"]) == ("generated", 2, "u0")
    current, _, history = kb.read(make_query(module, "What is Ben's job?")).partition("History:")
    assert "teacher" in current and "(v2)" in current and "nurse" not in current
    assert "nurse" in history and "archived" in history


def test_nemori_segments_topics_and_stores_only_prediction_gaps():
    module, kb = kb_for("nemori_episodes")
    lines = ["Ana: I adopted a dog named Biscuit and walk the dog daily.",
             "Ana: Biscuit the dog loves long walks in the park.",
             "Ana: The dog Biscuit sleeps on my bed every night.",
             "Ben: My violin lessons started and the violin teacher is strict.",
             "Ben: I practise violin scales every evening after work.",
             "Ben: The violin recital is next month at the school."]
    events = module.segment(lines, hash_embed(lines))
    assert len(events) >= 2 and events[0][0] == 0 and max(events[0]) < 3 <= min(events[1])
    kb.write(fill(module.KnowledgeItem, SESSIONS[0]), SESSIONS[0])
    facts = len(kb.facts)
    kb.write(fill(module.KnowledgeItem, SESSIONS[0]), SESSIONS[0])  # nothing new to learn
    assert len(kb.facts) == facts and max(f["support"] for f in kb.facts) == 2
    out = kb.read(make_query(module, QUESTIONS[0][0]))
    assert "Known facts:" in out and "Episodes:" in out and "Biscuit" in out


def test_reme_distils_trajectories_and_prunes_by_utility():
    module, kb = kb_for("reme_procedural")
    goal, patterns, triggers, won = module.distil_trajectory(TRANSCRIPT.split("\n"))
    assert goal == "put a key in the drawer." and won is True
    assert "take key from desk" in patterns[0] and "open safe" in triggers[0]
    kb.write(module.KnowledgeItem(), TRANSCRIPT)
    out = kb.read(module.Query(question="put a key in the drawer"))
    assert "What worked:" in out and "Avoid:" in out
    for _ in range(module.PRUNE_MIN_USES):
        kb.read(module.Query(question="put a key in the drawer"))
        kb.observe({"score": 0.0})
    assert kb.entries == {} and kb.read(module.Query(question="put a key in the drawer")) == ""


def test_expel_votes_insights():
    module, kb = kb_for("expel_insights")
    insight = "Check the drawer before searching the whole room."
    kb.write(module.KnowledgeItem(task="find keys", insights=[insight]), TRANSCRIPT)
    kb.write(module.KnowledgeItem(task="find keys", insights=[insight]), TRANSCRIPT)
    assert [i["importance"] for i in kb.insights.values()] == [3]  # ADD (2) + UPVOTE
    for _ in range(3):
        assert "drawer" in kb.read(module.Query(question="where are the keys?"))
        kb.observe({"success": False})  # DOWNVOTE what a failed episode used
    assert kb.insights == {}


def test_awm_induces_abstract_workflows_from_successes():
    module, kb = kb_for("awm_workflows")
    kb.write(module.KnowledgeItem(), TRANSCRIPT)
    (workflow,) = kb.workflows.values()
    assert "take {key} from {desk}" in workflow["steps"]
    assert "## Workflow: put a key in the drawer." in kb.read(
        module.Query(question="put a key in the drawer"))
    kb.observe({"score": 0.0})  # AWM keeps only successful experience
    assert kb.workflows == {}
    module, kb, _ = build("awm_workflows")  # conversations: facts, no workflows
    assert kb.workflows == {} and "Biscuit" in kb.read(make_query(module, QUESTIONS[0][0]))


def test_arcmemo_concepts_generalise_and_match_cues():
    module, kb = kb_for("arcmemo_concepts")
    lesson = "object must be heated -> find the microwave first"
    kb.write(module.KnowledgeItem(lessons=[lesson], cues=["heat", "egg"]), "")
    kb.write(module.KnowledgeItem(lessons=[lesson], cues=["heat", "potato"]), "")
    (concept,) = kb.concepts.values()
    assert concept["support"] == 2 and {"egg", "potato", "heat"} <= set(concept["cues"])
    out = kb.read(module.Query(question="warm up a potato", cues=["potato"]))
    assert out == "- When object must be heated: find the microwave first"


def test_memskill_selects_skills_per_span_and_learns_weights():
    module, kb = kb_for("memskill")
    assert set(kb.select(TRANSCRIPT.split("\n"))) >= {"procedure_steps", "object_locations"}
    assert "dated_events" in kb.select(SESSIONS[0].split("\n"))
    kb.write(module.KnowledgeItem(), TRANSCRIPT)
    used = set(kb.used)
    kb.observe({"success": False})
    assert all(kb.weights[name] < 1.0 for name in used) and kb.used == []
    executor = ('{"memories": ["Ana keeps a spare key under the blue flowerpot."]}')
    module, kb = kb_for("memskill", lambda m, o: executor)
    kb.write(module.KnowledgeItem(), SESSIONS[0])
    assert "flowerpot" in kb.read(make_query(module, "Where is the spare key?"))


def test_g_memory_links_tasks_and_traverses_both_ways():
    module, kb = kb_for("g_memory")
    kb.write(module.KnowledgeItem(task="put a key in the drawer",
                                  insights=["Keys are usually on desks."]), TRANSCRIPT)
    kb.write(module.KnowledgeItem(task="put a key in the drawer",
                                  insights=["Keys are usually on desks."]), TRANSCRIPT)
    assert kb.tasks[0]["edges"] == [1] and kb.tasks[1]["edges"] == [0]
    (insight,) = kb.insights.values()
    assert insight["tasks"] == [0, 1]
    out = kb.read(module.Query(question="put the key in a drawer"))
    assert out.startswith("Insights:\n- Keys are usually on desks.") and "Interactions:" in out
    assert "> put key 2 in/on drawer 3" in out  # a key step of the past interaction


def test_task_memory_graph_tracks_status_dependencies_and_revisions():
    module, kb = kb_for("task_memory_graph")
    kb.write(module.KnowledgeItem(), TRANSCRIPT)
    out = kb.read(module.Query(question="open safe"))
    assert "open safe 1 [failed]" in out and "after step" in out
    module, kb = kb_for("task_memory_graph")
    kb.write(module.KnowledgeItem(task="Ben", subtasks=[NURSE]), SESSIONS[1])
    kb.write(module.KnowledgeItem(task="Ben", subtasks=[TEACHER]), SESSIONS[9])
    (node,) = [n for n in kb.nodes.values() if "revisions" in n]
    assert node["text"] == TEACHER and node["revisions"] == [(NURSE, "15 May 2023")]
    out = kb.read(make_query(module, "What is Ben's job?"))
    assert out.index("teacher") < out.index("nurse") and "(earlier version)" in out


def test_memgpt_core_memory_replaces_and_evicts_to_archival():
    module, kb = kb_for("memgpt_core_archival")
    kb.write(module.KnowledgeItem(core_memory=[NURSE]), SESSIONS[1])
    kb.write(module.KnowledgeItem(core_memory=[TEACHER]), SESSIONS[9])
    assert [t for _, t in kb.core["ben"]] == [TEACHER] and any(NURSE in p for p in kb.passages)
    many = [f"Ben: I collected stamp number {k} from a faraway country today." for k in range(30)]
    kb.write(module.KnowledgeItem(core_memory=many), SESSIONS[11])
    block = kb.core["ben"]
    assert sum(len(t) + len(d) + 5 for d, t in block) <= module.CORE_BLOCK_CHARS
    assert any("stamp number 0 " in p for p in kb.passages)  # evicted, still searchable
    out = kb.read(make_query(module, "What is Ben's job?"))
    assert out.startswith("Core memory:") and "Archival memory:" in out


def test_langmem_profile_keeps_current_value_and_history():
    module, kb = kb_for("langmem_profile")
    kb.write(module.KnowledgeItem(memories=[NURSE]), SESSIONS[1])
    kb.write(module.KnowledgeItem(memories=[TEACHER, "Ben | pets | a cat named Miso"]),
             SESSIONS[9])
    assert [v for _, v in kb.profiles["ben"]["job"]] == [TEACHER]
    assert [v for _, v in kb.history["ben"]["job"]] == [NURSE]
    out = kb.read(make_query(module, "What is Ben's job?"))
    assert out.startswith("Profile of Ben:") and "previously: [15 May 2023] " + NURSE in out
    assert kb.profiles["ben"]["pets"] == [("27 July 2023", "a cat named Miso")]


def test_amem_links_notes_and_evolves_neighbours():
    module, kb = kb_for("amem_notes")
    note = "Ana: I adopted a dog named Biscuit last Saturday!"
    kb.write(module.KnowledgeItem(notes=[note], tags=["pets"], context="Ana got a dog"),
             SESSIONS[0])
    kb.write(module.KnowledgeItem(notes=["Ana: Biscuit, the dog I adopted last Saturday, is "
                                         "adorable!"],
                                  tags=["humour"], context="Ana jokes about Biscuit"),
             SESSIONS[1])
    first, second = kb.info["n0"], kb.info["n1"]
    assert first["links"] == ["n1"] and second["links"] == ["n0"]
    assert "humour" in first["tags"] and first["context"].endswith("Ana jokes about Biscuit")
    assert "biscuit" in first["keywords"]
