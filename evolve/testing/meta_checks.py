"""``check_meta_agent``: the contract of ``evolve.MetaAgent`` (``evolve/meta/base.py``)."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import Any

from ..agent.qa_agent import ItemTrace
from ..meta.base import LineageEntry, ProgramSnapshot, Proposal, ReflectionContext
from ..program.contract import DATACLASSES, KB_CLASS
from .failure import Rules

GATE_STAGES = ("parse", "contract", "imports", "load", "smoke")
PROGRAM_NAMES = (*DATACLASSES, KB_CLASS)


def sample_contexts(seed: str = "vector_search") -> list[ReflectionContext]:
    """Contexts the check proposes from: the seed ``seed`` as a bare parent, then with a
    lineage, failed and successful cases (shaped like the loop's item traces) and a write
    example, for two per-iteration seeds."""
    from ..seeds import seed_source

    source = seed_source(seed)
    parent = ProgramSnapshot(f"{seed}-parent", source, 0.5, {"1": 0.4, "2": 0.6},
                             "the seed")
    failed = ItemTrace("q1", "g0", "1", "Where does Ana live now?", "Oslo",
                       query={"question": "Where does Ana live now?", "keywords": ["Ana"]},
                       retrieved="- [8 May 2023] Ana: I moved to Bergen.", answer="Bergen",
                       score=0.0, rationale="F1 0.00").to_dict()
    success = ItemTrace("q2", "g0", "2", "When did Ana move?", "8 May 2023",
                        retrieved="- [8 May 2023] Ana: I moved to Bergen.",
                        answer="8 May 2023", score=1.0).to_dict()
    lineage = (LineageEntry(parent.program_id, "parent", 0.5, None, "the seed"),)
    example = {"raw_text": "[1:56 pm on 8 May, 2023]\nAna: I moved to Bergen.",
               "item": {"summary": "Ana moved to Bergen."}}
    return [ReflectionContext(parent=parent, seed=0),
            ReflectionContext(parent=parent, lineage=lineage, failed_cases=(failed,),
                              success_cases=(success,), write_example=example,
                              category_names={"1": "multi-hop", "2": "temporal"},
                              iteration=3, seed=7)]


def check_meta_agent(agent: Any, contexts: Sequence[ReflectionContext] | None = None, *,
                     deterministic: bool = True) -> list[str]:
    """Check ``agent`` against the ``evolve.MetaAgent`` contract; the rules checked.

    For each context (``contexts``, else :func:`sample_contexts`): ``propose``, ``fix`` (one
    call per gate stage, on a parent with a syntax error) and ``repair`` return a
    ``Proposal`` without raising; a proposal without a program says why (``error``); a
    program is a whole module defining KnowledgeItem, Query and KnowledgeBase, not a diff;
    and (unless ``deterministic=False``, for an agent on a sampling model) the same context
    gives the same proposal. Raises ``ConformanceError`` (an ``AssertionError``) naming the
    first broken rule.
    """
    rules = Rules("meta-agent", agent)
    rules.members("meta_agent")
    rules.require(isinstance(agent.name, str) and bool(agent.name.strip()),
                  "name is a non-empty string", f"name = {agent.name!r}")
    for context in contexts if contexts is not None else sample_contexts():
        broken = context.parent.source.replace("class KnowledgeBase", "class KnowledgeBase(", 1)
        calls: list[tuple[str, tuple[Any, ...]]] = [("propose", (context,))]
        calls += [("fix", (context, broken, stage, f"{stage} failed: invalid syntax", 1))
                  for stage in GATE_STAGES]
        calls.append(("repair", (context, context.parent.source,
                                 "read() returned 5200 characters, over the read cap of 3000")))
        for method, args in calls:
            first = _proposal(rules, agent, method, args)
            if deterministic:
                again = _proposal(rules, agent, method, args)
                rules.require(_key(again) == _key(first),
                              "the same context gives the same proposal (deterministic)",
                              lambda m=method, a=first, b=again:  # type: ignore[misc]
                              f"two {m}() calls differ: {_key(a)[1:]!r} vs {_key(b)[1:]!r}"[:300])
    return rules.checked


def _proposal(rules: Rules, agent: Any, method: str, args: tuple[Any, ...]) -> Proposal:
    rule = f"{method}() returns a Proposal and never raises"
    proposal = rules.call(rule, getattr(agent, method), *args)
    rules.require(isinstance(proposal, Proposal), rule,
                  f"returned {type(proposal).__name__}")
    rules.require(proposal.source is None or isinstance(proposal.source, str),
                  "a Proposal's source is a str or None",
                  f"{method}() returned source of type {type(proposal.source).__name__}")
    rules.require(isinstance(proposal.commit_message, str) and isinstance(proposal.mutator, str),
                  "a Proposal's commit_message and mutator are strings",
                  f"{method}() returned commit_message={proposal.commit_message!r}, "
                  f"mutator={proposal.mutator!r}"[:300])
    if proposal.source is None:
        rules.require(isinstance(proposal.error, str) and bool(proposal.error.strip()),
                      "a Proposal without a program says why (error)",
                      f"{method}() returned source=None and error={proposal.error!r}")
    else:
        missing = _missing_names(proposal.source)
        rules.require(not missing, "a proposed program is a whole module, not a diff or a part",
                      lambda: f"{method}() returned a source that {missing}")
    return proposal


def _missing_names(source: str) -> str:
    """'' when ``source`` parses and defines the program's classes, else what is wrong."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return f"does not parse ({exc.msg}, line {exc.lineno})"
    defined = {node.name for node in tree.body if isinstance(node, ast.ClassDef)}
    defined |= {target.id for node in tree.body if isinstance(node, ast.Assign)
                for target in node.targets if isinstance(target, ast.Name)}
    absent = [name for name in PROGRAM_NAMES if name not in defined]
    return f"defines no {', '.join(absent)}" if absent else ""


def _key(proposal: Proposal) -> tuple[Any, ...]:
    return (type(proposal), proposal.source, proposal.commit_message, proposal.mutator,
            proposal.origin, proposal.error)
