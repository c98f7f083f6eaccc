"""``OfflineMutator``: the template-driven meta-agent that needs no LLM (``MetaAgent``, "offline").

propose(context):
- template parent (its source is exactly ``render(DESIGN)``): diagnose the failed cases
  (``diagnosis.diagnose``), score every applicable move of ``moves.MOVES`` by how well it
  addresses the findings, and sample one (``policy="diagnosis"``, weights ~ score^3) or pick
  one uniformly (``policy="random"``, the ablation). Moves already tried from this parent
  (lineage children, recognised by the ``[offline:<move>]`` tag of their commit message) are
  not tried again, so neither a regression nor a duplicate repeats; nor is a move the
  parent's design makes irrelevant (``masking.MASKS``), or the move that made the parent
  when that changed nothing (``without_effect``);
- non-template parent (hand- or LLM-written, or an edited rendering): tweak one UPPERCASE knob
  of its design-parameter block that addresses the findings (``knobs.tweak``); when none does,
  rewrite it as the nearest template design plus one move, and say so in the commit message;
- ``context.other`` set: crossover: the two designs are merged component by component, each
  component taken from the parent that scores better on the categories it serves;
- all randomness comes from ``random.Random(context.seed)``: the same context gives the same
  child; freeze switches are honoured (``freeze_code``: instruction-only moves;
  ``freeze_instructions``: moves that leave the four constants unchanged).
fix(): re-render a corrupted rendering from its DESIGN record, else fall back to the parent's
design (with another move). repair(): shrink what broke the limit (read size: max_chars, top_k,
no filling; LLM budget: no summary call; time: fewer units) and re-render.
The mutator never raises: failures come back as ``Proposal(source=None, error=...)``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence, Set
from typing import Any

from ..base import ProgramSnapshot, Proposal, ReflectionContext
from . import knobs as K
from .design import (
    LIBRARY_DESIGNS,
    SEED_DESIGNS,
    SPACE,
    parse_design,
    render,
    rendered_id,
    validate,
)
from .diagnosis import Finding, diagnose
from .moves import MOVES_BY_NAME, Move, applicable
from .wording import instructions

TAG = re.compile(r"\[offline:([\w:+.-]+)\]")
POLICIES = ("diagnosis", "random")

# Crossover components: design keys, and the category names whose scores decide the donor.
COMPONENTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "evidence": (("unit", "chunk_chars", "context_lines", "lessons", "fallback_lines",
                  "max_item_chars", "index", "top_k", "candidates", "rrf_k", "per_source_cap",
                  "entity_index", "fill_budget", "item_instruction", "query_instruction"),
                 ("multi-hop", "single-hop")),
    "time": (("date_prefix", "resolve_dates", "always_on"), ("temporal",)),
    "update": (("update", "layout"), ("knowledge-update",)),
    "output": (("max_chars", "summarize", "selection_chars", "summary_words",
                "append_excerpts", "lesson_share", "response_instruction"), ("adversarial",)),
}
_DEFAULT_NAMES = {"1": "multi-hop", "2": "temporal", "3": "knowledge-update", "4": "single-hop",
                  "5": "adversarial"}


def tried_moves(context: ReflectionContext) -> dict[str, bool]:
    """Move tags of the parent's already-tried children -> whether that child regressed."""
    out: dict[str, bool] = {}
    for entry in context.lineage:
        if entry.relation != "child":
            continue
        for tag in TAG.findall(entry.commit_message or ""):
            # a pending child (still being evaluated) is tried, but not known to be bad
            bad = not entry.pending and (entry.regression or entry.score is None
                                         or (entry.delta or 0.0) < 0)
            out[tag] = out.get(tag, False) or bad
    return out


def without_effect(context: ReflectionContext) -> set[str]:
    """Moves known to have changed nothing on this line: the move that made the parent, and
    those that made its ancestors back to the last one that changed its score.

    A ``no_op`` child (same answer and score as its parent on every validation item) remains in
    the pool and is picked as a parent as often as the program it copies. Its lineage shows it
    as a child whose score equals its parent's exactly (the log carries no separate no-op flag;
    an equal score is what every no-op has). Nothing observable changed along that run of
    entries, so the same move again (the next rung of the same knob) is not worth a child;
    the parent's own tried children are excluded by ``tried_moves`` already.
    """
    chain = [e for e in context.lineage if e.relation in ("ancestor", "parent")]
    out: set[str] = set()
    for entry in reversed(chain):  # the parent first, then older ancestors
        if entry.delta is None or entry.delta != 0.0 or entry.score is None:
            break
        out.update(TAG.findall(entry.commit_message or ""))
    return out


def known_programs(context: ReflectionContext) -> set[str]:
    """Ids of the programs the lineage log names (ancestors, parent, tried children)."""
    ids = {e.program_id for e in context.lineage} | {context.parent.program_id}
    if context.other is not None:
        ids.add(context.other.program_id)
    return {i for i in ids if i}


def _is_known(design: dict[str, Any], known: set[str]) -> bool:
    """True when ``design`` renders to a program the lineage already holds (ids are the
    sha256 of the source; abbreviated ids of 8+ characters match as prefixes)."""
    if not known:
        return False
    pid = rendered_id(design)
    return any(pid == k or (len(k) >= 8 and pid.startswith(k)) for k in known)


def template_design(snapshot: ProgramSnapshot) -> dict[str, Any] | None:
    """The snapshot's design when its source is exactly the rendering of it, else None."""
    design = snapshot.design
    if design is not None:
        try:
            design = validate(design)
        except ValueError:
            design = None
    design = design or parse_design(snapshot.source)
    if design is None or render(design) != snapshot.source:
        return None
    return design


def _because(findings: Sequence[Finding], limit: int = 2) -> str:
    if not findings:
        return "no failed case to diagnose"
    return "; ".join(f.summary() for f in findings[:limit])


class OfflineMutator:
    """Template-driven offline meta-agent (see the module docstring)."""

    name = "offline"

    def __init__(self, policy: str = "diagnosis",
                 library: Sequence[dict[str, Any]] | None = None) -> None:
        if policy not in POLICIES:
            raise ValueError(f"unknown offline policy {policy!r}; choose from "
                             f"{', '.join(POLICIES)}")
        self.policy = policy
        default = [*SEED_DESIGNS.values(), *LIBRARY_DESIGNS.values()]
        self.library = [validate(d) for d in (library if library is not None else default)]

    # ------------------------------------------------------------------ propose
    def propose(self, context: ReflectionContext) -> Proposal:
        try:
            if context.other is not None:
                return self._crossover(context)
            return self._mutate(context)
        except Exception as exc:  # the contract: never raise for a bad parent
            return Proposal(None, "", "offline", error=f"offline mutator failed: {exc!r}")

    def _findings(self, context: ReflectionContext, design: dict[str, Any] | None
                  ) -> list[Finding]:
        return diagnose(context.failed_cases, context.parent.per_category,
                        context.category_names or None,
                        max_chars=(design or {}).get("max_chars", 3000))

    def _allowed(self, context: ReflectionContext, old: dict[str, Any], move: Move,
                 new: dict[str, Any]) -> bool:
        if context.freeze_code and not move.instruction_only:
            return False
        if context.freeze_instructions and instructions(new) != instructions(old):
            return False
        return True

    def choose(self, design: dict[str, Any], findings: Sequence[Finding],
               context: ReflectionContext, rng: random.Random,
               exclude: Set[str] = frozenset()) -> tuple[Move, dict[str, Any]] | None:
        """The move to apply to ``design`` (None when every applicable move was tried)."""
        tried = tried_moves(context)
        idle = without_effect(context)
        known = known_programs(context)
        options = [(m, d) for m, d in applicable(design)
                   if m.name not in tried and m.name not in idle and m.name not in exclude
                   and self._allowed(context, design, m, d) and not _is_known(d, known)]
        if not options:
            return None
        if self.policy == "random" or not findings:
            return rng.choice(options)
        scored = []
        for move, new in options:
            affinity = move.affinity(design)
            score = sum(f.weight * affinity.get(f.kind, 0.0) for f in findings)
            scored.append((score, move, new))
        positive = [s for s in scored if s[0] > 0]
        if not positive:  # nothing addresses the findings: explore, but not with wording
            code = [o for o in options if not o[0].instruction_only] or options
            return rng.choice(code)
        weights = [s[0] ** 3 for s in positive]
        pick = rng.choices(range(len(positive)), weights=weights, k=1)[0]
        return positive[pick][1], positive[pick][2]

    def _mutate(self, context: ReflectionContext) -> Proposal:
        rng = random.Random(context.seed)
        design = template_design(context.parent)
        findings = self._findings(context, design)
        if design is None:
            return self._mutate_foreign(context, findings, rng)
        choice = self.choose(design, findings, context, rng)
        if choice is None:
            return self._from_library(context, design, findings, rng)
        move, new = choice
        why = ("random move" if self.policy == "random" else f"diagnosis: {_because(findings)}")
        message = f"{move.describe(design, new)}. ({why}) [offline:{move.name}]"
        return Proposal(render(new), message, f"offline:{move.name}", design=new)

    def _mutate_foreign(self, context: ReflectionContext, findings: list[Finding],
                        rng: random.Random) -> Proposal:
        source = context.parent.source
        tried = tried_moves(context)
        avoid = {t[len("knob:"):] for t in tried if t.startswith("knob:")}
        wanted = {f.kind: f.weight for f in findings}
        if self.policy == "random":
            wanted = {kind: rng.random() for kind in wanted or ("evidence_missing", "noise")}
        if context.freeze_code:
            return Proposal(None, "", "offline", error="freeze_code: the offline mutator changes "
                            "instructions only through template variants, and this parent is "
                            "not a template rendering")
        tweaked = K.tweak(source, wanted, avoid)
        if tweaked is not None:
            new_source, tag, text = tweaked
            message = (f"{text} in the design-parameter block of this non-template program. "
                       f"(diagnosis: {_because(findings)}) [offline:knob:{tag}]")
            return Proposal(new_source, message, "offline:knob", design=None)
        if context.freeze_instructions:
            return Proposal(None, "", "offline", error="freeze_instructions: no knob addresses "
                            "the findings and a template rewrite would change the instructions")
        base = K.nearest_design(source)
        choice = self.choose(base, findings, context, rng, exclude=set())
        summary = ", ".join(f"{k}={base[k]}" for k in ("unit", "index", "top_k", "max_chars"))
        if choice is None:
            new, tail, tag = base, "", "rewrite"
        else:
            move, new = choice
            tail, tag = f"; then {move.describe(base, new)}", f"rewrite+{move.name}"
        if f"{tag}" in tried:
            return Proposal(None, "", "offline:rewrite", error="every rewrite was tried")
        message = (f"Rewrote the non-template parent as the nearest template design "
                   f"({summary}){tail}. (diagnosis: {_because(findings)}) [offline:{tag}]")
        return Proposal(render(new), message, "offline:rewrite", design=new)

    def _from_library(self, context: ReflectionContext, design: dict[str, Any],
                      findings: list[Finding], rng: random.Random) -> Proposal:
        """Every move was tried: cross the parent with the most different library design."""
        tried = tried_moves(context)
        for index, other in sorted(enumerate(self.library),
                                   key=lambda io: -sum(io[1][k] != design[k] for k in SPACE)):
            tag = f"library{index}"
            if tag in tried or other == design:
                continue
            child, notes = self._merge(design, other, context.parent.per_category, {},
                                       context, rng)
            if child in (design, other) or _is_known(child, known_programs(context)):
                continue
            message = (f"All moves tried from this parent; crossed it with library design "
                       f"{index}: {notes}. [offline:{tag}]")
            return Proposal(render(child), message, "offline:crossover", origin="crossover",
                            design=child)
        return Proposal(None, "", "offline", error="no untried move or library crossover left")

    # ------------------------------------------------------------------ crossover
    def _merge(self, a: dict[str, Any], b: dict[str, Any], scores_a: dict[str, float],
               scores_b: dict[str, float], context: ReflectionContext, rng: random.Random
               ) -> tuple[dict[str, Any], str]:
        names = {**_DEFAULT_NAMES, **(context.category_names or {})}
        child, notes = dict(a), []
        for component, (keys, cats) in COMPONENTS.items():
            if all(a[k] == b[k] for k in keys):
                continue
            wanted = [c for c, n in names.items() if n in cats]
            sa = [scores_a[c] for c in wanted if c in scores_a]
            sb = [scores_b[c] for c in wanted if c in scores_b]
            mean_a = sum(sa) / len(sa) if sa else None
            mean_b = sum(sb) / len(sb) if sb else None
            if mean_a is not None and mean_b is not None and mean_a != mean_b:
                take_b = mean_b > mean_a
                why = f"{'/'.join(cats)} {max(mean_a, mean_b):.2f} vs {min(mean_a, mean_b):.2f}"
            else:
                take_b = rng.random() < 0.5
                why = "no score difference, coin flip"
            if take_b:
                child.update({k: b[k] for k in keys})
            notes.append(f"{component} from {'B' if take_b else 'A'} ({why})")
        return validate(child), "; ".join(notes) or "identical designs"

    def _crossover(self, context: ReflectionContext) -> Proposal:
        rng = random.Random(context.seed)
        other = context.other
        assert other is not None
        a = template_design(context.parent) or K.nearest_design(context.parent.source)
        b = template_design(other) or K.nearest_design(other.source)
        child, notes = self._merge(a, b, dict(context.parent.per_category),
                                   dict(other.per_category), context, rng)
        extra = ""
        if child in (a, b) or _is_known(child, known_programs(context)):
            # nothing new: add one diagnosed move
            findings = self._findings(context, child)
            choice = self.choose(child, findings, context, rng)
            if choice is None:
                return Proposal(None, "", "offline:crossover", origin="crossover",
                                error="crossover gave a parent back and no move was left")
            move, child = choice[0], choice[1]
            extra = f"; then {move.describe(a, child)} [offline:{move.name}]"
        message = (f"Crossover of A={context.parent.program_id[:10]} and "
                   f"B={other.program_id[:10]}: {notes}{extra} [offline:crossover]")
        return Proposal(render(child), message, "offline:crossover", origin="crossover",
                        design=child)

    # ------------------------------------------------------------------ fix / repair
    def fix(self, context: ReflectionContext, source: str, stage: str, message: str,
            attempt: int) -> Proposal:
        try:
            own = parse_design(source)
            if own is not None and render(own) != source and attempt <= 1:
                return Proposal(render(own), f"Re-rendered from its DESIGN record after a "
                                f"{stage} gate failure ({message[:160]}) [offline:fix]",
                                "offline:fix", origin="repair", design=own)
            base = template_design(context.parent) or K.nearest_design(context.parent.source)
            rng = random.Random(context.seed + attempt)
            exclude = {name for name, move in MOVES_BY_NAME.items()
                       if own is not None and move.apply(base) == own}
            choice = self.choose(base, self._findings(context, base), context, rng, exclude)
            new, tail = base, ""
            if choice is not None and attempt < 3:
                new, tail = choice[1], f"; then {choice[0].describe(base, choice[1])}"
            return Proposal(render(new), f"Fell back to the parent's last good design after a "
                            f"{stage} gate failure ({message[:160]}){tail} [offline:fix]",
                            "offline:fix", origin="repair", design=new)
        except Exception as exc:
            return Proposal(None, "", "offline:fix", origin="repair",
                            error=f"offline fix failed: {exc!r}")

    def repair(self, context: ReflectionContext, source: str, violation: str) -> Proposal:
        try:
            design = parse_design(source) or K.nearest_design(source)
            low = violation.lower()
            changes: list[str] = []

            def shrink(key: str) -> None:
                ladder = [v for v in SPACE[key].ladder if v < design[key]]
                if ladder:
                    changes.append(f"{key} {design[key]} -> {max(ladder)}")
                    design[key] = max(ladder)

            if re.search(r"llm|budget|call", low) and design["summarize"]:
                design["summarize"] = False
                changes.append("no summary call")
            if re.search(r"char|size|long|read|output|cap", low):
                shrink("max_chars")
                shrink("top_k")
                if design["fill_budget"] and design["index"] != "none":
                    design["fill_budget"] = False
                    changes.append("no budget filling")
            if re.search(r"time|slow|second", low):
                shrink("top_k")
                if design["index"] in ("hybrid", "vector"):
                    design["index"] = "fts5"
                    changes.append("index fts5 (cheaper)")
            if not changes:
                shrink("max_chars")
                shrink("top_k")
            new = validate(design)
            return Proposal(render(new), f"Repair after a runtime violation ({violation[:160]}): "
                            f"{', '.join(changes) or 'smaller reads'} [offline:repair]",
                            "offline:repair", origin="repair", design=new)
        except Exception as exc:
            return Proposal(None, "", "offline:repair", origin="repair",
                            error=f"offline repair failed: {exc!r}")
