"""The offline reader on English it was not written around (issue #15, scope 1).

Each case is a sentence form that conversations use and that the reader answered with
"not mentioned" or a wrong span before: dates without a year or day, a person the speakers
refer to as "he"/"she", "we" for the subject and a companion, amounts with units, a modified
noun, an answer in the turn's next sentence, words of similar meaning.
"""

from __future__ import annotations

import datetime as dt

import pytest

from evolve.llm.offline import semantic
from evolve.llm.offline.answer import NOT_MENTIONED, answer_question
from evolve.llm.offline.partial_dates import partial_dates, tense
from evolve.llm.offline.spans import focus_phrase, names, quantities

SESSION = dt.date(2024, 3, 9)  # a Saturday
INSTRUCTION = "Answer with a short phrase. Resolve relative dates against the session date."


@pytest.mark.parametrize(("sentence", "expected"), [
    ("I start on the first of May.", ["1 May 2024"]),
    ("We fly out on the twenty-second.", ["22 March 2024"]),
    ("She hurt her knee in February but is fine now.", ["February 2024"]),
    ("The exam is next January.", ["January 2025"]),
    ("I lived there in 2015.", ["2015"]),
    ("We are away from the third to the ninth of June.", ["3 to 9 June 2024"]),
    ("It opens on July 4th.", ["4 July 2024"]),
    ("I may go, and march on.", []),  # the verbs, not the months
])
def test_partial_dates_are_resolved_against_the_session(sentence, expected):
    assert [p.text for p in partial_dates(sentence, SESSION)] == expected


def test_the_tense_of_the_clause_picks_the_year():
    assert tense("I will see them") == 1 and tense("I visited them") == -1
    # said in March 2024: the move is ahead, the signing behind
    assert [p.text for p in partial_dates("I signed it, and I move on the fifth of April",
                                          SESSION)] == ["5 April 2024"]
    assert [p.text for p in partial_dates("I finished it on the fifth of April",
                                          SESSION)] == ["5 April 2023"]


MEMORY = """[2:00 pm on 9 March, 2024]
Ines: My cousin Tomasz says hi. He works as a locksmith in Gdansk these days.
Ines: Rafa and I went sailing. We had our first race today on the estuary.
Ines: I signed the contract yesterday and I start on the first of May.
Rafa: Oskar is driving up from Leeds to help us.
Ines: Our neighbour is a retired pilot. He is seventy-one years old and still flies gliders.
Ines: We are planning a trip. Any tips for the Lofoten Islands?
Ines: Sheila bought a blue canoe, a battered Old Town Discovery for the lake.
Ines: We had a lemon cake at the party.
Rafa: The ferry does not run in winter.
"""


@pytest.mark.parametrize(("question", "answer"), [
    ("What is Tomasz's job?", "locksmith"),  # "he", a person the speaker introduced
    ("When did Ines and Rafa have their first race?", "9 March 2024"),  # "we"
    ("When did Ines sign the contract?", "8 March 2024"),  # the date nearest the words
    ("When does Ines start?", "1 May 2024"),
    ("Who is driving up from Leeds?", "Oskar"),  # a sentence's first word as its subject
    ("How old is the neighbour?", "seventy-one years old"),
    ("Where are Ines and Rafa going on their trip?", "Lofoten Islands"),  # the next sentence
    ("What cake did Ines have at the party?", "lemon cake"),
    ("What canoe did Sheila buy?", "battered Old Town Discovery"),  # the apposition
    ("Does the ferry run in winter?", "No"),
])
def test_reader_answers_general_english(question, answer):
    assert answer_question(question, MEMORY, INSTRUCTION) == answer


def test_a_bare_number_is_an_amount_without_a_unit():
    assert quantities("She was eight.") == ["eight"]
    assert quantities("It cost about nine hundred pounds.") == ["about nine hundred pounds"]
    assert quantities("I have a cake") == []


def test_focus_phrase_skips_generic_modifiers():
    assert focus_phrase("My new bike is great", "bike") == ""
    assert focus_phrase("I rode the red racing bike", "bike") == "red racing bike"


def test_sentence_initial_words_are_names_only_as_subjects():
    assert "Oskar" in names("Oskar is driving up.", set())
    assert names("Guess what happened.", set()) == []


def test_embedding_overlap_finds_an_answer_in_other_words(monkeypatch):
    memory = "[1:00 pm on 2 June, 2024]\nMara: A neighbour in Tolworth was selling it cheap."
    question = "Where did Mara buy the bike?"
    assert answer_question(question, memory) == "Tolworth"
    monkeypatch.setattr(semantic.SIMILARITY, "matches", lambda *_: {})  # lexical only
    assert answer_question(question, memory) == NOT_MENTIONED


def test_the_word_vector_cache_is_bounded(monkeypatch):
    similarity = semantic.WordSimilarity()
    monkeypatch.setattr(semantic, "MAX_CACHED_WORDS", 5)
    first = similarity.matches({"buy": "buy"}, {"sell": "selling"})
    for word in ("apple", "river", "stone", "cloud", "pencil", "garden"):
        similarity.matches({"buy": "buy"}, {word: word})
        assert len(similarity._vectors) <= 5
    assert similarity.matches({"buy": "buy"}, {"sell": "selling"}) == first
    assert first == {"buy": {"sell": pytest.approx(0.222, abs=0.01)}}


def test_without_the_embedding_model_the_reader_says_so_and_stays_lexical(monkeypatch, caplog):
    import evolve.llm.embedders as embedders

    class Broken:
        def embed(self, texts):
            raise OSError("model file missing")

    monkeypatch.setattr(embedders, "WordLlamaEmbedder", Broken)
    similarity = semantic.WordSimilarity()
    with caplog.at_level("WARNING"):
        assert similarity.matches({"buy": "buy"}, {"sell": "selling"}) == {}
        assert similarity.matches({"buy": "buy"}, {"sell": "selling"}) == {}
    warnings = [r for r in caplog.records if "word embeddings unavailable" in r.getMessage()]
    assert len(warnings) == 1
