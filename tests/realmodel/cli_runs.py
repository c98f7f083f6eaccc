"""Run the ``evolve`` CLI in a subprocess, as a user would, against the real local model."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "llamacpp.toml"

# The settings of examples/llamacpp.toml, as `evolve eval` flags (one slot, answers need tens
# of tokens, one retry, the window the server was started with).
EVAL_FLAGS = ["--concurrency", "1", "--max-tokens", "256", "--timeout", "600",
              "--max-retries", "1", "--context-window", "8192"]

# The counts `evolve eval --json` reports next to the score (issue #13's agreed names).
COUNT_KEYS = ("cached_calls", "truncated_calls", "failed_calls", "retries", "failed_items",
              "skipped_episodes", "extraction_failures", "query_fallbacks", "coercions")


@dataclass
class CliRun:
    """One finished CLI run: exit code, output streams and wall time."""

    code: int
    stdout: str
    stderr: str
    seconds: float

    def json(self) -> dict[str, Any]:
        lines = [line for line in self.stdout.splitlines() if line.startswith("{")]
        assert lines, f"no JSON on stdout (exit {self.code}); stderr:\n{self.stderr[-3000:]}"
        return json.loads(lines[-1])


def evolve_cli(args: list[str], *, timeout_s: float, cwd: Path | None = None) -> CliRun:
    """``python -m evolve.cli ARGS`` with a hard timeout (a hang fails the test, never CI)."""
    start = time.monotonic()
    completed = subprocess.run([sys.executable, "-m", "evolve.cli", *args], capture_output=True,
                               text=True, timeout=timeout_s, cwd=cwd or ROOT,
                               stdin=subprocess.DEVNULL)
    return CliRun(completed.returncode, completed.stdout, completed.stderr,
                  time.monotonic() - start)


def eval_args(program: str, url: str, model: str, cache: Path, *extra: str,
              limit: int | None = None) -> list[str]:
    # One conversation of the tiny size (5 sessions): half the extraction calls of both.
    args = ["eval", program, "--task", "dialog-synth", "--task-arg", "size=tiny",
            "--task-arg", "conversations=1",
            "--model", model, "--base-url", url, "--cache", str(cache), "--json", *EVAL_FLAGS]
    if limit is not None:
        args += ["--limit", str(limit)]
    return args + list(extra)


def assert_no_traceback(run: CliRun) -> None:
    assert "Traceback (most recent call last)" not in run.stderr, run.stderr[-4000:]
    assert "Traceback (most recent call last)" not in run.stdout, run.stdout[-4000:]
