"""Live progress: a redrawn line on a terminal, one line per step otherwise, or events.

The command line shows progress on stderr; a Python caller either passes a callback, which
gets one ``ProgressEvent`` per seed evaluated, per finished iteration and per notice, or gets
nothing (the library is quiet by default).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO


@dataclass(frozen=True)
class ProgressEvent:
    """One thing that happened in a campaign, as progress reports it.

    ``kind``: ``"seed"`` (a seed was evaluated: ``program`` is its name, ``status`` and
    ``score`` its static-validation result), ``"iteration"`` (``iteration`` of ``total`` is
    done; ``best`` and ``last`` are the best and the latest child's scores, ``usd`` and
    ``tokens`` the spend so far) or ``"message"`` (a notice). ``text`` is the line the command
    line prints for it.
    """

    kind: str
    text: str
    iteration: int = 0
    total: int = 0
    best: float | None = None
    last: float | None = None
    usd: float = 0.0
    tokens: int = 0
    program: str = ""
    status: str = ""
    score: float | None = None


ProgressCallback = Callable[[ProgressEvent], None]


class Progress:
    """Shows iteration, best score, last child's score and spend (on ``stream`` when
    ``enabled``; to ``callback`` when given)."""

    def __init__(self, total: int, stream: TextIO | None = None, enabled: bool = True,
                 callback: ProgressCallback | None = None) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.callback = callback
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._width = 0

    def update(self, iteration: int, best: float | None, last: float | None, usd: float,
               tokens: int, note: str = "") -> None:
        if not (self.enabled or self.callback):
            return
        filled = int(20 * iteration / max(1, self.total))
        bar = "#" * filled + "-" * (20 - filled)
        best_text = "-" if best is None else f"{best:.3f}"
        last_text = "-" if last is None else f"{last:.3f}"
        line = (f"[{bar}] iter {iteration}/{self.total}  best {best_text}  last {last_text}  "
                f"spend ${usd:.4f} {tokens / 1000:.1f}k tok {note}").rstrip()
        if self.callback is not None:
            self.callback(ProgressEvent("iteration", line, iteration=iteration,
                                        total=self.total, best=best, last=last, usd=usd,
                                        tokens=tokens))
        if not self.enabled:
            return
        if self._tty:
            padding = " " * max(0, self._width - len(line))
            self.stream.write("\r" + line + padding)
            self._width = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def seed(self, name: str, status: str, score: float) -> None:
        """A seed's static-validation result."""
        text = f"seed {name:<24} {status:<18} val {score:.3f}"
        self._emit(ProgressEvent("seed", text, total=self.total, program=name, status=status,
                                 score=score))

    def message(self, text: str) -> None:
        self._emit(ProgressEvent("message", text, total=self.total))

    def _emit(self, event: ProgressEvent) -> None:
        if self.callback is not None:
            self.callback(event)
        if not self.enabled:
            return
        if self._tty and self._width:
            self.stream.write("\n")
            self._width = 0
        self.stream.write(event.text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self._tty and self._width:
            self.stream.write("\n")
            self.stream.flush()
