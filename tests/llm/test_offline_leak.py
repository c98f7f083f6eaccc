"""The offline reader, extractor and mutator hold nothing taken from the synthetic generator.

Every word-pool entry (names, cities, jobs, animals, hobbies, relations, event phrases) and
every sentence template of ``evolve.tasks.synth.vocab`` is searched, as a whole word or phrase
and case-insensitively, in the sources of ``evolve/llm/offline/`` and ``evolve/meta/offline/``;
for templates each literal fragment of three or more words is searched too, and the relation
phrase before each slot ("lives in {city}", "works as {a} {job}"). Calendar words
(months, weekdays, relative-date phrases) are general English that any date resolver needs,
so they are the one exemption.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from evolve.tasks.synth import phrasing as P
from evolve.tasks.synth import pools
from evolve.tasks.synth import vocab as V

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*(ROOT / "evolve/llm/offline").glob("*.py"),
                  *(ROOT / "evolve/meta/offline").glob("*.py")])
CALENDAR = {"WEEKDAYS", "MONTHS", "RELATIVE_OFFSETS"}


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):  # keys are the generator's fact kinds, never said in text
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, (tuple, list, frozenset, set)):
        return [s for v in value for s in _strings(v)]
    return []


def pool_entries() -> tuple[set[str], set[str]]:
    """(word and phrase entries, template fragments) of the generator's pools."""
    words: set[str] = set()
    fragments: set[str] = set()
    values = [getattr(V, n) for n in dir(V) if n.isupper() and n not in CALENDAR]
    values += [P.TEMPLATES, *(tuple(vars(pool).values()) for pool in pools.POOLS.values())]
    for value in values:
        for text in _strings(value):
            text = text.strip()
            if not text:
                continue
            if "{" in text or len(text.split()) > 4:  # a sentence template
                for part in re.split(r"\{[^}]*\}", text):
                    part = " ".join(re.findall(r"[A-Za-z']+", part))
                    if len(part.split()) >= 3:
                        fragments.add(part)
                # the relation phrase right before a slot: "lives in {city}", "works as {a}"
                for m in re.finditer(r"\b((?!is\b|was\b|has\b)[a-z]+(?:s|ed) (?:in|to|as)) \{", text):
                    fragments.add(m.group(1))
            else:
                words.add(text)
    return words, fragments


def _found(entry: str, source: str) -> bool:
    words = [re.escape(w) for w in re.findall(r"[A-Za-z']+", entry)]
    if not words:
        return False
    return re.search(r"(?<![A-Za-z])" + r"\W+".join(words) + r"(?![A-Za-z])", source,
                     re.I) is not None


def test_the_pools_are_read():
    words, fragments = pool_entries()
    assert {"Lisbon", "nurse", "pottery", "sister", "Biscuit"} <= words
    assert {"Trondheim", "sommelier", "falconry", "godmother", "Gnocchi"} <= words  # held-out
    assert any(f.startswith("I adopted") for f in fragments)
    assert any(f.startswith("I earn my living") for f in fragments)  # phrasing.py
    assert len(SOURCES) >= 10


def test_the_check_would_catch_a_leak():
    assert _found("guinea pig", "x = ('guinea  pig',)")
    assert _found("Ana", "# e.g. Ana: hello") and not _found("Ana", "banana analysis")


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_pool_entry_in_the_offline_reader_extractor_or_mutator(path):
    words, fragments = pool_entries()
    source = path.read_text()
    leaked = sorted(e for e in words | fragments if _found(e, source))
    assert not leaked, f"{path.name} holds generator vocabulary: {leaked}"
