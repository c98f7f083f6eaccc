"""Yes/no answers of the offline reader: a sentence's polarity, and leaning on the closest one.

``polarity`` says "No" for a sentence that is negated ("No welding, no van") or speaks against
what it names ("I am hopeless with a needle", ``english.NEGATIVE_POLARITY``), else "Yes".
``leaning_answer`` is the reader's last resort for a yes/no question no sentence fully
supports ("Would X enjoy a lighthouse visit?"): the polarity of the sentence about the subject
that shares most of the question's words, or words of similar meaning. Limits: one sentence,
no inference ("I will hang up the courier bag" does not say "no longer a courier").
"""

from __future__ import annotations

from collections.abc import Callable

from .english import NEGATIVE_POLARITY
from .question import QuestionInfo
from .text import Unit, token_set

__all__ = ["leaning_answer", "polarity"]

_NEGATIONS = frozenset("no not never nothing nobody none without can't cannot won't don't "
                       "doesn't didn't isn't wasn't aren't weren't haven't hasn't".split())


def polarity(text: str) -> str:
    """"No" for a sentence that negates or speaks against something, else "Yes"."""
    toks = token_set(text)
    return "No" if toks & _NEGATIONS or toks & NEGATIVE_POLARITY else "Yes"


def leaning_answer(info: QuestionInfo, eligible: list[Unit],
                   support: Callable[[Unit], float]) -> str:
    """The polarity of the ``eligible`` sentence with the most ``support`` (the latest on
    ties when the question asks "still"/"now", else the first told); "" when none has any."""
    scored = [(score, u) for u in eligible if (score := support(u)) > 0]
    if not scored:
        return ""
    sign = 1 if info.latest else -1
    return polarity(max(scored, key=lambda t: (t[0], sign * t[1].order))[1].text)
