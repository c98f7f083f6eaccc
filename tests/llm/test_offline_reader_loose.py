"""The offline reader's loose pass: answers from a partly matching sentence, on conversation
text that does not repeat the question's words (hand-written lines, not from any benchmark)."""

from __future__ import annotations

import pytest

from evolve.llm.offline import NOT_MENTIONED
from evolve.llm.offline.answer import answer_question

BRIEF = "Answer with a short phrase, not a full sentence."


def _turn(speaker: str, text: str, date: str = "4:10 pm on 9 March, 2024") -> str:
    return f"[{date}]\n{speaker}: {text}"


@pytest.mark.parametrize(("question", "memory", "expected"), [
    # the question's words are in one sentence of the turn, the quoted title in the next
    ("What novel did Ines just finish?",
     _turn("Ines", 'I stayed up way too late again. Just finished "The Salt Orchard" and '
                   "wow, what an ending."), "The Salt Orchard"),
    # a why question is answered by the reason clause
    ("Why did Ines start volunteering at the shelter?",
     _turn("Ines", "I started volunteering at the shelter because I wanted to meet people "
                   "who care about animals."), "wanted to meet people who care"),
    # a feeling the speaker names without the question's verb
    ("How did Ines feel about the marathon?",
     _turn("Ines", "The marathon was brutal. Honestly it was exhausting but so rewarding."),
     "brutal"),
])
def test_answers_from_sentences_that_do_not_repeat_the_question(question, memory, expected):
    answer = answer_question(question, memory, BRIEF)
    assert answer != NOT_MENTIONED
    assert expected.lower() in answer.lower()


def test_a_name_only_addressed_is_the_listener_not_the_subject():
    # Ines tells Bruno about her race; asked about Bruno's race, there is nothing to say
    memory = _turn("Ines", "Hey Bruno! I ran a charity race for the library last Sunday.")
    assert answer_question("What kind of race did Bruno run?", memory, BRIEF) == NOT_MENTIONED
    assert answer_question("When did Bruno run a charity race?", memory, BRIEF) == NOT_MENTIONED
    assert answer_question("When did Ines run a charity race?", memory, BRIEF) != NOT_MENTIONED


def test_an_answer_is_not_the_question_said_back():
    memory = _turn("Ines", "I was out walking in my neighborhood when I came across a tiny "
                           "free bookshelf.")
    answer = answer_question("What did Ines find in her neighborhood?", memory, BRIEF)
    assert answer.lower() not in ("neighborhood", "my neighborhood")
    assert "bookshelf" in answer.lower()


def test_other_people_named_in_the_question_must_still_be_there():
    memory = _turn("Ines", "My brother taught me how to sail last summer.")
    assert answer_question("What did Ines learn from Teodor?", memory, BRIEF) == NOT_MENTIONED


def test_a_count_is_the_number_before_the_asked_noun_as_the_memory_writes_it():
    memory = _turn("Ines", "The craft fair runs for three days. I packed forty jars of jam and "
                           "two tablecloths.")
    assert answer_question("How many jars did Ines pack?", memory, BRIEF) == "forty"
    assert answer_question("How many tablecloths did Ines pack?", memory, BRIEF) == "two"


def test_a_thing_is_the_phrase_after_the_first_matching_word_not_a_later_synonym():
    # "rescue" is a near-synonym of "adopt": the phrase after it is where, not what
    memory = _turn("Ines", "Guess what, I adopted a leopard gecko from a rescue centre.")
    assert "gecko" in answer_question("What pet did Ines adopt?", memory, BRIEF)


def test_a_list_gathers_what_each_partly_matching_turn_offers():
    # each turn holds one of the question's three content words: too little for the strict pass
    memory = "\n".join([
        _turn("Ines", 'At the festival the band opened with "Paper Boats".',
              "9:00 am on 2 May, 2024"),
        _turn("Ines", 'Later on I heard "Low Tide Lanterns" live for the first time.',
              "6:15 pm on 20 May, 2024")])
    answer = answer_question("What songs did Ines hear at the festival?", memory, BRIEF)
    assert "Paper Boats" in answer and "Low Tide Lanterns" in answer


@pytest.mark.parametrize(("said_on", "phrase", "expected"), [
    ((2023, 8, 11), "last summer", 2022),   # still summer: the one before
    ((2023, 11, 2), "last summer", 2023),   # summer is over: this year's
    ((2024, 1, 10), "last winter", 2022),   # in the winter that began in 2023
    ((2023, 3, 5), "last winter", 2022),
    ((2023, 12, 1), "last fall", 2023),
])
def test_seasons_resolve_to_the_latest_one_already_over(said_on, phrase, expected):
    import datetime as dt

    from evolve.llm.offline.text import resolve_relative

    season = phrase.split()[1]
    assert resolve_relative(phrase, dt.date(*said_on)) == f"the {season} of {expected}"
