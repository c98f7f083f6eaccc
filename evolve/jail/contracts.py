"""Public value types and errors of the sandbox (re-exported by ``evolve.jail.session``).

Two failure families, as M* distinguishes them:
- ``ProgramRaised``: the program's own code raised (in load, write, read or observe). The worker
  keeps running; the caller records the message as the item's error.
- ``RuntimeViolation``: a limit was broken or the worker misbehaved (timeout, read cap, LLM
  budget, output cap, worker died, protocol abuse). ``kind`` names the limit, ``reason`` (also
  ``str(exc)``) says what happened. After a timeout, output-cap, death or protocol violation the
  worker is gone and every later call raises the same violation until ``reset()`` relaunches it;
  read-cap and LLM-budget violations leave the worker running.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from ..program.contract import READ_CHAR_CAP

VIOLATION_KINDS = ("timeout", "read_cap", "llm_budget", "output_cap", "worker_died", "protocol",
                   "closed")


@dataclass(frozen=True)
class SandboxLimits:
    """Limits of one sandbox session. The first five are enforced by the trusted harness."""

    call_timeout_s: float = 60.0  # per write/read/observe call (wall clock)
    load_timeout_s: float = 30.0  # worker start + module load + KnowledgeBase(toolkit)
    read_char_cap: int = READ_CHAR_CAP  # read() result longer than this -> RuntimeViolation
    llm_budget_per_call: int = 1  # toolkit.llm_completion calls allowed per call
    output_cap_bytes: int = 2_000_000  # program prints + toolkit log text, whole session
    memory_bytes: int = 2 * 1024**3  # RLIMIT_AS (numpy import breaks below ~1 GiB)
    # worker threads for parallel read() calls (started on demand): a conversation's questions
    # are read at once, and a read that asks the toolkit LLM waits a model latency
    read_threads: int = 16
    cpu_seconds: int = 600  # RLIMIT_CPU for the worker process (a backstop, not a timeout)


class Callbacks(Protocol):
    """Trusted services the worker calls back into (they hold keys, caches and budgets).

    ``embed`` returns one row per text (a list of lists or a 2-D numpy array, rows
    L2-normalised). ``llm`` gets the messages and the options the program passed
    (``temperature``, ``max_tokens``, ``json_mode``) and returns the text. Both may be called
    from several threads at once. An exception from ``embed``/``llm`` is shown to the program
    as a ``RuntimeError``; if the program's call then fails, the caller gets the original
    exception back instead of ``ProgramRaised``. ``log`` receives ``toolkit.logger`` records.
    """

    def embed(self, texts: list[str]) -> Any: ...

    def llm(self, messages: list[dict], options: dict) -> str: ...

    def log(self, level: str, message: str) -> None: ...


@dataclass(frozen=True)
class ProgramInfo:
    """What a loaded program declares (validated: it comes from untrusted code)."""

    constants: dict[str, str]  # the four INSTRUCTION_*/ALWAYS_ON_KNOWLEDGE strings
    item_fields: list[dict]  # {"name", "type", "description", "default"?} per KnowledgeItem field
    query_fields: list[dict]  # same for Query
    has_observe: bool


class ProgramRaised(Exception):
    """The program's own exception: ``"ExcType: message"`` plus its last traceback lines."""


class RuntimeViolation(Exception):
    """A sandbox limit was broken; ``kind`` is one of ``VIOLATION_KINDS``."""

    def __init__(self, reason: str, kind: str = "protocol", output_tail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind
        self.output_tail = output_tail  # last bytes the worker printed (for diagnosis)
