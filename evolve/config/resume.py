"""Execution settings a resumed campaign may change: where and how fast it runs, never what.

A campaign resumed exactly must make the choices it would have made uninterrupted, so
``evolve resume --set`` accepts only keys that leave every result unchanged:

- ``parallel.executor``, ``parallel.address``, ``parallel.workers``: every executor returns
  the same results in job order (``tests/campaign/test_campaign_parallel.py``), so a run started on a
  cluster that went away can finish on threads;
- ``models.concurrency``: evaluations keep their writes, reads and traces in dataset order
  whatever the number of calls in flight (``evolve.evaluation.evaluate``);
- ``models.timeout_s``, ``models.max_retries``: transport settings of remote models; they
  decide how long a slow or failing endpoint is waited for, not what a call returns (answers
  already received are in the response cache).

Everything else is refused, ``parallel.batch_size`` (it changes the per-slot random draws)
and ``sandbox.call_timeout_s`` (a limit the programs are measured against) included.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import UsageError
from .load import _apply_override, _build, _parse_override, config_to_dict
from .sections import CampaignConfig

RESUMABLE_KEYS = ("parallel.executor", "parallel.address", "parallel.workers",
                  "models.concurrency", "models.timeout_s", "models.max_retries")


def _refuse(what: str) -> UsageError:
    return UsageError(f"{what}: evolve resume can only change settings that leave results "
                      f"unchanged ({', '.join(RESUMABLE_KEYS)})")


def resume_config(recorded: Mapping[str, Any], overrides: Iterable[str]) -> CampaignConfig:
    """The recorded config with ``overrides`` (``section.key=value``) applied and validated."""
    raw = json.loads(json.dumps(recorded))  # a deep copy: the record stays as it was
    origins: dict[str, str] = {}
    for text in overrides:
        parts, _ = _parse_override(text)
        if ".".join(parts) not in RESUMABLE_KEYS:
            raise _refuse(f"override {text!r}")
        origins[_apply_override(raw, text)] = f"override {text!r}"
    return _build(raw, lambda dotted: origins.get(dotted, "campaign record"))


def changed_settings(recorded: Mapping[str, Any], config: CampaignConfig) -> dict[str, list]:
    """``{section.key: [recorded, new]}`` for every key ``config`` changes; UsageError if any
    of them may change results."""
    new = config_to_dict(config)
    old = config_to_dict(_build(dict(recorded), lambda _key: "campaign record"))
    changes = {f"{section}.{key}": [old[section][key], value]
               for section, table in new.items() for key, value in table.items()
               if old[section][key] != value}
    refused = [key for key in changes if key not in RESUMABLE_KEYS]
    if refused:
        raise _refuse(f"the config differs from the campaign record in {', '.join(refused)}")
    return changes
