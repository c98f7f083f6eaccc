"""A minimal memory program for tests, with the bodies of ``write`` and ``read`` to fill in."""

from __future__ import annotations

import textwrap

MINIMAL = textwrap.dedent('''
    from dataclasses import dataclass, field

    INSTRUCTION_KNOWLEDGE_ITEM = "Copy the text."
    INSTRUCTION_QUERY = "Restate the question."
    INSTRUCTION_RESPONSE = "Answer in a few words."
    ALWAYS_ON_KNOWLEDGE = ""

    @dataclass
    class KnowledgeItem:
        text: str = field(default="", metadata={"description": "the episode"})

    @dataclass
    class Query:
        question: str = ""

    class KnowledgeBase:
        def __init__(self, toolkit):
            self.toolkit = toolkit
            self.texts = []

        def write(self, item, raw_text):
            WRITE_BODY

        def read(self, query):
            READ_BODY
''')


def minimal_program(read_body: str = 'return "\\n".join(self.texts)',
                    write_body: str = "self.texts.append(raw_text)") -> str:
    """``MINIMAL`` with the given one-line bodies of ``write`` and ``read``."""
    return MINIMAL.replace("WRITE_BODY", write_body).replace("READ_BODY", read_body)
