"""Elliptical replies (``evolve.llm.offline.replies``): a turn that opens with a bare phrase
answers the question before it, in words the question does not use."""

from __future__ import annotations

import pytest

from evolve.llm.offline.answer import NOT_MENTIONED, answer_question
from evolve.llm.offline.replies import reply_fragment
from evolve.llm.offline.text import parse_units

INSTRUCTION = "Answer with a short phrase. If the memory does not say, answer 'not mentioned'."
DATE = "[6:20 pm on 3 September, 2022]"


def first_unit(line: str):
    return parse_units(f"{DATE} {line}")[0]


@pytest.mark.parametrize(("line", "fragment"), [
    ("Noor: Tortoise, the one with the wonky shell.", "Tortoise"),
    ("Noor: A retired clockmaker called Idris.", "A retired clockmaker called Idris"),
    ("Noor: Three weeks. Then back to the grind.", "Three weeks"),
    ("Noor: Oh wow.", ""),                      # an exclamation-like reply holds nothing
    ("Noor: Yes, definitely.", ""),
    ("Noor: I went there in May.", ""),          # a clause, not a bare phrase
    ("Noor: Idris arrived late, as usual.", ""),  # a named subject and its verb
    ("Noor: Where are you now?", ""),            # a question
    ("Noor: That was a long day at the market for everybody.", ""),
])
def test_a_reply_fragment_is_a_short_verbless_opening(line, fragment):
    assert reply_fragment(first_unit(line)) == fragment


def test_only_a_turns_first_sentence_is_a_fragment():
    units = parse_units(f"{DATE} Noor: I got back. Three weeks.")
    assert reply_fragment(units[1]) == ""


def test_a_bare_reply_answers_a_question_it_shares_no_word_with():
    memory = f"{DATE} Noor: Tortoise. He is ninety and sleeps under the radiator."
    assert answer_question("What is the name of Noor's pet?", memory, INSTRUCTION) == "Tortoise"
    memory = f"{DATE} Noor: Three weeks. The festival itself is two days."
    assert answer_question("How long will Noor be in Oaxaca?", memory,
                           INSTRUCTION) == "Three weeks"



def test_a_reply_by_the_other_speaker_is_not_about_the_speaker_asked_about():
    memory = (f"{DATE} Bastien: What do you call him?\n"
              f"{DATE} Noor: Tortoise. He is ninety and sleeps under the radiator.")
    assert answer_question("What is the name of Bastien's pet?", memory,
                           INSTRUCTION) == NOT_MENTIONED


def test_a_fragment_must_offer_the_kind_of_answer_asked_for():
    memory = (f"{DATE} Bastien: How was the weekend?\n"
              f"{DATE} Noor: Quiet. We mostly read.")
    assert answer_question("Who visited Noor at the weekend?", memory,
                           INSTRUCTION) == NOT_MENTIONED
    assert answer_question("When did Noor visit the coast?", memory,
                           INSTRUCTION) == NOT_MENTIONED


@pytest.mark.parametrize(("question", "line", "expected"), [
    # no sentence holds half the question's words: the closest one's polarity answers
    ("Would Noor enjoy a night in a tent?", "Noor: I slept on the hill summit alone, "
                                            "in my tent, and loved it.", "Yes"),
    ("Is Noor good at knitting?", "Noor: I tried knitting a scarf but I am hopeless.", "No"),
    ("Could Noor drive the van in June?", "Noor: No driving for six weeks, doctor's orders, "
                                          "so the van waits.", "No"),
])
def test_a_yes_no_question_leans_on_the_closest_sentence(question, line, expected):
    assert answer_question(question, f"{DATE} {line}", INSTRUCTION) == expected


def test_a_yes_no_question_with_nothing_related_is_not_answered():
    memory = f"{DATE} Noor: The bakery opens at six on weekdays."
    assert answer_question("Would Noor enjoy a night in a tent?", memory,
                           INSTRUCTION) == NOT_MENTIONED
    # about someone else entirely: the subject rule still holds
    memory = f"{DATE} Bastien: I tried knitting a scarf but I am hopeless."
    assert answer_question("Is Noor good at knitting?", memory, INSTRUCTION) == NOT_MENTIONED


def test_a_typed_list_gathers_every_sentence_about_the_subject():
    memory = (f"{DATE} Noor: Greetings from my new flat in Tromsø!\n"
              f"[1:10 pm on 21 January, 2023] Noor: Back in Bergen for a month, then home.")
    assert answer_question("Which cities has Noor lived in?", memory,
                           INSTRUCTION) == "Tromsø, Bergen"
    # the subject rule holds for every member
    memory += "\n[2:00 pm on 22 January, 2023] Bastien: I am writing from Lyon."
    assert "Lyon" not in answer_question("Which cities has Noor lived in?", memory, INSTRUCTION)


def test_a_fragment_answers_only_a_question_of_its_kind_before_it():
    asked = (f"{DATE} Bastien: How long will you be away?\n"
             f"{DATE} Noor: Three weeks. The festival itself is two days.")
    assert answer_question("How long will Noor be in Oaxaca?", asked, INSTRUCTION) == "Three weeks"
    other = asked.replace("How long will you be away?", "Where are you off to?")
    assert answer_question("How long will Noor be in Oaxaca?", other, INSTRUCTION) == NOT_MENTIONED
    told = asked.replace("How long will you be away?", "I am off to Oaxaca soon.")
    assert answer_question("How long will Noor be in Oaxaca?", told, INSTRUCTION) == NOT_MENTIONED


def test_a_capitalised_word_in_a_fragment_is_not_a_name_unless_introduced():
    memory = (f"{DATE} Bastien: Who came along?\n"
              f"{DATE} Noor: A fisherman from Tórshavn. He knew every cliff.")
    assert answer_question("Who is Noor's guide?", memory, INSTRUCTION) == NOT_MENTIONED
    memory = memory.replace("A fisherman from Tórshavn", "A fisherman called Jógvan")
    assert answer_question("Who guided Noor?", memory, INSTRUCTION) == "Jógvan"



def test_a_strict_instruction_keeps_only_outright_support():
    strict = ("Answer with a short phrase. Only use statements about the very person asked "
              "about; a fact about someone else does not answer the question.")
    reply = f"{DATE} Noor: Tortoise. He is ninety and sleeps under the radiator."
    leaning = f"{DATE} Noor: I tried knitting a scarf but I am hopeless."
    assert answer_question("What is the name of Noor's pet?", reply, INSTRUCTION) == "Tortoise"
    assert answer_question("What is the name of Noor's pet?", reply, strict) == NOT_MENTIONED
    assert answer_question("Is Noor good at knitting?", leaning, strict) == NOT_MENTIONED
    outright = f"{DATE} Noor: My tortoise is called Nikolai."
    assert answer_question("What is the name of Noor's tortoise?", outright, strict) == "Nikolai"
    # a count of the things each sentence outright states is outright support too
    visits = f"{DATE} Noor: I visited Bergen in May.\n{DATE} Noor: I visited Oslo in June."
    assert answer_question("How many cities did Noor visit?", visits, INSTRUCTION) == "2"
    assert answer_question("How many cities did Noor visit?", visits, strict) == "2"


def test_a_date_told_in_the_turns_next_sentence_or_a_bare_reply():
    memory = f"{DATE} Noor: I accepted the ferry job in Bodø. I start on the first of October."
    assert answer_question("When does Noor start the ferry job?", memory,
                           INSTRUCTION) == "1 October 2022"
    memory = (f"{DATE} Bastien: When is the audition?\n"
              f"{DATE} Noor: Next February. I am terrified.")
    assert answer_question("When is Noor's audition?", memory, INSTRUCTION) == "February 2023"




def test_a_hyphenated_number_word_is_one_number():
    from evolve.llm.offline.spans import numbers
    assert numbers("Still dancing at seventy-two, and she has fifty-eight pupils.") == [
        "seventy-two", "fifty-eight"]


@pytest.mark.parametrize(("lines", "question", "expected"), [
    pytest.param(  # both speakers known: "Farida" is a third person, the reply need not name her
        ["Noor: My cousin Farida got engaged!", "Bastien: Wonderful news. Who is the lucky one?",
         "Noor: A retired clockmaker called Idris."],
        "Who is Farida engaged to?", "Idris", id="reply-about-a-third-person"),
    pytest.param(
        ["Noor: The little oven kept us warm and Bastien baked rye bread in it."],
        "What did Bastien bake in the oven?", "rye bread", id="object-of-the-asked-verb"),
    pytest.param(  # "Antwerp" is a place, not another person the sentence is about
        ["Noor: My brother-in-law Piet got the job!", "Bastien: What will he do there?",
         "Noor: He is a set painter at the opera house in Antwerp."],
        "What does Piet do for a living?", "set painter", id="place-is-not-a-person"),
    pytest.param(
        ["Noor: Our new coach is a former sprinter called Ingrid Solvang Berg."],
        "Who is Noor's coach?", "Ingrid Solvang Berg", id="name-of-several-words"),
])
def test_forms_of_its_own(lines, question, expected):
    memory = "\n".join(f"{DATE} {line}" for line in lines)
    assert answer_question(question, memory, INSTRUCTION) == expected
