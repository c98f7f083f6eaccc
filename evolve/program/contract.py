"""Names and types of the memory-program contract (README.md, "Memory programs")."""

from __future__ import annotations

REQUIRED_CONSTANTS = (
    "INSTRUCTION_KNOWLEDGE_ITEM",
    "INSTRUCTION_QUERY",
    "INSTRUCTION_RESPONSE",
    "ALWAYS_ON_KNOWLEDGE",
)
DATACLASSES = ("KnowledgeItem", "Query")
KB_CLASS = "KnowledgeBase"
# method name -> positional parameters after ``self``
KB_METHODS = {"__init__": ("toolkit",), "write": ("item", "raw_text"), "read": ("query",)}
OPTIONAL_KB_METHODS = {"observe": ("outcome",)}
# Default cap on what ``read()`` may return, in characters (longer is a runtime violation).
# The one source of this figure: the sandbox limits, the config default, ``evolve eval
# --read-cap``, the Python API, the meta-agent's prompt and the report all read it.
READ_CHAR_CAP = 3000

# Dataclass field types a task agent can fill from JSON.
SCALAR_TYPES = ("str", "int", "float", "bool")
ALLOWED_FIELD_TYPES = frozenset(
    {*SCALAR_TYPES, "list[str]", "List[str]"}
    | {f"Optional[{t}]" for t in (*SCALAR_TYPES, "list[str]", "List[str]")}
    | {f"{t} | None" for t in (*SCALAR_TYPES, "list[str]")}
    | {f"typing.Optional[{t}]" for t in SCALAR_TYPES}
)


def normalise_type(type_name: str) -> str:
    """Canonical spelling of an allowed field type: ``str``, ``list[str]``, ``Optional[int]``..."""
    text = type_name.replace(" ", "").replace("typing.", "").replace("List[", "list[")
    if text.endswith("|None"):
        text = f"Optional[{text[:-len('|None')]}]"
    if text.startswith("None|"):
        text = f"Optional[{text[len('None|'):]}]"
    return text
