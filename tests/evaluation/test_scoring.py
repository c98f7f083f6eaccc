"""LoCoMo and SQuAD-style answer scoring."""

from __future__ import annotations

import pytest

from evolve.errors import UsageError
from evolve.tasks.scoring import (
    SCORERS,
    get_scorer,
    is_abstention,
    locomo_f1,
    normalize_locomo,
    normalize_squad,
    squad_f1,
    stemmed_f1,
)


def test_normalisation_drops_commas_punctuation_articles_and_and():
    assert normalize_locomo("The dog, AND a cat!") == "dog cat"
    assert normalize_squad("The dog, and a cat!") == "dog and cat"


def test_exact_and_partial_f1():
    assert locomo_f1("Biscuit", "Biscuit", 4) == 1.0
    assert locomo_f1("a dog", "dog", 4) == 1.0
    # {6, may, 2023} vs {7, may, 2023}: precision = recall = 2/3
    assert locomo_f1("6 May 2023", "7 May, 2023", 2) == pytest.approx(2 / 3)
    assert locomo_f1("", "Biscuit", 4) == 0.0
    assert locomo_f1("Porto", "Lisbon", 4) == 0.0


def test_stemming_only_in_locomo_flavour():
    assert stemmed_f1("running", "run") == 1.0
    assert squad_f1("running", "run", 4) == 0.0
    assert locomo_f1("adopted dogs", "adopt dog", 2) == 1.0


def test_and_is_dropped_only_by_locomo():
    assert locomo_f1("salt and pepper", "salt pepper", 4) == 1.0
    assert squad_f1("salt and pepper", "salt pepper", 4) == pytest.approx(0.8)


def test_category_1_splits_on_commas_and_averages_over_gold_parts():
    assert locomo_f1("Lisbon", "Lisbon, Porto", 1) == pytest.approx(0.5)
    assert locomo_f1("Porto, Rome, Lisbon", "Lisbon, Porto", 1) == 1.0
    assert locomo_f1("Lisbon Porto", "Lisbon, Porto", 1) == pytest.approx(2 / 3)
    # SQuAD flavour does not split: 1 of 2 gold tokens, precision 1
    assert squad_f1("Lisbon", "Lisbon, Porto", 1) == pytest.approx(2 / 3)


def test_category_3_gold_is_cut_at_first_semicolon():
    assert locomo_f1("psychology", "Psychology; counseling certification", 3) == 1.0
    assert locomo_f1("psychology", "Psychology; counseling certification", 4) < 1.0
    assert squad_f1("psychology", "Psychology; counseling certification", 3) < 1.0


@pytest.mark.parametrize("answer,expected", [
    ("not mentioned", 1.0), ("This is Not Mentioned in the conversation.", 1.0),
    ("No information available.", 1.0), ("Biscuit", 0.0), ("", 0.0), ("mentioned", 0.0),
])
def test_category_5_rewards_abstention_in_both_flavours(answer, expected):
    assert locomo_f1(answer, "whatever", 5) == expected
    assert squad_f1(answer, "whatever", "5") == expected
    assert is_abstention(answer) == bool(expected)


def test_string_categories_and_int_gold_are_accepted():
    assert locomo_f1("3", 3, "4") == 1.0  # type: ignore[arg-type]


def test_scorer_lookup():
    assert set(SCORERS) == {"locomo", "squad"}
    assert get_scorer("locomo")("running", "run", 4) == 1.0
    assert get_scorer("squad")("running", "run", 4) == 0.0
    with pytest.raises(UsageError, match="unknown scorer 'bleu'.*locomo, squad"):
        get_scorer("bleu")
