"""Reply parsing, tolerant patch application and freeze enforcement of the LLM meta-agent."""

from __future__ import annotations

import ast
import textwrap

import pytest

from evolve.meta.freeze import apply_freeze, freeze_code, freeze_instructions
from evolve.meta.patch import Hunk, PatchError, apply_patch
from evolve.meta.reply import extract_program, parse_reply
from evolve.program.static_gate import static_gate

SOURCE = textwrap.dedent('''\
    """Tiny program."""

    from dataclasses import dataclass, field

    TOP_K = 5  # results per read

    INSTRUCTION_KNOWLEDGE_ITEM = "Summarise the episode."
    INSTRUCTION_QUERY = (
        "Copy the question."
    )
    INSTRUCTION_RESPONSE = "Answer briefly."
    ALWAYS_ON_KNOWLEDGE = ""


    @dataclass
    class KnowledgeItem:
        summary: str = ""


    @dataclass
    class Query:
        question: str = ""


    class KnowledgeBase:
        def __init__(self, toolkit):
            self.notes = []

        def write(self, item, raw_text):
            self.notes.append(raw_text)

        def read(self, query):
            hits = [n for n in self.notes if query.question in n]
            return "\\n".join(hits[:TOP_K])

        def size(self):
            return len(self.notes)

        def first(self):
            return self.notes[0] if self.notes else ""
''')


def changed_lines(before: str, after: str) -> list[str]:
    old = set(before.split("\n"))
    return [line for line in after.split("\n") if line not in old]


# -- SEARCH/REPLACE application -------------------------------------------------------------------

def test_exact_block_replaces_only_its_lines():
    out = apply_patch(SOURCE, [Hunk("TOP_K = 5  # results per read", "TOP_K = 8  # results per read")])
    assert "TOP_K = 8  # results per read" in out
    assert "TOP_K = 5" not in out
    assert out.replace("TOP_K = 8", "TOP_K = 5") == SOURCE


def test_whitespace_insensitive_match_with_trailing_spaces_and_runs():
    search = "    def write(self,   item, raw_text):   \n        self.notes.append( raw_text )"
    replace = "    def write(self, item, raw_text):\n        self.notes.append(raw_text.strip())"
    out = apply_patch(SOURCE, [Hunk(search, replace)])
    assert "        self.notes.append(raw_text.strip())" in out
    assert "self.notes.append(raw_text)\n" not in out
    assert static_gate(out) is None


def test_blank_line_differences_are_tolerated():
    # The model dropped the blank line between two methods and added one inside.
    search = ("        def size(self):\n\n            return len(self.notes)\n"
              "        def first(self):")
    replace = ("        def size(self):\n            return max(0, len(self.notes))\n\n"
               "        def first(self):")
    out = apply_patch(SOURCE, [Hunk(search, replace)])
    assert "        return max(0, len(self.notes))" in out
    assert "    def first(self):" in out
    assert ast.parse(out)


def test_replacement_is_reindented_by_the_matched_offset():
    # Method body copied at column 0; the replacement at column 0 too: both shifted by 8.
    search = "hits = [n for n in self.notes if query.question in n]\nreturn \"\\n\".join(hits[:TOP_K])"
    replace = ("q = (query.question or '').lower()\n"
               "hits = [n for n in self.notes if q in n.lower()]\n"
               "if not hits:\n"
               "    return ''\n"
               "return \"\\n\".join(hits[:TOP_K])")
    out = apply_patch(SOURCE, [Hunk(search, replace)])
    assert "        q = (query.question or '').lower()\n" in out
    assert "        if not hits:\n            return ''\n" in out
    assert static_gate(out) is None


def test_overindented_replacement_is_dedented():
    search = "                def size(self):\n                    return len(self.notes)"
    replace = "                def size(self):\n                    return len(self.notes) + 0"
    out = apply_patch(SOURCE, [Hunk(search, replace)])
    assert "    def size(self):\n        return len(self.notes) + 0\n" in out


def test_line_fragment_is_matched_as_exact_substring():
    out = apply_patch(SOURCE, [Hunk("hits[:TOP_K]", "hits[: TOP_K * 2]")])
    assert 'return "\\n".join(hits[: TOP_K * 2])' in out


def test_ambiguous_hunk_names_hunk_and_places():
    with pytest.raises(PatchError) as info:
        apply_patch(SOURCE, [Hunk("TOP_K = 5  # results per read", "TOP_K = 6"),
                             Hunk("@dataclass", "@dataclass(frozen=False)")])
    message = str(info.value)
    assert info.value.hunk == 2
    assert "hunk 2 of 2" in message and "matches 2 places" in message
    assert "@dataclass" in message


def test_non_matching_hunk_reports_where_it_diverges():
    search = "    def read(self, query):\n        hits = [n for n in self.notes if n]\n"
    with pytest.raises(PatchError) as info:
        apply_patch(SOURCE, [Hunk(search, "x")])
    message = str(info.value)
    assert info.value.hunk == 1
    assert "does not match" in message
    assert "first 1 line(s) match" in message
    assert "def read(self, query):" in message  # the hunk's first lines are quoted


def test_all_or_nothing():
    good = Hunk("TOP_K = 5  # results per read", "TOP_K = 9  # results per read")
    bad = Hunk("this line is nowhere", "x")
    original = SOURCE
    with pytest.raises(PatchError) as info:
        apply_patch(original, [good, bad])
    assert info.value.hunk == 2
    assert original == SOURCE  # nothing half-applied (strings are values, but check the API)


def test_hunks_apply_in_sequence_to_the_patched_text():
    first = Hunk("TOP_K = 5  # results per read", "TOP_K = 7  # results per read")
    second = Hunk("TOP_K = 7  # results per read", "TOP_K = 7  # results per read\nMIN = 1")
    out = apply_patch(SOURCE, [first, second])
    assert "TOP_K = 7  # results per read\nMIN = 1\n" in out


def test_empty_search_appends_and_empty_patch_fails():
    out = apply_patch(SOURCE, [Hunk("", "def helper():\n    return 1")])
    assert out.endswith("\n\ndef helper():\n    return 1\n")
    with pytest.raises(PatchError):
        apply_patch(SOURCE, [])


def test_empty_replace_deletes_lines():
    search = "    def size(self):\n        return len(self.notes)\n"
    out = apply_patch(SOURCE, [Hunk(search, "")])
    assert "def size" not in out
    assert static_gate(out) is None


# -- unified diffs --------------------------------------------------------------------------------

def test_unified_diff_with_wrong_line_numbers_applies():
    reply = textwrap.dedent('''\
        COMMIT MESSAGE: lowercase matching

        ```diff
        --- a/program.py
        +++ b/program.py
        @@ -999,4 +999,5 @@ class KnowledgeBase:
             def read(self, query):
        -        hits = [n for n in self.notes if query.question in n]
        +        q = (query.question or "").lower()
        +        hits = [n for n in self.notes if q in n.lower()]
                 return "\\n".join(hits[:TOP_K])
        @@ -1,1 +1,1 @@
        -TOP_K = 5  # results per read
        +TOP_K = 6  # results per read
        ```
        ''')
    parsed = parse_reply(reply)
    assert parsed.commit_message == "lowercase matching"
    assert parsed.blocks is not None and len(parsed.blocks) == 2
    assert all(h.kind == "diff" for h in parsed.blocks)
    out = apply_patch(SOURCE, parsed.blocks)
    assert '        hits = [n for n in self.notes if q in n.lower()]' in out
    assert "TOP_K = 6  # results per read" in out
    assert static_gate(out) is None


def test_unified_diff_tolerates_missing_context_space_and_bare_headers():
    reply = "@@\n    def size(self):\n-        return len(self.notes)\n+        return len(self.notes) * 1\n"
    parsed = parse_reply(reply)
    assert parsed.blocks is not None
    out = apply_patch(SOURCE, parsed.blocks)
    assert "        return len(self.notes) * 1" in out


def test_diff_fence_without_hunk_header():
    reply = "```diff\n-TOP_K = 5  # results per read\n+TOP_K = 4  # results per read\n```"
    parsed = parse_reply(reply)
    assert parsed.blocks is not None
    assert "TOP_K = 4" in apply_patch(SOURCE, parsed.blocks)


def test_pure_addition_diff_hunk_cannot_be_placed():
    parsed = parse_reply("@@ -3,0 +3,1 @@\n+import math\n")
    assert parsed.blocks is not None
    with pytest.raises(PatchError, match="no context"):
        apply_patch(SOURCE, parsed.blocks)


# -- reply parsing --------------------------------------------------------------------------------

def test_reply_with_prose_fenced_blocks_and_bold_commit_heading():
    reply = textwrap.dedent('''\
        Sure! Let me look at the failures.

        ## DIAGNOSIS:
        The read is case-sensitive, so "alice" misses "Alice".

        **COMMIT MESSAGE:**
        Make read() case-insensitive
        so names match regardless of case

        ```python
        <<<<<<< SEARCH
                hits = [n for n in self.notes if query.question in n]
        =======
                hits = [n for n in self.notes if query.question.lower() in n.lower()]
        >>>>>>> REPLACE
        ```

        This should fix case 1 and case 2.
        ''')
    parsed = parse_reply(reply)
    assert parsed.commit_message == "Make read() case-insensitive so names match regardless of case"
    assert parsed.diagnosis.startswith("The read is case-sensitive")
    assert parsed.full_source is None and parsed.blocks is not None and len(parsed.blocks) == 1
    out = apply_patch(SOURCE, parsed.blocks)
    assert "query.question.lower() in n.lower()" in out


def test_fence_lines_inside_block_sections_are_dropped():
    reply = ("<<<<<<< SEARCH\n```python\nTOP_K = 5  # results per read\n```\n=======\n"
             "```python\nTOP_K = 3  # results per read\n```\n>>>>>>> REPLACE\n")
    parsed = parse_reply(reply)
    assert parsed.blocks == (Hunk("TOP_K = 5  # results per read", "TOP_K = 3  # results per read"),)


def test_unterminated_last_block_is_kept():
    reply = "COMMIT MESSAGE: x\n<<<<<<< SEARCH\nTOP_K = 5  # results per read\n=======\nTOP_K = 2\n```\n"
    parsed = parse_reply(reply)
    assert parsed.blocks == (Hunk("TOP_K = 5  # results per read", "TOP_K = 2"),)


def test_missing_commit_message_gives_empty_or_constant():
    reply = "Here is the new program:\n```python\n" + SOURCE + "```\n"
    parsed = parse_reply(reply)
    assert parsed.commit_message == ""
    assert parsed.blocks is None and parsed.full_source == SOURCE
    with_constant = SOURCE + 'COMMIT_MESSAGE = "add a size helper"\n'
    parsed = parse_reply("```python\n" + with_constant + "```")
    assert parsed.commit_message == "add a size helper"


def test_commit_message_constant_line_is_not_a_heading():
    reply = 'COMMIT_MESSAGE = "nope"\nCOMMIT MESSAGE: the real one\n'
    assert parse_reply(reply).commit_message == "the real one"


def test_full_program_picks_last_program_fence_and_ignores_snippets():
    snippet = "```python\nprint('just a snippet')\n```\n"
    changed = SOURCE.replace("TOP_K = 5", "TOP_K = 6")
    reply = (f"COMMIT MESSAGE: six\n{snippet}Old:\n```python\n{SOURCE}```\nNew:\n"
             f"```python\n{changed}```\n")
    parsed = parse_reply(reply)
    assert parsed.full_source == changed
    assert extract_program(snippet) is None


def test_unfenced_and_unclosed_programs():
    unfenced = "COMMIT MESSAGE: plain\n\n" + SOURCE + "\nThat is all, enjoy.\n"
    parsed = parse_reply(unfenced)
    assert parsed.commit_message == "plain"
    assert parsed.full_source is not None and "That is all" not in parsed.full_source
    assert static_gate(parsed.full_source) is None
    unclosed = "COMMIT MESSAGE: cut\n```python\n" + SOURCE
    assert parse_reply(unclosed).full_source == SOURCE


def test_garbage_reply_is_empty_not_an_exception():
    for text in ["", "I cannot help with that.", "<<<<<<< SEARCH\nonly a search part",
                 "```\nnot python at all {\n```", "\x00\x01 binary"]:
        parsed = parse_reply(text)
        assert parsed.empty, text


# -- freeze --------------------------------------------------------------------------------------

CHILD = (SOURCE.replace('INSTRUCTION_QUERY = (\n    "Copy the question."\n)',
                        'INSTRUCTION_QUERY = "List keywords."')
         .replace('ALWAYS_ON_KNOWLEDGE = ""', 'ALWAYS_ON_KNOWLEDGE = "Dates matter."')
         .replace("TOP_K = 5", "TOP_K = 9"))


def constants(source: str) -> dict[str, object]:
    tree = ast.parse(source)
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            out[node.targets[0].id] = ast.literal_eval(node.value)
    return out


def test_freeze_instructions_restores_parent_constants_keeps_child_code():
    frozen = freeze_instructions(SOURCE, CHILD)
    got, parent = constants(frozen), constants(SOURCE)
    for name in ("INSTRUCTION_KNOWLEDGE_ITEM", "INSTRUCTION_QUERY", "INSTRUCTION_RESPONSE",
                 "ALWAYS_ON_KNOWLEDGE"):
        assert got[name] == parent[name]
    assert got["TOP_K"] == 9
    assert static_gate(frozen) is None


def test_freeze_code_keeps_parent_code_takes_child_constants():
    frozen = freeze_code(SOURCE, CHILD)
    got = constants(frozen)
    assert got["TOP_K"] == 5
    assert got["INSTRUCTION_QUERY"] == "List keywords."
    assert got["ALWAYS_ON_KNOWLEDGE"] == "Dates matter."
    assert frozen.replace('INSTRUCTION_QUERY = "List keywords."',
                          'INSTRUCTION_QUERY = (\n    "Copy the question."\n)') \
        .replace('"Dates matter."', '""') == SOURCE


def test_freeze_reinserts_a_constant_the_child_dropped():
    child = CHILD.replace('INSTRUCTION_RESPONSE = "Answer briefly."\n', "")
    assert static_gate(child) is not None
    frozen = freeze_instructions(SOURCE, child)
    assert static_gate(frozen) is None
    assert constants(frozen)["INSTRUCTION_RESPONSE"] == "Answer briefly."


def test_freeze_both_gives_the_parent_and_unparsable_child_is_untouched():
    assert apply_freeze(SOURCE, CHILD, instructions=True, code=True).strip() == SOURCE.strip()
    assert apply_freeze(SOURCE, CHILD, instructions=False, code=False) == CHILD
    broken = CHILD + "\ndef oops(:\n"
    assert freeze_instructions(SOURCE, broken) == broken


def test_diagnosis_section_and_unfenced_program_after_it():
    reply = "DIAGNOSIS: reads miss names.\nCOMMIT MESSAGE: rename\n" + SOURCE
    parsed = parse_reply(reply)
    assert parsed.diagnosis == "reads miss names."
    assert parsed.commit_message == "rename"
    assert parsed.full_source == SOURCE
    assert parse_reply("Diagnosis shows nothing useful").diagnosis == ""


def test_random_replies_never_raise_anything_but_patch_error():
    import random

    fragments = ["<<<<<<< SEARCH", "=======", ">>>>>>> REPLACE", "```python", "```", "```diff",
                 "@@ -1,2 +1,2 @@", "COMMIT MESSAGE:", "DIAGNOSIS:", "--- a/x", "+++ b/x",
                 "-TOP_K = 5  # results per read", "+TOP_K = 9", "", "\x00", "prose",
                 "TOP_K = 5  # results per read", "class KnowledgeBase:", "    def read(self, q):",
                 "        return ''", '"""', "**COMMIT MESSAGE:**", "INSTRUCTION_QUERY = 'x'"]
    rng = random.Random(0)
    applied = 0
    for _ in range(400):
        text = "\n".join(rng.choice(fragments) for _ in range(rng.randint(0, 25)))
        parsed = parse_reply(text)
        if parsed.blocks:
            try:
                apply_patch(SOURCE, parsed.blocks)
                applied += 1
            except PatchError as exc:
                assert exc.hunk is not None and f"hunk {exc.hunk} of" in str(exc)
        if parsed.full_source:
            apply_freeze(SOURCE, parsed.full_source, instructions=True, code=False)
    assert applied > 0
