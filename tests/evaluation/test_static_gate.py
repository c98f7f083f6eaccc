"""Static gates: parse, contract shape, import allow-list (no execution)."""

from __future__ import annotations

import textwrap

import pytest

from evolve.program.static_gate import static_gate

VALID = textwrap.dedent('''
    import json
    from dataclasses import dataclass, field
    from typing import Optional

    INSTRUCTION_KNOWLEDGE_ITEM = "Summarise the episode."
    INSTRUCTION_QUERY = "Restate the question."
    INSTRUCTION_RESPONSE = "Answer briefly."
    ALWAYS_ON_KNOWLEDGE = ""

    @dataclass
    class KnowledgeItem:
        text: str = field(default="", metadata={"description": "the episode"})
        tags: list[str] = field(default_factory=list)
        when: Optional[str] = None

    @dataclass
    class Query:
        question: str = ""
        k: int = 3

    class KnowledgeBase:
        def __init__(self, toolkit):
            self.items = []

        def write(self, item, raw_text):
            self.items.append(raw_text)

        def read(self, query):
            return json.dumps(self.items)[:3000]
''')


def test_valid_program_passes():
    assert static_gate(VALID) is None


@pytest.mark.parametrize(
    ("mutation", "stage", "needle"),
    [
        (("def read(self, query):", "def read(self, query)"), "parse", "line"),
        (('INSTRUCTION_QUERY = "Restate the question."', ""), "contract", "INSTRUCTION_QUERY"),
        (("class Query:", "class Questions:"), "contract", "Query"),
        (("when: Optional[str] = None", "when: dict = None"), "contract", "dict"),
        (("    def write(self, item, raw_text):", "    def store(self, item, raw_text):"),
         "contract", "write"),
        (("@dataclass\nclass Query", "class Query"), "contract", "@dataclass"),
        (("import json", "import os"), "imports", "'os'"),
        (("import json", "import json\nimport subprocess as sp"), "imports", "subprocess"),
        (("import json", "from importlib import import_module"), "imports", "importlib"),
        (("self.items = []", "self.items = __import__('os')"), "imports", "__import__"),
        (("self.items = []", "self.items = getattr(json, '__builtins__')"), "imports",
         "__builtins__"),
        (("self.items = []", "self.items = ().__class__.__base__.__subclasses__()"), "imports",
         "__"),
        (("self.items = []", "self.items = open('/etc/passwd').read()"), "imports", "open"),
        (("self.items = []", "exec('import os')"), "imports", "exec"),
    ],
)
def test_gate_rejects_with_stage_and_message(mutation, stage, needle):
    old, new = mutation
    assert old in VALID
    failure = static_gate(VALID.replace(old, new, 1))
    assert failure is not None
    assert failure.stage == stage
    assert needle in failure.message


def test_union_none_and_list_types_allowed():
    source = VALID.replace("when: Optional[str] = None", "when: str | None = None\n    n: float = 0.0")
    assert static_gate(source) is None


def test_null_bytes_are_a_parse_failure():
    failure = static_gate("x = 1\0")
    assert failure is not None and failure.stage == "parse"
