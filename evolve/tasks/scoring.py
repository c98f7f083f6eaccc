"""Answer scoring for LoCoMo-format QA (docs/tasks.md, "dialog-synth and locomo").

Two F1 flavours:

- ``locomo`` (default, the official LoCoMo evaluation): answers are normalised (commas removed,
  lower-cased, punctuation stripped, the words a/an/the/and dropped), Porter-stemmed, and
  compared as token multisets. Category 1 (multi-hop) splits prediction and gold on ',' and
  averages, over the gold parts, the best F1 against any prediction part. Category 3 keeps the
  gold only up to its first ';'. Category 5 (adversarial) scores 1 when the answer abstains
  ("not mentioned" / "no information available", case-insensitive) and 0 otherwise.
- ``squad`` (what M* reported): SQuAD-style token F1 without stemming and without the comma
  split or the ';' cut, on every category; category 5 is handled exactly as above.

All functions are pure and deterministic.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from ..errors import UsageError

ABSTAIN_PHRASES = ("not mentioned", "no information available")

_PUNCT = str.maketrans("", "", string.punctuation)
_LOCOMO_DROP = re.compile(r"\b(a|an|the|and)\b")
_SQUAD_DROP = re.compile(r"\b(a|an|the)\b")


@lru_cache(maxsize=1)
def _stemmer():
    # Imported lazily: nltk's import is slow and only scoring needs it. The Porter stemmer
    # ships with nltk itself (no nltk data download).
    from nltk.stem import PorterStemmer

    return PorterStemmer()


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return _stemmer().stem(word)


def normalize_locomo(text: str) -> str:
    """The official LoCoMo answer normalisation."""
    text = str(text).replace(",", "").lower().translate(_PUNCT)
    return " ".join(_LOCOMO_DROP.sub(" ", text).split())


def normalize_squad(text: str) -> str:
    """SQuAD answer normalisation (lower, no punctuation, no a/an/the)."""
    text = str(text).lower().translate(_PUNCT)
    return " ".join(_SQUAD_DROP.sub(" ", text).split())


def _token_f1(pred_tokens: list[str], gold_tokens: list[str]) -> float:
    same = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if same == 0:
        return 0.0
    precision = same / len(pred_tokens)
    recall = same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def stemmed_f1(prediction: str, gold: str) -> float:
    """Official LoCoMo single-answer F1 (normalised, Porter-stemmed token multisets)."""
    pred = [_stem(w) for w in normalize_locomo(prediction).split()]
    ref = [_stem(w) for w in normalize_locomo(gold).split()]
    return _token_f1(pred, ref)


def is_abstention(answer: str) -> bool:
    """True when the answer says the information is not available (category-5 rule)."""
    low = str(answer).lower()
    return any(phrase in low for phrase in ABSTAIN_PHRASES)


def locomo_f1(prediction: str, gold: str, category: int | str) -> float:
    """Official LoCoMo score of ``prediction`` against ``gold`` for a category 1..5."""
    cat = int(category)
    prediction, gold = str(prediction), str(gold)
    if cat == 5:
        return 1.0 if is_abstention(prediction) else 0.0
    if cat == 1:
        preds = [p.strip() for p in prediction.split(",")]
        golds = [g.strip() for g in gold.split(",")]
        return sum(max(stemmed_f1(p, g) for p in preds) for g in golds) / len(golds)
    if cat == 3:
        gold = gold.split(";")[0].strip()
    return stemmed_f1(prediction, gold)


def squad_f1(prediction: str, gold: str, category: int | str) -> float:
    """M*'s SQuAD-style F1 (no stemming, no comma split); category 5 as in ``locomo_f1``."""
    if int(category) == 5:
        return 1.0 if is_abstention(prediction) else 0.0
    return _token_f1(normalize_squad(prediction).split(), normalize_squad(gold).split())


@dataclass(frozen=True)
class Scorer:
    """A named scoring function ``(prediction, gold, category) -> float in [0, 1]``."""

    name: str
    fn: Callable[[str, str, int | str], float]
    description: str

    def __call__(self, prediction: str, gold: str, category: int | str) -> float:
        return self.fn(prediction, gold, category)


SCORERS: dict[str, Scorer] = {
    "locomo": Scorer("locomo", locomo_f1,
                     "official LoCoMo F1 (Porter-stemmed; cat 1 comma split; cat 3 cut at ';'; "
                     "cat 5 abstention)"),
    "squad": Scorer("squad", squad_f1,
                    "SQuAD-style token F1 without stemming (as reported by M*); cat 5 abstention"),
}


def get_scorer(name: str) -> Scorer:
    """Return the scorer called ``name`` ("locomo" | "squad")."""
    try:
        return SCORERS[name]
    except KeyError:
        raise UsageError(
            f"unknown scorer {name!r}; choose from: {', '.join(SCORERS)}") from None
