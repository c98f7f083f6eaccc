"""People, facts and session dates of one synthetic conversation (``dialog-synth``).

``plan_conversation`` draws, from a seeded ``random.Random``, two speakers with a home and
later moves, a job and later job changes, relatives (with a job or a city, sometimes a move or
a visit), pets, hobbies, trips, one-off events and follow-up remarks (true facts no question
asks about, which compete with the evidence for a memory's budget), and assigns every fact to
the session in which its owner tells it. Facts that happen "yesterday" / "last Saturday" /
"two weeks ago" carry the phrase and its resolved date (against the session's date), so the
question generator can ask temporal questions with absolute gold dates.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from . import vocab as V
from .pools import POOLS, Pool

# The words of the old sizes (tiny, small, full), unchanged so that their data stays the same.
LEGACY = Pool(
    speakers=V.SPEAKER_NAMES, female_relatives=V.FEMALE_RELATIVE_NAMES,
    male_relatives=V.MALE_RELATIVE_NAMES, pet_names=V.PET_NAMES, cities=V.CITIES, jobs=V.JOBS,
    animals=V.ANIMALS, hobbies=V.HOBBIES, female_relations=V.FEMALE_RELATIONS,
    male_relations=V.MALE_RELATIONS, neutral_relations=V.NEUTRAL_RELATIONS, events=V.EVENTS)


def pool_for(size: SizeSpec, pool: str) -> Pool:
    """The words a size draws from: ``vocab.py`` for the old sizes, ``pools.py`` for hard."""
    return POOLS[pool] if size.hard else LEGACY


@dataclass(frozen=True)
class SizeSpec:
    conversations: int
    sessions: int
    events: int
    hobbies: int
    trips: int
    max_pets: int
    relatives: int
    max_moves: int  # moves after the first home (1..max_moves, sometimes none)
    max_job_changes: int  # 0..max_job_changes
    followups: int  # extra factual remarks per person that no question asks about
    per_category: int  # questions per category per conversation (upper bound)
    # The hard size: pools.py words, phrasing.py templates, updates asked without "now",
    # count questions, adversarial items capped at this share of all items.
    hard: bool = False
    adversarial_share: float = 1.0


# "small" holds ~75 dated facts per conversation (~8k characters as fact lines), far more
# than a 3000-character read budget: a memory has to choose what to return.
SIZES: dict[str, SizeSpec] = {
    "tiny": SizeSpec(conversations=2, sessions=5, events=1, hobbies=2, trips=1, max_pets=1,
                     relatives=1, max_moves=1, max_job_changes=1, followups=2, per_category=4),
    "small": SizeSpec(conversations=3, sessions=16, events=5, hobbies=4, trips=3, max_pets=2,
                      relatives=3, max_moves=2, max_job_changes=2, followups=12,
                      per_category=8),
    "full": SizeSpec(conversations=10, sessions=24, events=7, hobbies=4, trips=4, max_pets=2,
                     relatives=3, max_moves=2, max_job_changes=2, followups=18,
                     per_category=14),
    # 32 sessions, ten surface forms per fact type, four relatives (same-slot distractors:
    # several people with jobs and cities), up to three moves, adversarial items <= 10%.
    "hard": SizeSpec(conversations=4, sessions=32, events=6, hobbies=4, trips=4, max_pets=2,
                     relatives=4, max_moves=3, max_job_changes=2, followups=24,
                     per_category=12, hard=True, adversarial_share=0.1),
}


@dataclass
class Fact:
    """One thing a speaker tells, in the session ``session`` (1-based)."""

    owner: str
    kind: str
    slots: dict[str, str]
    session: int
    rel: str | None = None  # relative-date phrase used in the sentence
    date: dt.date | None = None  # resolved event date (session date when ``rel`` is None)
    dia_id: str = ""  # filled when the session is rendered
    text: str = ""


@dataclass
class Person:
    name: str
    facts: list[Fact] = field(default_factory=list)

    def of(self, kind: str) -> list[Fact]:
        return [f for f in self.facts if f.kind == kind]


@dataclass
class World:
    index: int
    dates: list[dt.datetime]  # one per session
    people: tuple[Person, Person]

    @property
    def facts(self) -> list[Fact]:
        return sorted((f for p in self.people for f in p.facts),
                      key=lambda f: (f.session, f.owner, f.kind))


def format_date(day: dt.date) -> str:
    """Gold date format, e.g. "6 May 2023"."""
    return f"{day.day} {V.MONTHS[day.month - 1]} {day.year}"


def format_date_time(moment: dt.datetime) -> str:
    """LoCoMo session header format, e.g. "1:56 pm on 8 May, 2023"."""
    hour = moment.hour % 12 or 12
    half = "am" if moment.hour < 12 else "pm"
    return (f"{hour}:{moment.minute:02d} {half} on {moment.day} "
            f"{V.MONTHS[moment.month - 1]}, {moment.year}")


def resolve_relative(phrase: str, session_day: dt.date) -> dt.date:
    """Date a relative phrase refers to, told on ``session_day``."""
    if phrase in V.RELATIVE_OFFSETS:
        return session_day + dt.timedelta(days=V.RELATIVE_OFFSETS[phrase])
    weekday = V.WEEKDAYS.index(phrase.split()[-1])
    back = (session_day.weekday() - weekday) % 7 or 7  # strictly before the session day
    return session_day - dt.timedelta(days=back)


def _session_dates(rng: random.Random, count: int) -> list[dt.datetime]:
    day = dt.date(2023, rng.randint(1, 6), rng.randint(1, 28))
    out = []
    for _ in range(count):
        out.append(dt.datetime(day.year, day.month, day.day, rng.randint(8, 21),
                               rng.randint(0, 59)))
        day += dt.timedelta(days=rng.randint(5, 16))
    return out


class _Pools:
    """Draws names and words without repetition inside one conversation."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def take(self, pool: tuple[str, ...]) -> str:
        options = [w for w in pool if w not in self.used]
        choice = self.rng.choice(options)
        self.used.add(choice)
        return choice


def _rel_phrase(rng: random.Random) -> str:
    if rng.random() < 0.4:
        return f"last {rng.choice(V.WEEKDAYS)}"
    return rng.choice(tuple(V.RELATIVE_OFFSETS))


def _timeline(rng: random.Random, count: int, first_hi: int, n_sessions: int) -> list[int]:
    """Increasing sessions: the first in [1, first_hi], the rest spread after it."""
    first = rng.randint(1, first_hi)
    later = sorted(rng.sample(range(first + 1, n_sessions + 1),
                              k=min(count, n_sessions - first)))
    return [first, *later]


def _plan_person(name: str, rng: random.Random, pools: _Pools, size: SizeSpec,
                 n_sessions: int, words: Pool) -> Person:
    person = Person(name)
    early = max(1, n_sessions // 4)

    def add(kind: str, slots: dict[str, Any], session: int, dated: bool) -> Fact:
        fact = Fact(name, kind, slots, session, rel=_rel_phrase(rng) if dated else None)
        person.facts.append(fact)
        return fact

    def anytime(lo: int = 1) -> int:
        return rng.randint(min(lo, n_sessions), n_sessions)

    moves = rng.choice([0, *range(1, size.max_moves + 1), size.max_moves])
    homes = _timeline(rng, moves, early, n_sessions)
    city = pools.take(words.cities)
    add("home", {"city": city}, homes[0], False)
    for session in homes[1:]:
        new_city = pools.take(words.cities)
        add("move", {"city": new_city, "old_city": city}, session, True)
        city = new_city
    jobs = _timeline(rng, rng.randint(0, size.max_job_changes), early + 1, n_sessions)
    job = pools.take(words.jobs)
    add("job", {"job": job}, jobs[0], False)
    for session in jobs[1:]:
        new_job = pools.take(words.jobs)
        add("job_change", {"job": new_job, "old_job": job}, session, True)
        job = new_job
    for index in range(size.relatives):
        gender = rng.choice(("f", "m"))
        relations = words.female_relations if gender == "f" else words.male_relations
        # Relations may repeat across the two speakers but not within one person.
        taken = {f.slots["relation"] for f in person.facts if "relation" in f.slots}
        relation = rng.choice([r for r in relations + words.neutral_relations if r not in taken])
        names = words.female_relatives if gender == "f" else words.male_relatives
        slots = {"relation": relation, "name": pools.take(names)}
        if index % 2 == 0:
            intro = add("relative_job", {**slots, "job": pools.take(words.jobs)},
                        rng.randint(1, max(1, n_sessions - 1)), False)
        else:
            intro = add("relative_home", {**slots, "city": pools.take(words.cities)},
                        rng.randint(1, max(1, n_sessions - 2)), False)
            if rng.random() < 0.6 and intro.session < n_sessions:
                add("relative_move", {**slots, "city": pools.take(words.cities),
                                      "old_city": intro.slots["city"]},
                    anytime(intro.session + 1), True)
        if rng.random() < 0.5:
            add("relative_visit", dict(slots), anytime(intro.session), True)
    for animal in rng.sample(words.animals, k=rng.randint(1, size.max_pets)):
        add("pet", {"animal": animal, "pet": pools.take(words.pet_names)}, anytime(), True)
    for _ in range(size.hobbies):
        add("hobby", {"hobby": pools.take(words.hobbies)}, anytime(), True)
    for _ in range(size.trips):
        add("trip", {"city": pools.take(words.cities)}, anytime(), True)
    bases = dict(words.events)
    for _ in range(size.events):  # drawn from the shared pool: the two speakers never share one
        past = pools.take(tuple(bases))
        add("event", {"event": past, "base": bases[past]}, anytime(), True)
    _add_followups(person, rng, size.followups, n_sessions)
    return person


def _current(facts: list[Fact], session: int, key: str) -> str | None:
    """The value of ``key`` (city, job) in force at ``session`` from a timeline of facts."""
    value = None
    for fact in sorted(facts, key=lambda f: f.session):
        if fact.session <= session:
            value = fact.slots[key]
    return value


def _add_followups(person: Person, rng: random.Random, count: int, n_sessions: int) -> None:
    """Later remarks about known things (pets, relatives, job, city, trips, hobbies) and
    small dated doings: true facts that compete with the evidence for a memory's budget."""
    homes = person.of("home") + person.of("move")
    jobs = person.of("job") + person.of("job_change")
    subjects = [*(("followup_pet", f) for f in person.of("pet")),
                *(("followup_relative", f) for f in person.facts if "relation" in f.slots
                  and f.kind in ("relative_job", "relative_home")),
                *(("followup_trip", f) for f in person.of("trip")),
                *(("followup_hobby", f) for f in person.of("hobby")),
                ("followup_job", None), ("followup_city", None), ("followup_generic", None)]
    for _ in range(count):
        kind, about = rng.choice(subjects)
        session = rng.randint(min(n_sessions, (about.session + 1) if about else 1), n_sessions)
        slots = dict(about.slots) if about else {}
        if kind == "followup_job":
            slots = {"job": _current(jobs, session, "job") or jobs[0].slots["job"]}
        elif kind == "followup_city":
            slots = {"city": _current(homes, session, "city") or homes[0].slots["city"]}
        elif kind == "followup_generic":
            slots = {"n": str(rng.randint(2, 9))}
        person.facts.append(Fact(person.name, kind, slots, session,
                                 rel=_rel_phrase(rng) if rng.random() < 0.5 else None))


def plan_conversation(seed: int, index: int, size: SizeSpec, pool: str = "main") -> World:
    """The deterministic world of conversation ``index`` for ``seed``."""
    rng = random.Random(f"dialog-synth:{seed}:{index}")
    words = pool_for(size, pool)
    dates = _session_dates(rng, size.sessions)
    names = rng.sample(words.speakers, k=2)
    pools = _Pools(rng)
    people = tuple(_plan_person(n, rng, pools, size, size.sessions, words) for n in names)
    for person in people:
        for fact in person.facts:
            day = dates[fact.session - 1].date()
            fact.date = resolve_relative(fact.rel, day) if fact.rel else day
    return World(index, dates, (people[0], people[1]))
