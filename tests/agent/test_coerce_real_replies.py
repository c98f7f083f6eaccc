"""Replies as real models write them: nested, fenced, chatty, near-miss keys -- fitted to the
schema where the match is unambiguous, and every guess or loss recorded and counted.

The first tests call the coercion directly with replies of the shapes small instruct models
produce; the last ones run ``evolve eval`` through the real ``openai`` client against the fake
server, which sends such replies for chosen prompts.
"""

from __future__ import annotations

import json

import pytest
from fakes import FakeOpenAIServer
from fakes.task_replies import TaskReplies

from evolve.agent.coerce import ReplyParseError, coerce_reply
from evolve.cli import main

QUERY = [  # bm25's Query
    {"name": "question", "type": "str", "description": "the question, verbatim", "default": ""},
    {"name": "keywords", "type": "list[str]", "description": "words", "default": []},
]
ITEM = [  # a KnowledgeItem with several text fields
    {"name": "summary", "type": "str", "description": "one sentence", "default": ""},
    {"name": "topic", "type": "str", "description": "what it is about"},
    {"name": "people", "type": "list[str]", "description": "names", "default": []},
    {"name": "importance", "type": "int", "description": "1-5", "default": 3},
    {"name": "date", "type": "Optional[str]", "description": "when"},
]
QUESTION = "Which jobs has Vera had?"


def test_the_issue_example_maps_query_onto_question_with_a_note():
    out = coerce_reply('{"query": "Which jobs has Vera had?"}', QUERY)
    assert out.values == {"question": QUESTION, "keywords": []}
    assert out.notes == ["mapped key 'query' to field 'question'"]


@pytest.mark.parametrize("reply", [
    '{"query": {"question": "Which jobs has Vera had?", "keywords": ["Vera", "job"]}}',
    '{"Query": {"Question": "Which jobs has Vera had?", "Keywords": ["Vera", "job"]}}',
])
def test_one_extra_nesting_level_is_unwrapped(reply):
    out = coerce_reply(reply, QUERY)
    assert out.values == {"question": QUESTION, "keywords": ["Vera", "job"]}
    assert len(out.notes) == 1 and out.notes[0].startswith("unwrapped the object under")


@pytest.mark.parametrize("reply", [
    'Sure! Here is the lookup:\n```json\n{"question": "Which jobs has Vera had?", '
    '"keywords": ["Vera"]}\n```\nLet me know if you need anything else.',
    '```json\n{"question": "Which jobs has Vera had?", "keywords": ["Vera"]}',  # never closed
    '{"question": "Which jobs has Vera had?", "keywords": ["Vera"]}\n\nThe keywords are the '
    'names and objects {that matter}.',
    '<schema name="Query">\n{\n  "question": "example question",  // the question\n'
    '  "keywords": ["example keyword"]\n}\n</schema>\n'
    '{"question": "Which jobs has Vera had?", "keywords": ["Vera"]}',
    '<answer>\n{"question": "<question>Which jobs has Vera had?</question>", '
    '"keywords": ["Vera"]}\n</answer>',
    '{\n  "question": "Which jobs has Vera had?",  // the person\'s question, verbatim\n'
    '  "keywords": ["Vera",],\n}',
    "{'question': 'Which jobs has Vera had?', 'keywords': ['Vera']}",
])
def test_wrappers_around_the_object_are_tolerated_without_notes(reply):
    out = coerce_reply(reply, QUERY)
    assert out.values == {"question": QUESTION, "keywords": ["Vera"]}
    assert out.notes == []


def test_a_list_holding_the_object():
    out = coerce_reply('[{"question": "Which jobs has Vera had?"}, {"question": "x"}]', QUERY)
    assert out.values["question"] == QUESTION
    assert out.notes == ["took the first of 2 objects in a JSON list (the rest dropped)"]


def test_singular_plural_and_synonym_keys_map_onto_the_one_field_of_that_meaning():
    out = coerce_reply('{"q": "Which jobs has Vera had?", "keyword": ["Vera"]}', QUERY)
    assert out.values == {"question": QUESTION, "keywords": ["Vera"]}
    assert sorted(out.notes) == ["mapped key 'keyword' to field 'keywords'",
                                 "mapped key 'q' to field 'question'"]


def test_the_only_text_field_takes_the_only_unknown_text_value():
    out = coerce_reply('{"lookup_string": "Which jobs has Vera had?", "terms": ["Vera"]}', QUERY)
    assert out.values == {"question": QUESTION, "keywords": ["Vera"]}
    assert "mapped key 'lookup_string' onto the only text field 'question'" in out.notes
    assert "mapped key 'terms' to field 'keywords'" in out.notes


def test_ambiguous_keys_are_dropped_never_guessed_and_each_loss_is_noted():
    # two text fields: an unknown text value cannot be placed
    out = coerce_reply('{"note": "Vera was a mechanic", "score": "high", "date": null}', ITEM)
    assert out.values == {"summary": "", "topic": "", "people": [], "importance": 3,
                          "date": None}
    assert out.notes == ["dropped unknown key 'note'", "dropped unknown key 'score'",
                         "missing field 'topic': used ''"]


def test_lossy_values_are_noted():
    reply = '{"summary": {"a": 1}, "topic": "jobs", "importance": "very", "people": "Vera"}'
    out = coerce_reply(reply, ITEM)
    assert out.values["summary"] == '{"a": 1}' and out.values["importance"] == 0
    assert out.values["people"] == ["Vera"]  # a string for a list: one element, no loss
    assert out.notes == ["field 'summary': an object given, kept as its JSON text",
                         "field 'importance': no number in 'very', used 0"]
    assert coerce_reply('{"topic": "x", "importance": 2.5}', ITEM).notes == [
        "field 'importance': 2.5 cut to the integer 2"]


def test_a_reply_with_no_schema_field_is_never_silently_defaulted():
    out = coerce_reply('{"confidence": 0.4, "done": true}', QUERY)
    assert out.values == {"question": "", "keywords": []}
    assert out.notes == ["dropped unknown key 'confidence'", "dropped unknown key 'done'",
                         "no field of the schema in the reply: every field took its default"]
    # one unknown text value and one text field: taken, but as a recorded guess
    out = coerce_reply('{"thoughts": "look up Vera\'s jobs"}', QUERY)
    assert out.values["question"] == "look up Vera's jobs"
    assert out.notes == ["mapped key 'thoughts' onto the only text field 'question'"]


@pytest.mark.parametrize("reply", ["I am not sure what you mean.", "[1, 2]", "{broken"])
def test_a_reply_without_an_object_is_still_unusable(reply):
    with pytest.raises(ReplyParseError):
        coerce_reply(reply, QUERY)


# -- end to end: evolve eval over HTTP ------------------------------------------------------

def _eval(server: FakeOpenAIServer, tmp_path, capsys) -> tuple[dict, dict[str, dict]]:
    code = main(["eval", "bm25", "--task", "dialog-synth", "--task-arg", "size=tiny",
                 "--model", "fake-chat", "--base-url", server.url, "--cache", "off",
                 "--traces", str(tmp_path / "traces.jsonl"), "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0, summary["error"]
    rows = [json.loads(line) for line in (tmp_path / "traces.jsonl").read_text().splitlines()]
    return summary, {row["question"]: row for row in rows}


def test_the_issue_example_over_http_becomes_the_question_and_is_counted(tmp_path, capsys):
    replies = TaskReplies([("query", f"<question>\n{QUESTION}\n</question>",
                            json.dumps({"query": QUESTION}))])
    with FakeOpenAIServer(responder=replies) as server:
        summary, by_question = _eval(server, tmp_path, capsys)
    assert replies.fired[0] == 1
    trace = by_question[QUESTION]
    assert trace["query"] == {"question": QUESTION, "keywords": []}
    assert trace["coercions"] == ["mapped key 'query' to field 'question'"]
    assert summary["coercions"] == 1 and summary["query_fallbacks"] == 0
    assert trace["score"] > 0  # bm25 found the jobs from the mapped question


def test_nested_fenced_extraction_is_written_and_its_coercion_noted(tmp_path, capsys):
    reply = ("Here is the record you asked for:\n```json\n"
             + json.dumps({"KnowledgeItem": {"summary": "Vera and Mira catch up."}})
             + "\n```\nI hope this is useful!")
    replies = TaskReplies([("extract", "Mira: Hello again! How have things been?", reply)])
    with FakeOpenAIServer(responder=replies) as server:
        summary, _ = _eval(server, tmp_path, capsys)
    assert replies.fired[0] == 1
    assert summary["skipped_episodes"] == 0 and summary["extraction_failures"] == 0
    (note,) = summary["episode_notes"]
    assert note["coercions"] == ["unwrapped the object under 'KnowledgeItem'"]
    assert not note["skipped"] and summary["coercions"] == 1


def test_a_query_reply_without_json_falls_back_to_the_question(tmp_path, capsys):
    replies = TaskReplies([("query", f"<question>\n{QUESTION}\n</question>",
                            "You should search for Vera's jobs.")])
    with FakeOpenAIServer(responder=replies) as server:
        summary, by_question = _eval(server, tmp_path, capsys)
    trace = by_question[QUESTION]
    assert summary["query_fallbacks"] == 1 and trace["query_fallback"]
    assert trace["query"]["question"] == QUESTION
    assert "query reply unusable" in trace["error"] and "question itself" in trace["error"]
