"""The worker side of ``evolve.tasks.envs.EnvProcess``: ``python -m evolve.tasks.env_worker``.

One environment per process, JSON requests on stdin and replies on a private copy of stdout;
the harness kills the whole process (and what it started) on a timeout.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from typing import Any


def load_target(target: str) -> Any:
    """The factory a "module:attribute" target names (the harness resolved the kind)."""
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)

def _serve(protocol_out: Any) -> None:
    """Worker loop: one environment, JSON requests on stdin, replies on ``protocol_out``."""
    env: Any = None

    def reply(payload: dict[str, Any]) -> None:
        protocol_out.write(json.dumps(payload).encode() + b"\n")
        protocol_out.flush()

    for raw in sys.stdin.buffer:
        try:
            request = json.loads(raw)
            op, args = request.get("op"), request.get("args")
        except ValueError:
            reply({"error": "malformed request"})
            continue
        if op == "close":
            break
        try:
            if op == "make":
                env = load_target(str(args["target"]))(**dict(args.get("options") or {}))
                value: Any = True
            elif env is None:
                raise RuntimeError("no environment (send 'make' first)")
            elif op == "reset":
                value = env.reset(**dict(args or {})).to_json()
            elif op == "step":
                value = env.step(str(args)).to_json()
            elif op == "expert":
                value = list(env.expert_actions())
            else:
                raise RuntimeError(f"unknown op {op!r}")
            reply({"value": value})
        except Exception as exc:  # noqa: BLE001 - reported to the harness, worker lives on
            reply({"error": f"{type(exc).__name__}: {exc}"[:2000]})
    if env is not None:
        try:
            env.close()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass


def main() -> None:
    # Environment libraries may print to stdout: keep the protocol on a private copy of it
    # and send fd 1 to stderr, so stray prints cannot corrupt the JSON lines.
    protocol_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    _serve(protocol_out)


if __name__ == "__main__":
    main()
