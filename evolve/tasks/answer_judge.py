"""One judge call that says whether a response answers a question as the gold answer does.

LongMemEval's answer check (template ``judge_longmemeval.j2``, one prompt per question kind),
also used by the ``jsonl`` task's ``judge`` scorer: a yes/no verdict scores 1 or 0.
"""

from __future__ import annotations

import re

from ..templating import render
from .base import Judge, ScoreResult


def answer_check_messages(kind: str, question: str, gold: str,
                          response: str) -> list[dict[str, str]]:
    """The one-message judge prompt for an answer check of ``kind``."""
    prompt = render("judge_longmemeval.j2", kind=kind, question=question.strip(),
                    gold=gold.strip(), response=response.strip() or "(empty response)")
    return [{"role": "user", "content": prompt}]


def parse_yes_no(text: str) -> bool:
    """True for a "yes" verdict: a leading yes/no word wins, else any standalone "yes"."""
    low = str(text).strip().lower()
    m = re.match(r'^\W*(?:\{\s*"answer"\s*:\s*")?(yes|no)\b', low)
    if m:
        return m.group(1) == "yes"
    return bool(re.search(r"\byes\b", low)) and not re.search(r"\bno\b", low)


def judge_answer(kind: str, question: str, gold: str, response: str,
                 judge: Judge | None) -> ScoreResult:
    """Score 1/0 from one answer-check judge call."""
    if judge is None:
        raise RuntimeError("LongMemEval scoring needs a judge: call score(item, answer, "
                           "judge=...)")
    reply = judge(answer_check_messages(kind, question, gold, response))
    verdict = parse_yes_no(reply)
    short = " ".join(str(reply).split())[:120]
    return ScoreResult(score=1.0 if verdict else 0.0,
                       rationale=f"{kind} judge said {short!r} (gold {gold[:120]!r})")
