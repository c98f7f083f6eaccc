"""Question generation of the synthetic dialog task, in LoCoMo category numbering.

1 multi-hop: aggregates two or more facts, comma-separated gold ("Lisbon, Porto");
2 temporal: an event told with a relative date, gold is the resolved date ("6 May 2023");
3 knowledge-update (LoCoMo's slot 3 reused): a fact that changed, gold is the latest value;
4 single-hop: one fact;
5 adversarial: something never said about that person (usually the other speaker's fact);
  ``adversarial_answer`` holds the distractor, there is no ``answer``.
Every item lists the dia_ids of its evidence turns.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from .world import Fact, Person, World, format_date


@dataclass(frozen=True)
class Candidate:
    category: int
    kind: str  # question type, for diversity when sampling
    question: str
    evidence: tuple[Fact, ...]
    answer: str | None = None
    adversarial: str | None = None

    def to_qa(self) -> dict[str, Any]:
        qa: dict[str, Any] = {"question": self.question,
                              "evidence": [f.dia_id for f in self.evidence],
                              "category": self.category}
        if self.category == 5:
            qa["adversarial_answer"] = self.adversarial
        else:
            qa["answer"] = self.answer
        return qa


def article(noun: str) -> str:
    return "an" if noun[:1].lower() in "aeiou" else "a"


def _temporal_question(p: str, f: Fact) -> str | None:
    s = f.slots
    return {
        "move": f"When did {p} move to {s.get('city')}?",
        "job_change": f"When did {p} start working as {article(s.get('job', ''))} {s.get('job')}?",
        "relative_move": f"When did {p}'s {s.get('relation')} {s.get('name')} move to "
                         f"{s.get('city')}?",
        "relative_visit": f"When did {p}'s {s.get('relation')} {s.get('name')} visit {p}?",
        "pet": f"When did {p} adopt {s.get('pet')}?",
        "hobby": f"When did {p} take up {s.get('hobby')}?",
        "trip": f"When did {p} go on a trip to {s.get('city')}?",
        "event": f"When did {p} {s.get('base')}?",
    }.get(f.kind)


def _latest(facts: list[Fact]) -> Fact | None:
    """The fact with the strictly latest date, or None on a tie."""
    ordered = sorted(facts, key=lambda f: (f.date, f.session))
    if len(ordered) >= 2 and ordered[-1].date == ordered[-2].date:
        return None
    return ordered[-1] if ordered else None


def _own_candidates(person: Person, hard: bool = False) -> list[Candidate]:
    p = person.name
    now = "" if hard else " now"  # hard: the update is asked like any other question
    out: list[Candidate] = []
    homes, moves = person.of("home"), person.of("move")
    jobs, changes = person.of("job"), person.of("job_change")
    intros = person.of("relative_job") + person.of("relative_home")
    pets, hobbies, trips = person.of("pet"), person.of("hobby"), person.of("trip")
    # 4 single-hop
    for f in pets:
        out.append(Candidate(4, "pet-name", f"What is the name of {p}'s {f.slots['animal']}?",
                             (f,), f.slots["pet"]))
        out.append(Candidate(4, "pet-kind", f"What kind of animal is {f.slots['pet']}?",
                             (f,), f.slots["animal"]))
    for f in intros:
        rel, name = f.slots["relation"], f.slots["name"]
        out.append(Candidate(4, "relative-name", f"What is the name of {p}'s {rel}?",
                             (f,), name))
        if f.kind == "relative_job":
            out.append(Candidate(4, "relative-job",
                                 f"What does {p}'s {rel} {name} do for a living?",
                                 (f,), f.slots["job"]))
        moved = [m for m in person.of("relative_move") if m.slots["name"] == name]
        if f.kind == "relative_home" and not moved:
            out.append(Candidate(4, "relative-city", f"Where does {p}'s {rel} {name} live?",
                                 (f,), f.slots["city"]))
        if moved:
            # 3 knowledge-update
            out.append(Candidate(3, "relative-city-now",
                                 f"Where does {p}'s {rel} {name} live{now}?",
                                 (f, moved[-1]), moved[-1].slots["city"]))
    if jobs and not changes:
        out.append(Candidate(4, "job", f"What does {p} do for a living?", (jobs[0],),
                             jobs[0].slots["job"]))
    if homes and not moves:
        out.append(Candidate(4, "home", f"Which city does {p} live in?", (homes[0],),
                             homes[0].slots["city"]))
    if homes and moves:
        out.append(Candidate(3, "home-now", f"Where does {p} live{now}?", (homes[0], moves[-1]),
                             moves[-1].slots["city"]))
        out.append(Candidate(1, "cities-lived", f"Which cities has {p} lived in?",
                             (homes[0], *moves),
                             ", ".join([homes[0].slots["city"]] + [m.slots["city"] for m in moves])))
    if jobs and changes:
        out.append(Candidate(3, "job-now", f"What is {p}'s job{now}?", (jobs[0], changes[-1]),
                             changes[-1].slots["job"]))
        out.append(Candidate(1, "jobs-had", f"Which jobs has {p} had?", (jobs[0], *changes),
                             ", ".join([jobs[0].slots["job"]] + [c.slots["job"] for c in changes])))
    latest = _latest(hobbies) if len(hobbies) >= 2 else None
    if latest is not None:
        out.append(Candidate(3, "hobby-latest", f"What is the latest hobby {p} has taken up?",
                             tuple(hobbies), latest.slots["hobby"]))
    # 1 multi-hop
    for kind, facts, question, slot in (
            ("hobbies", hobbies, f"What hobbies has {p} taken up?", "hobby"),
            ("pet-names", pets, f"What are the names of {p}'s pets?", "pet"),
            ("trip-cities", trips, f"Which cities has {p} taken trips to?", "city"),
            ("relative-names", intros, f"What are the names of {p}'s relatives?", "name")):
        if len(facts) >= 2:
            out.append(Candidate(1, kind, question, tuple(facts),
                                 ", ".join(f.slots[slot] for f in facts)))
    if hard:  # aggregation: counts over facts told in different sessions
        if homes and moves:
            out.append(Candidate(1, "count-cities", f"How many cities has {p} lived in?",
                                 (homes[0], *moves), str(1 + len(moves))))
        if len(trips) >= 2:
            out.append(Candidate(1, "count-trips", f"How many trips has {p} taken?",
                                 tuple(trips), str(len(trips))))
        if len(hobbies) >= 2:
            out.append(Candidate(1, "count-hobbies", f"How many hobbies has {p} taken up?",
                                 tuple(hobbies), str(len(hobbies))))
    # 2 temporal
    for f in person.facts:
        temporal = _temporal_question(p, f) if f.rel else None
        if temporal and f.date is not None:
            out.append(Candidate(2, f"when-{f.kind}", temporal, (f,), format_date(f.date)))
    return out


def _adversarial_candidates(person: Person, other: Person) -> list[Candidate]:
    """Questions about ``person`` whose only evidence is a fact of ``other``."""
    p = person.name
    mine_animals = {f.slots["animal"] for f in person.of("pet")}
    mine_relations = {f.slots["relation"] for f in person.facts if "relation" in f.slots}
    mine_cities = {f.slots["city"] for f in person.facts if "city" in f.slots}
    out: list[Candidate] = []
    for f in other.facts:
        s = f.slots
        if f.kind == "pet" and s["animal"] not in mine_animals:
            out.append(Candidate(5, "adv-pet-name", f"What is the name of {p}'s {s['animal']}?",
                                 (f,), adversarial=s["pet"]))
        if f.kind in ("relative_job", "relative_home") and s["relation"] not in mine_relations:
            out.append(Candidate(5, "adv-relative-name",
                                 f"What is the name of {p}'s {s['relation']}?", (f,),
                                 adversarial=s["name"]))
        if f.kind == "relative_job" and s["relation"] not in mine_relations:
            out.append(Candidate(5, "adv-relative-job",
                                 f"What does {p}'s {s['relation']} {s['name']} do for a living?",
                                 (f,), adversarial=s["job"]))
        if f.kind == "trip" and s["city"] in mine_cities:
            continue
        if f.kind in ("event", "hobby", "trip", "pet") and f.rel and f.date is not None:
            question = _temporal_question(p, f)
            if question:
                out.append(Candidate(5, f"adv-when-{f.kind}", question, (f,),
                                     adversarial=format_date(f.date)))
    return out


def pick_questions(world: World, rng: random.Random, per_category: int, *, hard: bool = False,
                   adversarial_share: float = 1.0) -> list[Candidate]:
    """Up to ``per_category`` questions per category, spread over question types; adversarial
    items are capped at ``adversarial_share`` of all items."""
    a, b = world.people
    pool = (_own_candidates(a, hard) + _own_candidates(b, hard) + _adversarial_candidates(a, b)
            + _adversarial_candidates(b, a))
    chosen: list[Candidate] = []
    for category in (1, 2, 3, 4, 5):
        if category == 5 and adversarial_share < 1.0:
            per_category = min(per_category,
                               int(len(chosen) * adversarial_share / (1 - adversarial_share)))
        by_kind: dict[str, list[Candidate]] = defaultdict(list)
        for cand in pool:
            if cand.category == category:
                by_kind[cand.kind].append(cand)
        kinds = sorted(by_kind)
        rng.shuffle(kinds)
        for kind in kinds:
            rng.shuffle(by_kind[kind])
        taken = 0
        while taken < per_category and any(by_kind.values()):
            for kind in kinds:  # round robin over question types
                if by_kind[kind] and taken < per_category:
                    chosen.append(by_kind[kind].pop())
                    taken += 1
    rng.shuffle(chosen)
    return chosen
