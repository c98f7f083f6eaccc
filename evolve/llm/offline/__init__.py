"""The offline model: a deterministic, rule-based stand-in for a chat model (see ``model``).

Modules: ``model`` (the ``ChatModel`` and the prompt router), ``text`` (tokens, stems, dates,
sentence units), ``english`` (general English word knowledge), ``question`` (question
analysis), ``spans`` (candidate answer spans), ``answer`` (the extractive reader),
``instructions`` (what a program's answer instruction asks for), ``fill`` (schema filling),
``generic`` (toolkit and judge prompts), ``action`` (interactive tasks).
"""

from .model import NOT_MENTIONED, OfflineModel

__all__ = ["OfflineModel", "NOT_MENTIONED"]
