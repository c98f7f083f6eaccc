"""ReMe-style procedural memory: success patterns, failure triggers and insights, reused by scenario.

Paper: ReMe (Cao et al., Remember Me, Refine Me: A Dynamic Procedural Memory Framework), arXiv:2512.10696 (2025)

Design: ReMe runs a closed memory lifecycle: multi-faceted distillation turns each trajectory
into success patterns (what worked), failure triggers (what caused errors) and comparative
insights; context-adaptive reuse indexes experiences by scenario and retrieves those that fit
the new task's scenario; utility-based refinement tracks how often a retrieved experience
helped and prunes those that keep failing. The task agent distils (KnowledgeItem fields); the
program adds a deterministic distillation for raw trajectories ("> action" lines: the action
sequence of a success, abstracted, is a pattern; an action answered by "Nothing happens" is a
failure trigger), indexes entries with their scenario, and refines by observe(outcome): each
entry retrieved since the previous observe gains a use, and a help when the episode
succeeded; utility = (helps + 1) / (uses + 2); entries with at least PRUNE_MIN_USES uses and
utility < PRUNE_UTILITY are deleted. An observed failure turns the episode's success patterns
into failure triggers. For conversations the patterns are the stated facts, so reuse falls
back to fact retrieval.

Stores: entries (kind: pattern | trigger | insight, text, scenario, date, uses, helps) in a
toolkit.chroma collection (cosine space; embedded as "scenario: text").
Write: item fields (deduplicated across kinds) plus the trajectory distillation; 0 LLM calls.
Read: the TOP_K entries by similarity + SCENARIO_BONUS x the share of the entry's scenario
words found in the query (its scenario and question) + UTILITY_WEIGHT x (utility - 0.5),
shown in three sections ("What worked:", "Avoid:", "Insights:"), each line dated.
Prompting: INSTRUCTION_KNOWLEDGE_ITEM asks for the scenario and the three facets;
INSTRUCTION_QUERY asks for the scenario of the new task; INSTRUCTION_RESPONSE to reuse what
worked and avoid the triggers.

Strengths: separates what to repeat from what to avoid; scenario matching keeps reuse on
topic; pruning removes experiences that mislead. Weaknesses: the rule distillation of raw
trajectories is shallow; without observe() no utility is learned.

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
    _list_field,
    _query_text,
    _split_date,
    _succeeded,
    _text_field,
)

# --- design parameters ---
TOP_K = 18  # entries shown per read
SCENARIO_BONUS = 0.1  # weight of scenario-word overlap in the ranking
UTILITY_WEIGHT = 0.1  # weight of (utility - 0.5) in the ranking
PRUNE_MIN_USES = 3  # an entry is judged only after this many uses
PRUNE_UTILITY = 0.3  # entries below this utility are deleted
SUCCESS_THRESHOLD = 0.5  # observed score at or above which an episode succeeded
ABSTRACT_IDS = True  # 'desk 1' -> 'desk' in distilled action sequences
MAX_PATTERN_STEPS = 12  # actions kept in one distilled success pattern
FALLBACK_LINES = 8  # informative raw lines used when nothing was distilled
MAX_ENTRY_CHARS = 300  # one entry is clipped to this length
MAX_CHARS = 3000  # read() budget (hard cap 3000)
# --- end design parameters ---

TOOLKIT_LLM_CALLS = {"write": 0, "read": 0}

INSTRUCTION_KNOWLEDGE_ITEM = (
    "Distil the episode. 'scenario': a few words naming the situation or topics it fits "
    "(task type, people). 'success_patterns': what worked, one per entry (steps, strategies; "
    "for conversations every stated fact with full names and time expressions as said). "
    "'failure_triggers': what went wrong or should be avoided. 'insights': comparisons of "
    "what separated success from failure."
)
INSTRUCTION_QUERY = (
    "Copy the question or task verbatim into 'question'. In 'scenario' name its situation or "
    "topics in a few words; in 'keywords' list the people, objects and topics."
)
INSTRUCTION_RESPONSE = (
    "Answer with a short phrase (names, dates, numbers), not a full sentence. Reuse what "
    "worked, avoid the listed triggers; dated entries: resolve relative dates against their "
    "date. If the memory does not contain the answer, answer 'not mentioned'."
)
ALWAYS_ON_KNOWLEDGE = ""

_NOTHING = re.compile(r"\bnothing happens\b|\bcan't\b|\bcannot\b|\bnot possible\b", re.I)
_WON = re.compile(r"\b(?:you won|task (?:is )?(?:completed|solved)|success(?:ful)?)\b", re.I)
_STOP = frozenset(
    "a an the and or but if of to in on at for with from by about as is am are was were be been "
    "do does did have has had i you he she it we they me him her us them my your his its our "
    "their this that what which who when where why how so not no just very really can could "
    "would will".split())
_KINDS = {"pattern": "What worked:", "trigger": "Avoid:", "insight": "Insights:"}


@dataclass
class KnowledgeItem:
    scenario: str = _text_field("few words naming the situation or topics")
    success_patterns: list[str] = _list_field("what worked, or the facts stated, one per entry")
    failure_triggers: list[str] = _list_field("what went wrong, to avoid")
    insights: list[str] = _list_field("what separated success from failure")


@dataclass
class Query:
    question: str = _text_field("the question or task")
    scenario: str = _text_field("few words naming the situation or topics")
    keywords: list[str] = _list_field("people, objects and topics asked about")


def _terms(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text) if w.lower() not in _STOP}


def _entries(values) -> list[str]:
    out = []
    for value in values or []:
        for line in str(value).split("\n"):
            text = " ".join(line.split()).lstrip("-* ")[:MAX_ENTRY_CHARS]
            if text and text.lower() not in {"filler", "none", "n/a"}:
                out.append(text)
    return out


def distil_trajectory(lines: list[str]) -> tuple[str, list[str], list[str], bool | None]:
    """(goal, success patterns, failure triggers, success?) of a raw action transcript."""
    goal = next((m.group(1).strip() for ln in lines if (m := _GOAL.search(ln))), "")
    actions, triggers = [], []
    for index, line in enumerate(lines):
        match = _ACTION.match(line)
        if not match:
            continue
        action = match.group(1).strip()
        if ABSTRACT_IDS:
            action = re.sub(r"\b([a-z]+) \d+\b", r"\1", action)
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if _NOTHING.search(following):
            triggers.append(f"'{action}' had no effect" + (f" (task: {goal})" if goal else ""))
        else:
            actions.append(action)
    won = True if any(_WON.search(ln) for ln in lines) else None
    patterns = []
    if actions:
        steps = " -> ".join(actions[:MAX_PATTERN_STEPS])
        patterns.append(f"{goal}: {steps}" if goal else steps)
    return goal, patterns, triggers, won


class KnowledgeBase:
    """Scenario-indexed procedural entries with utility statistics."""

    def __init__(self, toolkit):
        self.toolkit = toolkit
        self.index = _cosine_collection(toolkit, "reme_entries")
        self.entries: dict[str, dict] = {}
        self.recent: list[str] = []  # entries written since the last observe
        self.retrieved: set[str] = set()  # entries shown since the last observe
        self.next_id = 0  # ids stay unique after pruning

    # -- write ---------------------------------------------------------------------------
    def write(self, item: KnowledgeItem, raw_text: str) -> None:
        lines, date = _dated_lines(raw_text, squeeze=True)
        body = [ln for ln in lines if not _HEADER.match(ln)]
        goal, patterns, triggers, won = distil_trajectory(body)
        scenario = next((" ".join(ln.split()) for ln in str(item.scenario or "").split("\n")
                         if ln.strip()), "")[:160] or goal
        facets = [("pattern", _entries(item.success_patterns) + patterns),
                  ("trigger", _entries(item.failure_triggers) + triggers),
                  ("insight", _entries(item.insights))]
        if won is False:
            facets[0], facets[1] = ("trigger", facets[0][1]), ("trigger", facets[1][1])
        if not any(texts for _, texts in facets):
            informative = [ln for ln in body if len(_terms(ln)) >= 4 and not ln.endswith("?")]
            facets = [("pattern", informative[:FALLBACK_LINES])]
        seen = {e["text"] for e in self.entries.values()}
        ids, docs = [], []
        for kind, texts in facets:
            for text in texts:
                text, when = _split_date(text, date)
                if not text or text in seen:
                    continue  # one text, one facet: the first kind that claims it
                seen.add(text)
                entry_id = f"r{self.next_id}"
                self.next_id += 1
                self.entries[entry_id] = {"kind": kind, "text": text, "scenario": scenario,
                                          "date": when, "uses": 0, "helps": 0}
                ids.append(entry_id)
                docs.append(f"{scenario}: {text}" if scenario else text)
        if ids:
            self.index.add(ids=ids, documents=docs)
            self.recent += ids

    def observe(self, outcome: dict) -> None:
        """Utility-based refinement (online protocol): count uses and helps, prune."""
        success = _succeeded(outcome, SUCCESS_THRESHOLD)
        if success is None:
            return
        if not success:  # what this failed episode "taught" is a trigger, not a pattern
            for entry_id in self.recent:
                if self.entries.get(entry_id, {}).get("kind") == "pattern":
                    self.entries[entry_id]["kind"] = "trigger"
        doomed = []
        for entry_id in sorted(self.retrieved):
            entry = self.entries.get(entry_id)
            if entry is None:
                continue
            entry["uses"] += 1
            entry["helps"] += 1 if success else 0
            if entry["uses"] >= PRUNE_MIN_USES and self._utility(entry) < PRUNE_UTILITY:
                doomed.append(entry_id)
        for entry_id in doomed:
            del self.entries[entry_id]
        if doomed:
            self.index.delete(ids=doomed)
        self.recent, self.retrieved = [], set()

    @staticmethod
    def _utility(entry: dict) -> float:
        return (entry["helps"] + 1) / (entry["uses"] + 2)

    # -- read ----------------------------------------------------------------------------
    def read(self, query: Query) -> str:
        text = _query_text(query)
        if not text or not self.entries:
            return ""
        wanted = _terms(f"{query.scenario or ''} {text}")
        found = self.index.query(query_texts=[text], n_results=TOP_K * 2)
        scored = []
        for entry_id, dist in zip(found["ids"][0], found["distances"][0], strict=True):
            entry = self.entries[entry_id]
            scenario = _terms(entry["scenario"])
            fit = len(wanted & scenario) / len(scenario) if scenario else 0.0
            scored.append((1.0 - float(dist) + SCENARIO_BONUS * fit
                           + UTILITY_WEIGHT * (self._utility(entry) - 0.5), entry_id))
        chosen = [i for _, i in sorted(scored, key=lambda s: (-s[0], s[1]))[:TOP_K]]
        self.retrieved.update(chosen)
        out, used = [], 0
        for kind, title in _KINDS.items():
            block = [title]
            for entry_id in chosen:
                entry = self.entries[entry_id]
                if entry["kind"] != kind:
                    continue
                line = f"- [{entry['date']}] {entry['text']}" if entry["date"] else \
                    f"- {entry['text']}"
                if used + len(title) + len(line) + 2 <= MAX_CHARS:
                    block.append(line)
                    used += len(line) + 1
            if len(block) > 1:
                out.append("\n".join(block))
                used += len(title) + 1
        return "\n".join(out)[:MAX_CHARS]
