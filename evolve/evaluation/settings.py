"""How one evaluation runs (``EvalSettings``): split, sandbox limits and mode, oracle
diagnostics, parallelism, protocol. A value type of its own so that the evaluation's state
(``eval_run``) and its orchestration (``evaluate``) both read it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..eval_failures import DEFAULT_MAX_FAILED_SHARE
from ..jail import SandboxLimits


@dataclass(frozen=True)
class EvalSettings:
    """How to evaluate: split, limits, sandbox mode, oracle diagnostics, parallelism."""

    split: str = "val"
    limits: SandboxLimits = field(default_factory=SandboxLimits)
    sandbox_mode: str = "auto"
    oracle: bool = False
    concurrency: int = 8
    max_items: int | None = None
    protocol: str = "offline"  # "online": interactive episodes are written and observed
    env_workers: int = 0  # interactive tasks: environment worker processes (0: automatic)
    max_failed_share: float = DEFAULT_MAX_FAILED_SHARE  # above: status=error (eval_failures)
