"""AWM-style workflow memory: reusable step sequences induced from episodes, retrieved by task.

Paper: AWM (Wang et al., Agent Workflow Memory), arXiv:2409.07429 (ICML 2025)

Design: Agent Workflow Memory induces workflows from solved tasks: a workflow is a named,
reusable sub-routine (a goal description plus abstract steps in which example-specific values
are replaced by placeholders); workflows are added to memory online as tasks succeed and are
given to the agent for new tasks. The task agent proposes the workflow (name and steps); the
program abstracts further (object ids such as 'desk 1' become '{desk}', numbers '{n}'),
induces a workflow from raw action transcripts ("> action" lines) when none was proposed,
merges a workflow into an existing one with a near-identical name (the one with more support
keeps its steps), and with observe(outcome) drops the workflows induced from a failed episode
(AWM keeps only successful experience). Conversations contain no procedures: their facts are
kept in a fact store, so the memory still answers questions about them.

Stores: workflows (name, steps, support, date) in a toolkit.chroma collection (cosine space,
embedded as name + steps); facts (item.facts, fallback: informative raw lines) in a second
collection.
Write: induce / abstract / merge the workflow; add the facts. 0 LLM calls.
Read: up to WORKFLOW_K workflows with similarity >= MIN_WORKFLOW_SIM as "## Workflow: name"
and numbered steps; then the FACT_K nearest facts ("Facts:") in the remaining budget.
Prompting: INSTRUCTION_KNOWLEDGE_ITEM asks for a workflow with placeholders and the facts;
INSTRUCTION_RESPONSE says to follow a matching workflow.

Strengths: compact reusable procedures that transfer across instances of a task type;
growth from successes only. Weaknesses: rule abstraction misses semantic variables (which
object, which room); conversation memory is plain fact retrieval.

Toolkit LLM calls: 0 per write, 0 per read.
"""

import re
from dataclasses import dataclass

from ._shared import (
    _ACTION,
    _GOAL,
    _HEADER,
    _WORD,
    _cosine_collection,
    _dated_lines,
    _extracted,
    _list_field,
    _query_text,
    _split_date,
    _succeeded,
    _text_field,
)

# --- design parameters ---
WORKFLOW_K = 2  # workflows shown per read
MIN_WORKFLOW_SIM = 0.35  # workflows less similar than this to the task are not shown
MERGE_SIM = 0.92  # a new workflow with a name this similar merges into the stored one
FACT_K = 20  # facts shown per read
MAX_STEPS = 15  # steps kept per workflow
ABSTRACT_VALUES = True  # replace ids and numbers in steps by placeholders
SUCCESS_THRESHOLD = 0.5  # observed score at or above which an episode succeeded
FALLBACK_LINES = 8  # informative raw lines used as facts when none were extracted
MAX_LINE_CHARS = 300  # one fact or step is clipped to this length
MAX_CHARS = 3000  # read() budget (hard cap 3000)
# --- end design parameters ---

TOOLKIT_LLM_CALLS = {"write": 0, "read": 0}

INSTRUCTION_KNOWLEDGE_ITEM = (
    "'workflow_name': if the episode solves a task, a general description of the task type "
    "(e.g. 'put a heated object in a receptacle'), else leave it empty. 'workflow_steps': the "
    "reusable steps in order, with specific values replaced by placeholders in braces (e.g. "
    "'go to {receptacle}'). 'facts': every fact stated about people, one short sentence each "
    "with full names and time expressions as said."
)
INSTRUCTION_QUERY = (
    "Copy the question or task verbatim into 'question'. In 'keywords' list the people, "
    "objects and topics it is about."
)
INSTRUCTION_RESPONSE = (
    "Answer with a short phrase (names, dates, numbers), not a full sentence. For a task, "
    "follow the matching workflow, filling its placeholders. Facts carry their session date: "
    "resolve relative dates against it. If the memory does not contain the answer, answer "
    "'not mentioned'."
)
ALWAYS_ON_KNOWLEDGE = ""

_STOP = frozenset(
    "a an the and or but if of to in on at for with from by about as is am are was were be "
    "do does did have has had i you he she it we they me my your this that what so not no just "
    "very really can could would will".split())


@dataclass
class KnowledgeItem:
    workflow_name: str = _text_field("general task type solved, or empty")
    workflow_steps: list[str] = _list_field("reusable steps in order, placeholders in braces")
    facts: list[str] = _list_field("facts stated about people, one short sentence each")


@dataclass
class Query:
    question: str = _text_field("the question or task")
    keywords: list[str] = _list_field("people, objects and topics asked about")


def abstract(step: str) -> str:
    """'take key 2 from desk 1' -> 'take {key} from {desk}'; bare numbers -> '{n}'."""
    if not ABSTRACT_VALUES:
        return step
    step = re.sub(r"\b([a-z]+) \d+\b", r"{\1}", step)
    return re.sub(r"(?<![{\w])\d+(?![\w}])", "{n}", step)


def _one_line(value: object) -> str:
    return next((" ".join(ln.split()) for ln in str(value or "").split("\n") if ln.strip()), "")


class KnowledgeBase:
    """Induced workflows plus a fact store."""

    def __init__(self, toolkit):
        self.toolkit = toolkit
        self.workflow_index = _cosine_collection(toolkit, "awm_workflows")
        self.fact_index = _cosine_collection(toolkit, "awm_facts")
        self.workflows: dict[str, dict] = {}
        self.facts: list[str] = []
        self.recent: list[str] = []  # workflows induced since the last observe

    def write(self, item: KnowledgeItem, raw_text: str) -> None:
        lines, date = _dated_lines(raw_text, squeeze=True)
        body = [ln for ln in lines if not _HEADER.match(ln)]
        actions = [m.group(1).strip() for ln in body if (m := _ACTION.match(ln))]
        name = _one_line(item.workflow_name)
        steps = [_one_line(s) for s in (item.workflow_steps or []) if _one_line(s)]
        if actions and not steps:  # induce from the transcript itself
            steps = actions
            name = name or next((m.group(1).strip() for ln in body if (m := _GOAL.search(ln))),
                                "")
        facts = _extracted(item.facts)
        # steps that merely repeat the facts are no procedure (a conversation)
        if name and steps and (actions or set(steps) - set(facts)):
            self._induce(abstract(name), [abstract(s)[:MAX_LINE_CHARS] for s in steps], date)
        if not facts and not actions:
            facts = [ln for ln in body if not ln.endswith("?") and
                     len(set(_WORD.findall(ln.lower())) - _STOP) >= 4][:FALLBACK_LINES]
        ids, docs = [], []
        for fact in facts:
            text, when = _split_date(fact, date)
            line = f"[{when}] {text[:MAX_LINE_CHARS]}" if when else text[:MAX_LINE_CHARS]
            if text and line not in self.facts:
                ids.append(f"f{len(self.facts)}")
                docs.append(text[:MAX_LINE_CHARS])
                self.facts.append(line)
        if ids:
            self.fact_index.add(ids=ids, documents=docs)

    def _induce(self, name: str, steps: list[str], date: str) -> None:
        steps = list(dict.fromkeys(steps))[:MAX_STEPS]
        if self.workflow_index.count():
            found = self.workflow_index.query(query_texts=[name], n_results=1)
            best = found["ids"][0][0]
            if 1.0 - float(found["distances"][0][0]) >= MERGE_SIM:
                workflow = self.workflows[best]
                workflow["support"] += 1
                if len(steps) < len(workflow["steps"]):  # the shorter path generalises better
                    workflow["steps"] = steps
                    self.workflow_index.update(ids=[best], documents=[
                        f"{workflow['name']}: " + "; ".join(steps)])
                return
        workflow_id = f"w{len(self.workflows)}"
        self.workflows[workflow_id] = {"name": name, "steps": steps, "support": 1, "date": date}
        self.workflow_index.add(ids=[workflow_id], documents=[f"{name}: " + "; ".join(steps)])
        self.recent.append(workflow_id)

    def observe(self, outcome: dict) -> None:
        """Keep only workflows induced from successful episodes (online protocol)."""
        success = _succeeded(outcome, SUCCESS_THRESHOLD)
        if success is None:
            return
        if not success:
            doomed = [w for w in self.recent if self.workflows.get(w, {}).get("support") == 1]
            for workflow_id in doomed:
                del self.workflows[workflow_id]
            if doomed:
                self.workflow_index.delete(ids=doomed)
        self.recent = []

    def read(self, query: Query) -> str:
        text = _query_text(query)
        if not text or not (self.workflows or self.facts):
            return ""
        out, used = [], 0
        if self.workflows:
            found = self.workflow_index.query(query_texts=[text], n_results=WORKFLOW_K)
            for workflow_id, dist in zip(found["ids"][0], found["distances"][0], strict=True):
                if 1.0 - float(dist) < MIN_WORKFLOW_SIM:
                    continue
                workflow = self.workflows[workflow_id]
                block = [f"## Workflow: {workflow['name']}"] + \
                    [f"{k}. {s}" for k, s in enumerate(workflow["steps"], 1)]
                size = sum(len(b) + 1 for b in block)
                if used + size <= MAX_CHARS:
                    out.append("\n".join(block))
                    used += size
        if self.facts:
            found = self.fact_index.query(query_texts=[text], n_results=FACT_K)
            block = ["Facts:"]
            used += 7
            for fact_id in found["ids"][0]:
                line = f"- {self.facts[int(fact_id[1:])]}"
                if used + len(line) + 1 <= MAX_CHARS:
                    block.append(line)
                    used += len(line) + 1
            if len(block) > 1:
                out.append("\n".join(block))
        return "\n".join(out)[:MAX_CHARS]
