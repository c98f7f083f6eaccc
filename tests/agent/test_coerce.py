"""Coercion of model JSON replies into dataclass keyword arguments."""

from __future__ import annotations

import pytest

from evolve.agent.coerce import ReplyParseError, coerce_fields, parse_json_object

FIELDS = [
    {"name": "text", "type": "str"},
    {"name": "tags", "type": "list[str]"},
    {"name": "count", "type": "int"},
    {"name": "score", "type": "float"},
    {"name": "flag", "type": "bool"},
    {"name": "date", "type": "Optional[str]"},
    {"name": "k", "type": "int", "default": 5},
]


def test_parse_tolerates_fences_and_prose():
    assert parse_json_object('```json\n{"a": 1}\n```') == {"a": 1}
    assert parse_json_object('Sure! {"a": {"b": 2}} hope that helps') == {"a": {"b": 2}}


@pytest.mark.parametrize("reply", ["no json here", "[1, 2]", "{broken"])
def test_parse_rejects_non_objects(reply):
    with pytest.raises(ReplyParseError):
        parse_json_object(reply)


def test_coerce_types_defaults_and_unknown_keys():
    reply = {"text": 12, "tags": "solo", "count": "3 items", "score": "0.5", "flag": "yes",
             "extra": "dropped"}
    assert coerce_fields(reply, FIELDS) == {
        "text": "12", "tags": ["solo"], "count": 3, "score": 0.5, "flag": True,
        "date": None, "k": 5,
    }


def test_coerce_lists_and_nested_values():
    out = coerce_fields({"text": ["a", "b"], "tags": ["x", {"y": 1}]}, FIELDS)
    assert out["text"] == "a; b"
    assert out["tags"] == ["x", '{"y": 1}']
    assert out["count"] == 0 and out["flag"] is False
