"""The schema prompt shows example values, not ``"<string>"`` placeholders that small models
copy; a copied placeholder (or example) in a reply is dropped as a recorded coercion."""

from __future__ import annotations

import json
import re

import pytest
from fakes import FakeOpenAIServer
from fakes.task_replies import TaskReplies

from evolve.agent.coerce import coerce_reply
from evolve.agent.prompts import query_messages, render_schema
from evolve.cli import main
from evolve.llm.offline.fill import parse_schema

FIELDS = [
    {"name": "question", "type": "str", "description": "the question, verbatim", "default": ""},
    {"name": "keywords", "type": "list[str]", "description": "names and objects",
     "default": []},
    {"name": "top_k", "type": "int", "default": 5},
    {"name": "min_score", "type": "float", "default": 0.0},
    {"name": "recent_first", "type": "bool", "default": False},
    {"name": "event_date", "type": "Optional[str]", "description": "a date in the question"},
    {"name": "key_facts", "type": "List[str]"},
]
QUESTION = "Which jobs has Vera had?"


def test_the_schema_shows_an_example_value_per_field_and_no_placeholder():
    schema = render_schema(FIELDS)
    assert not re.search(r"<[a-z|]+>", schema)  # no <string>, <integer>, <true|false>
    lines = schema.splitlines()
    assert lines[1] == '  "question": "example question",  // the question, verbatim'
    assert lines[2] == '  "keywords": ["example keyword"],  // names and objects'
    assert lines[3] == '  "top_k": 3,' and lines[4] == '  "min_score": 0.5,'
    assert lines[5] == '  "recent_first": false,'
    assert lines[6] == '  "event_date": "example event date",  // may be null; a date in the question'
    assert lines[7] == '  "key_facts": ["example key fact"]'
    # the schema block is valid JSON once its comments are removed: copying its shape is fine
    body = "\n".join(re.sub(r"  //.*$", "", line) for line in lines)
    assert set(json.loads(body)) == {f["name"] for f in FIELDS}


def test_the_offline_model_still_reads_types_and_optionality_from_the_schema():
    parsed = {f.name: (f.type, f.optional, f.description) for f in
              parse_schema(render_schema(FIELDS))}
    assert parsed == {
        "question": ("str", False, "the question, verbatim"),
        "keywords": ("list", False, "names and objects"), "top_k": ("int", False, ""),
        "min_score": ("float", False, ""), "recent_first": ("bool", False, ""),
        "event_date": ("str", True, "a date in the question"), "key_facts": ("list", False, ""),
    }


@pytest.mark.parametrize("reply, keywords, note", [
    ('{"question": "Which jobs has Vera had?", "keywords": ["<string>", "Nora"]}', ["Nora"],
     "dropped echoed placeholder '<string>' from 'keywords'"),
    ('{"question": "Which jobs has Vera had?", "keywords": ["Vera", "..."]}', ["Vera"],
     "dropped echoed placeholder '...' from 'keywords'"),
    ('{"question": "Which jobs has Vera had?", "keywords": ["example keyword", "job"]}',
     ["job"], "dropped echoed placeholder 'example keyword' from 'keywords'"),
])
def test_echoed_placeholders_in_lists_are_dropped_and_noted(reply, keywords, note):
    out = coerce_reply(reply, FIELDS[:2])
    assert out.values == {"question": QUESTION, "keywords": keywords}
    assert out.notes == [note]


def test_echoed_scalar_placeholders_leave_the_field_to_its_default_with_a_note():
    reply = json.dumps({"question": "example question", "keywords": ["Vera"],
                        "top_k": "<integer>", "recent_first": "<true|false>",
                        "event_date": "<string>", "key_facts": ["Vera was a mechanic"]})
    out = coerce_reply(reply, FIELDS)
    assert out.values == {"question": "", "keywords": ["Vera"], "top_k": 5, "min_score": 0.0,
                          "recent_first": False, "event_date": None,
                          "key_facts": ["Vera was a mechanic"]}
    assert out.notes == [
        "dropped echoed placeholder 'example question' from 'question'",
        "dropped echoed placeholder '<integer>' from 'top_k'",
        "dropped echoed placeholder '<true|false>' from 'recent_first'",
        "dropped echoed placeholder '<string>' from 'event_date'",
    ]


def test_real_values_that_merely_look_alike_are_kept():
    out = coerce_reply('{"question": "Is <b> bold?", "keywords": ["example", "string"]}',
                       FIELDS[:2])
    assert out.values == {"question": "Is <b> bold?", "keywords": ["example", "string"]}
    assert out.notes == []


def test_over_http_the_prompt_has_examples_and_a_copied_placeholder_is_dropped(tmp_path, capsys):
    reply = json.dumps({"question": QUESTION, "keywords": ["<string>", "Vera"]})
    replies = TaskReplies([("query", f"<question>\n{QUESTION}\n</question>", reply)])
    with FakeOpenAIServer(responder=replies) as server:
        code = main(["eval", "bm25", "--task", "dialog-synth", "--task-arg", "size=tiny",
                     "--model", "fake-chat", "--base-url", server.url, "--cache", "off",
                     "--traces", str(tmp_path / "traces.jsonl"), "--json"])
        prompts = [r["json"]["messages"][-1]["content"] for r in server.requests
                   if r["path"] == "/chat/completions"]
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["coercions"] == 1
    query_prompts = [p for p in prompts if '<schema name="Query">' in p]
    assert query_prompts and all('"keywords": ["example keyword"]' in p for p in query_prompts)
    assert not any("<string>" in p for p in prompts)
    rows = [json.loads(line) for line in (tmp_path / "traces.jsonl").read_text().splitlines()]
    (trace,) = [r for r in rows if r["question"] == QUESTION]
    assert trace["query"]["keywords"] == ["Vera"]
    assert trace["coercions"] == ["dropped echoed placeholder '<string>' from 'keywords'"]


def test_query_messages_carry_the_rendered_schema():
    messages = query_messages("Copy the question.", FIELDS[:2], QUESTION)
    assert render_schema(FIELDS[:2]) in messages[-1]["content"]
    assert "not with the example values" in messages[-1]["content"]
