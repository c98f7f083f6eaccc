"""Offline replies to prompts that are not task-agent steps: toolkit calls made by programs
(``toolkit.llm_completion``) and rubric judge prompts.

Generic prompts are split into *instruction* lines (imperatives such as "summarize", "extract",
"answer", "return ... JSON") and *material* lines (everything else: transcript lines, facts,
notes). The focus is the question found in the prompt ("Question: ...", ``<question>``, or the
last line ending in "?"), else the instruction. Then:
- answer-check judge prompts (``judge_longmemeval.j2``: a ``<response>`` plus a
  ``<gold_answer>``, ``<preference_rubric>`` or ``<abstention_reason>`` tag): "yes" or "no".
  Abstention: "yes" when the response abstains ("not mentioned", "I don't know", ...).
  Otherwise "yes" when the response does not abstain and covers half the content words of the
  gold (synonyms folded) including every number in it (off by one allowed when the prompt
  grants an off-by-one tolerance);
- judge prompts (mention ``criteria_met``, or a criterion and a response): JSON
  ``{"explanation", "criteria_met"}``, met when half the criterion's content words (synonyms
  folded) occur in the response;
- yes/no prompts: "yes" when a material sentence covers half the focus's content, else "no";
- JSON prompts: the factual material sentences as a JSON list of "[date] Speaker: sentence"
  strings (a ``{"facts": [...]}`` object in JSON mode);
- "answer ..." prompts with a question: the extractive answer of the answer step;
- anything else: an extractive summary, the material sentences sharing most words with the
  focus (IDF-weighted, at least 60% of the best score), in their original order, with date and
  speaker kept.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..base import Message
from .answer import answer_question, memory_index
from .fill import is_factual
from .text import Unit, content_stems, format_date, names_in, parse_units, stem, variants

SUMMARY_SENTENCES = 12
_INSTRUCTION = re.compile(
    r"^\s*(?:please\s+)?(?:summari[sz]e|extract|answer|return|respond|reply|list|output|write|"
    r"given|based on|using|use|focus|format|you are|your task|task:|instructions?:|keep|only|"
    r"do not|don't|identify|find|select|rank|rewrite|compress|decide|determine|judge)\b", re.I)
_QUESTION = re.compile(r"\b(?:question|query)\s*[:\-]\s*(.+)", re.I)
_TAG = r"<{0}[^>]*>(.*?)</{0}>"


def _tag(text: str, *names: str) -> str | None:
    for name in names:
        m = re.search(_TAG.format(name), text, re.S | re.I)
        if m and m.group(1).strip():
            return m.group(1).strip()
    return None


def _label(text: str, *labels: str) -> str | None:
    """The block after "Label:" up to the next "Word:" label line or the end."""
    for label in labels:
        m = re.search(rf"(?:^|\n)\s*{label}\s*:\s*(.*?)(?=\n\s*[A-Z][A-Za-z ]{{2,30}}:\s|\Z)",
                      text, re.S | re.I)
        if m and m.group(1).strip():
            return m.group(1).strip()
    return None


def _cover(needle: str, haystack_stems: frozenset[str]) -> tuple[int, int]:
    stems = list(dict.fromkeys(content_stems(needle)))
    hits = sum(1 for s in stems if variants(s) & haystack_stems)
    return hits, len(stems)


def judge_reply(text: str) -> dict[str, Any]:
    """Rubric judgement by word overlap between the criterion and the response."""
    criterion = _tag(text, "criterion", "rubric_item", "rubric", "criteria") or \
        _label(text, "criterion", "rubric item", "rubric", "criteria") or ""
    response = _tag(text, "response", "completion", "answer", "conversation") or \
        _label(text, "response", "completion", "answer") or ""
    hits, total = _cover(criterion, frozenset(content_stems(response)))
    met = total > 0 and hits / total >= 0.5
    return {"explanation": f"offline overlap judge: {hits} of {total} key words of the "
                           f"criterion appear in the response", "criteria_met": met}


_ABSTAINS = re.compile(
    r"\b(?:not mentioned|never mentioned|no information|not enough information|"
    r"(?:do not|don't|did not|didn't|cannot|can't|couldn't) (?:know|recall|find|remember|tell|"
    r"answer|determine|say)|(?:was|were|is|has|have) not (?:been )?(?:mentioned|provided|"
    r"specified|stated|discussed)|unanswerable|not (?:in|part of) (?:the|my|our) "
    r"(?:memory|conversations?|history))\b", re.I)
_ANSWER_CHECK = re.compile(r"<(gold_answer|preference_rubric|abstention_reason)\b", re.I)


def abstains(response: str) -> bool:
    """True when a response says the information is not available."""
    return bool(_ABSTAINS.search(response))


def _numbers_ok(gold: str, response: str, tolerance: int) -> bool:
    found = [int(n) for n in re.findall(r"\d+", response.replace(",", ""))]
    for number in (int(n) for n in re.findall(r"\d+", gold.replace(",", ""))):
        if not any(abs(number - f) <= tolerance for f in found):
            return False
    return True


def answer_check_reply(text: str) -> str:
    """"yes"/"no" for an answer-check judge prompt (see the module docstring)."""
    response = _tag(text, "response") or ""
    if re.search(r"<abstention_reason\b", text, re.I):
        return "yes" if abstains(response) else "no"
    gold = _tag(text, "gold_answer", "preference_rubric") or ""
    if not response or abstains(response):
        return "no"
    hits, total = _cover(gold, frozenset(content_stems(response)))
    tolerance = 1 if re.search(r"off-by-one", text, re.I) else 0
    covered = total > 0 and hits / total >= 0.5
    return "yes" if covered and _numbers_ok(gold, response, tolerance) else "no"


def _split(text: str) -> tuple[str, str, str | None]:
    """(instruction, material, question) of a generic prompt."""
    question = _tag(text, "question", "query")
    if question is None and (m := _QUESTION.search(text)):
        question = m.group(1).strip()
    instruction, material = [], []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if question and stripped.endswith(question):
            instruction.append(stripped)
        elif _INSTRUCTION.match(stripped) or re.fullmatch(r"<[^>]+>|[A-Za-z ]{2,30}:", stripped):
            instruction.append(stripped)
        else:
            material.append(stripped)
    if question is None:
        asked = [ln for ln in instruction if ln.endswith("?") and len(ln) < 300]
        question = asked[-1] if asked else None
    if not material:
        material = instruction
    return "\n".join(instruction), "\n".join(material), question


def _render(unit: Unit) -> str:
    when = f"[{format_date(unit.date)}] " if unit.date else ""
    who = f"{unit.speaker}: " if unit.speaker else ""
    return f"{when}{who}{unit.text}"


def _ranked(material: str, focus: str) -> list[Unit]:
    """The sentences most about ``focus`` (IDF-weighted; a shared name alone is not enough)."""
    units, idf = memory_index(material)
    names = {stem(n) for n in names_in(focus)}
    stems = [s for s in dict.fromkeys(content_stems(focus))]
    rare = max(idf.values(), default=1.0)

    def score(unit: Unit) -> float:
        total, topical = 0.0, False
        for s in stems:
            exact = s in unit.stems
            if exact or variants(s) & unit.stems:
                # names and synonyms count half: they alone do not make a sentence relevant
                total += idf.get(s, rare) * (0.5 if s in names or not exact else 1.0)
                topical = topical or s not in names
        return total if topical else 0.0

    best = sorted(units, key=lambda u: (-score(u), u.order))[:SUMMARY_SENTENCES]
    # Keep sentences at least 60% as relevant as the best one.
    floor = max(0.6 * score(best[0]), 1e-9) if best else 1.0
    return sorted((u for u in best if score(u) >= floor), key=lambda u: u.order)


def generic_reply(messages: list[Message], *, json_mode: bool) -> str:
    """Best-effort deterministic reply to any other prompt (see the module docstring)."""
    text = "\n".join(str(m.get("content") or "") for m in messages
                     if m.get("role") != "assistant")
    last_user = next((str(m.get("content") or "") for m in reversed(messages)
                      if m.get("role") == "user"), text)
    if "<response" in last_user and _ANSWER_CHECK.search(last_user):
        verdict = answer_check_reply(last_user)
        return json.dumps({"answer": verdict}) if json_mode else verdict
    if "criteria_met" in text or (re.search(r"\bcriteri(on|a)\b", text, re.I)
                                  and re.search(r"\bresponse\b", text, re.I)):
        return json.dumps(judge_reply(last_user if "criteri" in last_user.lower() else text))
    instruction, material, question = _split(last_user)
    low = instruction.lower()
    focus = question or instruction
    units = parse_units(material)
    if re.search(r"\byes\b[^\n]{0,20}\bno\b|\byes/no\b|\btrue or false\b", low):
        stems_needed = list(dict.fromkeys(content_stems(focus)))
        best = max((sum(1 for s in stems_needed if variants(s) & u.stems) for u in units),
                   default=0)
        verdict = "yes" if stems_needed and best / len(stems_needed) >= 0.5 else "no"
        return json.dumps({"answer": verdict}) if json_mode else verdict
    if "json" in low or json_mode:
        facts = [_render(u) for u in units if is_factual(u.text)]
        return json.dumps({"facts": facts}) if json_mode else json.dumps(facts)
    if question and re.search(r"\banswer\b", low) and not re.search(r"summar", low):
        return answer_question(question, material)
    return "\n".join(_render(u) for u in _ranked(material, focus))
