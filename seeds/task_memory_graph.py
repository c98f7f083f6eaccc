"""Task Memory Engine-style task graph: subtasks with status, dependencies and revision history.

Paper: Task Memory Engine (Ye, TME: Enhancing State Awareness for Multi-Step LLM Agent Tasks), arXiv:2504.08525 (2025)

Design: TME replaces a linear history by a Task Memory Tree: each node is a task step with
its input, output, status and sub-task relations; the prompt is synthesised from the active
path of the tree; the graph-aware extension allows a DAG (shared dependencies) and tracks
revisions when the user corrects an earlier step. Here a root node holds the overall task
(a new episode with a task this similar, SAME_TASK_SIM, continues the same root); each
subtask becomes a child node with a status (done | failed | pending), an output (the
observation that followed, for transcripts) and a dependency on the previous subtask of the
episode (or the one named by "| after: <text>"); a subtask that restates an existing node
(similarity >= REVISE_SIM, or the same subject and single-valued slot, SLOTS) REVISES it:
the old text and date move to the node's revision history. Raw transcripts ("> action" lines)
give subtasks = actions, outputs = the next line, status failed when nothing happened. For
conversations the subtasks are the stated facts, so revisions track changed facts.

Stores: nodes (text, status, output, deps, root, date, revisions) in python and their
embeddings in a toolkit.chroma collection (cosine space); roots are nodes too.
Write: root (new or continued), subtasks created or revised; 0 LLM calls.
Read: the TOP_K nearest subtask nodes, grouped under their root ("Task: ..."), each as
"- [date] text [status] (step k, after step j)" (the dependency when it is shown),
followed by its last SHOW_REVISIONS earlier versions as indented "[date] old text (earlier
version)" lines.
Prompting: INSTRUCTION_KNOWLEDGE_ITEM asks for the task and its subtasks with outcomes;
INSTRUCTION_RESPONSE says the revised text is current and earlier texts are history.

Strengths: explicit task state (what is done, what failed, what depends on what) and
correction history; changed facts keep their past. Weaknesses: the tree is two levels deep
(task, subtasks); the revision test is similarity-based and can merge distinct steps.

Toolkit LLM calls: 0 per write, 0 per read.
"""

import re
from dataclasses import dataclass

from ._shared import (
    _ACTION,
    _GOAL,
    _HEADER,
    _RELATIVE,
    _SPEAKER,
    _WORD,
    _cosine_collection,
    _dated_lines,
    _list_field,
    _query_text,
    _split_date,
    _text_field,
)

# --- design parameters ---
TOP_K = 18  # subtask nodes shown per read
SAME_TASK_SIM = 0.9  # a task this similar to a stored root continues that root
REVISE_SIM = 0.95  # a subtask this similar to a stored node revises it
SLOTS = {  # single-valued attributes: a newer statement revises the node (same subject)
    "job": r"\b(?:works? as|working as|worked as|hired as|job as|career|profession)\b",
    "home": r"\b(?:live[sd]? in|living in|moved to|relocated to)\b",
}
SHOW_REVISIONS = 1  # earlier versions shown per revised node
FALLBACK_LINES = 8  # informative raw lines used as subtasks when none were given
TASK_CHARS = 160  # a task line is clipped to this length
MAX_LINE_CHARS = 300  # one subtask is clipped to this length
MAX_CHARS = 3000  # read() budget (hard cap 3000)
# --- end design parameters ---

TOOLKIT_LLM_CALLS = {"write": 0, "read": 0}

INSTRUCTION_KNOWLEDGE_ITEM = (
    "'task': one line: the overall task, or the people and topics discussed. 'subtasks': the "
    "steps or sub-goals in order, one per entry, optionally followed by '| done', '| failed' "
    "or '| after: <earlier step>'; for conversations every fact stated, with full names and "
    "time expressions as said (a correction of an earlier fact is a new entry)."
)
INSTRUCTION_QUERY = (
    "Copy the question or task verbatim into 'question'. In 'keywords' list the people, "
    "objects and topics it is about."
)
INSTRUCTION_RESPONSE = (
    "Answer with a short phrase (names, dates, numbers), not a full sentence. A revised step "
    "or fact is current; 'earlier' texts are its history. Resolve relative dates against the "
    "date shown. If the memory does not contain the answer, answer 'not mentioned'."
)
ALWAYS_ON_KNOWLEDGE = ""

_NOTHING = re.compile(r"\bnothing happens\b|\bcan't\b|\bcannot\b", re.IGNORECASE)
_STATUS = ("done", "failed", "pending")


@dataclass
class KnowledgeItem:
    task: str = _text_field("one line: overall task, or people and topics")
    subtasks: list[str] = _list_field("steps in order with outcomes, or the facts stated")


@dataclass
class Query:
    question: str = _text_field("the question or task")
    keywords: list[str] = _list_field("people, objects and topics asked about")


def _key(text: str) -> str:
    """'maya|home' for "Ana: My sister Maya moved to Oslo"; '' when no slot applies."""
    slot = next((s for s, p in SLOTS.items() if re.search(p, text, re.IGNORECASE)), "")
    relative = _RELATIVE.search(text)
    speaker = _SPEAKER.match(text)
    subject = relative.group(1) if relative else (speaker.group(1) if speaker else "")
    return f"{subject.lower()}|{slot}" if slot and subject else ""


def parse_subtask(entry: str) -> tuple[str, str, str]:
    """(text, status, after) of "take key | done | after: go to desk"."""
    parts = [p.strip() for p in entry.split("|")]
    text, status, after = parts[0], "done", ""
    for part in parts[1:]:
        low = part.lower()
        if low in _STATUS:
            status = low
        elif low.startswith("after:"):
            after = part[6:].strip()
    return text, status, after


def transcript_subtasks(lines: list[str]) -> list[tuple[str, str, str]]:
    """(action, status, output) for each "> action" line of a transcript."""
    out = []
    for index, line in enumerate(lines):
        match = _ACTION.match(line)
        if match:
            output = lines[index + 1] if index + 1 < len(lines) and \
                not _ACTION.match(lines[index + 1]) else ""
            out.append((match.group(1).strip(), "failed" if _NOTHING.search(output) else "done",
                        output[:MAX_LINE_CHARS]))
    return out


class KnowledgeBase:
    """A forest of task roots with subtask nodes, dependencies and revisions."""

    def __init__(self, toolkit):
        self.toolkit = toolkit
        self.root_index = _cosine_collection(toolkit, "tme_roots")
        self.node_index = _cosine_collection(toolkit, "tme_nodes")
        self.nodes: dict[str, dict] = {}
        self.by_key: dict[str, str] = {}

    # -- write ---------------------------------------------------------------------------
    def write(self, item: KnowledgeItem, raw_text: str) -> None:
        lines, date = _dated_lines(raw_text, squeeze=True)
        body = [ln for ln in lines if not _HEADER.match(ln)]
        task = next((" ".join(ln.split()) for ln in str(item.task or "").split("\n")
                     if ln.strip()), "")
        goal = next((m.group(1).strip() for ln in body if (m := _GOAL.search(ln))), "")
        task = (_split_date(task, "")[0] or goal or (body[0] if body else ""))[:TASK_CHARS]
        steps = []  # (text, status, after, output)
        for entry in item.subtasks or []:
            for line in str(entry).split("\n"):
                text, status, after = parse_subtask(" ".join(line.split()))
                if text and text.lower() not in {"filler", "none"}:
                    steps.append((text, status, after, ""))
        if not steps:
            steps = [(a, s, "", o) for a, s, o in transcript_subtasks(body)]
        if not steps:
            steps = [(ln, "done", "", "") for ln in body if not ln.endswith("?")
                     and len(_WORD.findall(ln)) >= 6][:FALLBACK_LINES]
        if not task and not steps:
            return
        root = self._root(task, date)
        previous = ""
        for text, status, after, output in steps:
            text, when = _split_date(text, date)
            if text:
                previous = self._subtask(root, text[:MAX_LINE_CHARS], status, after, output,
                                         when, previous)

    def _root(self, task: str, date: str) -> str:
        if self.root_index.count():
            found = self.root_index.query(query_texts=[task], n_results=1)
            if 1.0 - float(found["distances"][0][0]) >= SAME_TASK_SIM:
                return found["ids"][0][0]
        root = f"r{sum(1 for n in self.nodes if n.startswith('r'))}"
        self.nodes[root] = {"text": task, "date": date, "children": []}
        self.root_index.add(ids=[root], documents=[task])
        return root

    def _subtask(self, root, text, status, after, output, date, previous) -> str:
        key = _key(text)
        target = self.by_key.get(key) if key else None
        if target is None and self.node_index.count():
            found = self.node_index.query(query_texts=[text], n_results=1)
            if 1.0 - float(found["distances"][0][0]) >= REVISE_SIM:
                target = found["ids"][0][0]
        if target is not None:  # revision: the node keeps its place, its history grows
            node = self.nodes[target]
            if node["text"] != text:
                node["revisions"].append((node["text"], node["date"]))
                node.update(text=text, date=date, status=status, output=output or
                            node["output"])
                self.node_index.update(ids=[target], documents=[text])
            return target
        deps = [previous] if previous else []
        if after:
            found = self.node_index.query(query_texts=[after], n_results=1) \
                if self.node_index.count() else None
            if found and found["ids"][0]:
                deps = [found["ids"][0][0]]
        node_id = f"n{sum(1 for n in self.nodes if n.startswith('n'))}"
        self.nodes[node_id] = {"text": text, "date": date, "status": status, "output": output,
                               "deps": deps, "root": root, "revisions": []}
        self.nodes[root]["children"].append(node_id)
        if key:
            self.by_key[key] = node_id
        self.node_index.add(ids=[node_id], documents=[text])
        return node_id

    # -- read ----------------------------------------------------------------------------
    def read(self, query: Query) -> str:
        text = _query_text(query)
        if not text or self.node_index.count() == 0:
            return ""
        found = self.node_index.query(query_texts=[text], n_results=TOP_K)
        chosen = found["ids"][0]
        groups: dict[str, list[str]] = {}
        for node_id in chosen:
            groups.setdefault(self.nodes[node_id]["root"], []).append(node_id)
        out, used = [], 0
        for root in sorted(groups, key=lambda r: int(r[1:])):
            block = [f"Task: {self.nodes[root]['text']}"]
            shown = sorted(groups[root], key=lambda n: int(n[1:]))
            number = {node_id: k for k, node_id in enumerate(shown, 1)}
            for node_id in shown:
                block.append(self._line(node_id, number))
            size = sum(len(b) + 1 for b in block)
            if used + size > MAX_CHARS:
                block = [b for b in block if len(b) < MAX_CHARS - used][:2]
                size = sum(len(b) + 1 for b in block)
                if len(block) < 2 or used + size > MAX_CHARS:
                    continue
            out.append("\n".join(block))
            used += size
        return "\n".join(out)[:MAX_CHARS]

    def _line(self, node_id: str, number: dict[str, int]) -> str:
        node = self.nodes[node_id]
        line = "- " + (f"[{node['date']}] " if node["date"] else "") + node["text"]
        if node["status"] != "done":
            line += f" [{node['status']}]"
        if node["output"]:
            line += f" -> {node['output'][:120]}"
        deps = [number[d] for d in node["deps"] if d in number]
        line += f" (step {number[node_id]}" + (f", after step {deps[0]})" if deps else ")")
        for old, when in node["revisions"][-SHOW_REVISIONS:] if SHOW_REVISIONS else []:
            # its own line with its own date: the current text stays the newest
            line += "\n  - " + (f"[{when}] " if when else "") + f"{old} (earlier version)"
        return line
