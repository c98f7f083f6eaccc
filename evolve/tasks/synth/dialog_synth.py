"""The built-in synthetic dialog task ``dialog-synth`` (docs/tasks.md).

Deterministic by ``seed``: two people per conversation with jobs, relatives, pets, homes,
hobbies, trips and dated events, told across dated sessions full of small talk; homes, jobs and
relatives' cities change over time. The data is generated in memory in the LoCoMo JSON format
(``generate_samples``; ``write_locomo_json`` saves it) and served through the LoCoMo loader and
scorer, so everything that works on ``locomo`` works here.

Categories keep LoCoMo's numbering, but slot 3 holds knowledge-update questions (see
``SYNTH_CATEGORIES``). Sizes: ``tiny`` (tests, 2 conversations x 5 sessions, ~40 questions),
``small`` (default, 3 x 16, ~115 questions, ~14k characters per conversation), ``full``
(10 x 24, ~575), ``hard`` (4 x 32: the larger word pools of ``pools.py`` with a ``held-out``
pool, ten surface forms per fact type from ``phrasing.py``, updates asked without "now",
count questions, adversarial items at most 10%).
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...errors import UsageError
from ..locomo import LocomoTask
from ..splits import Size
from . import phrasing as P
from . import vocab as V
from .pools import POOLS
from .questions import article, pick_questions
from .world import SIZES, Fact, World, format_date_time, plan_conversation

SYNTH_CATEGORIES: dict[str, str] = {
    "1": "multi-hop", "2": "temporal", "3": "knowledge-update", "4": "single-hop",
    "5": "adversarial",
}

_PHOTOS = (
    ("a photo of a cup of coffee on a wooden table", "coffee cup"),
    ("a photo of a sunset over some rooftops", "sunset rooftops"),
    ("a photo of a bowl of soup on a kitchen counter", "bowl of soup"),
    ("a photo of a pile of books on a sofa", "pile of books"),
)


def _fact_sentence(rng: random.Random, fact: Fact, hard: bool = False) -> str:
    slots = dict(fact.slots)
    noun = slots.get("job") or slots.get("animal") or ""
    forms = P.TEMPLATES.get(fact.kind) if hard else None
    template = rng.choice(forms or V.TEMPLATES[fact.kind])
    text = template.format(rel=fact.rel or "", a=article(noun), **slots)
    text = " ".join(text.split())  # an empty {rel} leaves a double space
    return text.replace(" !", "!").replace(" .", ".").replace(" ,", ",")


def _render_session(rng: random.Random, world: World, number: int,
                    hard: bool = False) -> list[dict[str, Any]]:
    names = [p.name for p in world.people]
    facts = [f for f in world.facts if f.session == number]
    rng.shuffle(facts)
    blocks: list[Fact | None] = [*facts, *([None] * rng.randint(2, 4))]
    rng.shuffle(blocks)
    talk = list(V.SMALL_TALK)
    rng.shuffle(talk)
    turns: list[dict[str, Any]] = []

    def other(name: str) -> str:
        return names[1] if name == names[0] else names[0]

    def say(speaker: str, text: str) -> dict[str, Any]:
        turn = {"speaker": speaker, "dia_id": f"D{number}:{len(turns) + 1}", "text": text}
        turns.append(turn)
        return turn

    first = rng.choice(names)
    say(first, rng.choice(V.GREETINGS))
    say(other(first), rng.choice(V.GREETING_REPLIES))
    for block in blocks:
        nxt = other(turns[-1]["speaker"])
        if block is None:
            opener, reply = talk.pop()
            turn = say(nxt, opener)
            if rng.random() < 0.15:
                caption, query = rng.choice(_PHOTOS)
                turn.update(img_url=[f"https://example.invalid/{query.replace(' ', '_')}.jpg"],
                            blip_caption=caption, query=query)
            say(other(nxt), reply)
            continue
        if nxt != block.owner:
            say(nxt, rng.choice(V.PROMPTS))
        block.text = _fact_sentence(rng, block, hard)
        lead = rng.choice(V.LEAD_INS)
        if block.text.startswith(("Oh", "Guess", "Big")):
            lead = ""  # the sentence brings its own opener
        turn = say(block.owner, lead + block.text)
        block.dia_id = turn["dia_id"]
        say(other(block.owner), rng.choice(V.REACTIONS))
    closer = other(turns[-1]["speaker"])
    bye, bye_reply = rng.choice(V.CLOSINGS)
    say(closer, bye)
    say(other(closer), bye_reply)
    return turns


def _conversation_sample(seed: int, index: int, size: str, pool: str) -> dict[str, Any]:
    spec = SIZES[size]
    world = plan_conversation(seed, index, spec, pool)
    rng = random.Random(f"dialog-synth-render:{seed}:{index}")
    conversation: dict[str, Any] = {"speaker_a": world.people[0].name,
                                    "speaker_b": world.people[1].name}
    for number in range(1, spec.sessions + 1):
        conversation[f"session_{number}_date_time"] = format_date_time(world.dates[number - 1])
        conversation[f"session_{number}"] = _render_session(rng, world, number, spec.hard)
    qa = [c.to_qa() for c in pick_questions(world, rng, spec.per_category, hard=spec.hard,
                                            adversarial_share=spec.adversarial_share)]
    sample_id = f"synth-{seed}-{index}" if pool == "main" else f"synth-{pool}-{seed}-{index}"
    return {"sample_id": sample_id, "conversation": conversation, "qa": qa,
            "event_summary": {}, "observation": {}, "session_summary": {}}


def generate_samples(size: str = "small", seed: int = 0, conversations: int | None = None,
                     pool: str = "main") -> list[dict[str, Any]]:
    """LoCoMo-format samples of the synthetic task (pure function of its arguments)."""
    if size not in SIZES:
        raise UsageError(f"bad value for size: {size!r} (choose from: {', '.join(SIZES)})")
    if pool not in POOLS:
        raise UsageError(f"bad value for pool: {pool!r} (choose from: {', '.join(POOLS)})")
    if pool != "main" and not SIZES[size].hard:
        raise UsageError(f"pool={pool} needs size=hard (the {size} size has one word list)")
    count = SIZES[size].conversations if conversations is None else conversations
    if count < 1:
        raise UsageError(f"bad value for conversations: {count} (at least 1)")
    return [_conversation_sample(seed, index, size, pool) for index in range(count)]


def write_locomo_json(path: str | Path, size: str = "small", seed: int = 0,
                      conversations: int | None = None) -> Path:
    """Write the synthetic data as a LoCoMo-format JSON file; returns the path."""
    out = Path(path)
    out.write_text(json.dumps(generate_samples(size, seed, conversations), indent=1),
                   encoding="utf-8")
    return out


class DialogSynthTask(LocomoTask):
    """``dialog-synth``: generated LoCoMo-format data scored like LoCoMo."""

    def __init__(self, *, size: str = "small", seed: int = 0, conversations: int | None = None,
                 categories: Sequence[int] = (1, 2, 3, 4, 5), split_seed: int = 0,
                 test: Size = 0.2, train: Size = 0, scorer: str = "locomo",
                 pool: str = "main") -> None:
        samples = generate_samples(size, seed, conversations, pool)
        label = f"size={size}, seed={seed}" + (f", pool={pool}" if pool != "main" else "")
        super().__init__(samples, source=f"dialog-synth({label})",
                         name="dialog-synth", categories=categories, seed=split_seed,
                         test=test, train=train, scorer=scorer,
                         category_names=SYNTH_CATEGORIES,
                         extra_description={"size": size, "data_seed": seed,
                                            "category_note": "slot 3 = knowledge-update"})
