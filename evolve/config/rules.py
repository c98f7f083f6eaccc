"""Value rules of the config keys: ``RULES`` maps ``section.key`` to a check returning an
error text (or None). Types are checked from the sections' annotations by ``load``; these
rules say which values of a well-typed key are valid. Names of extension points come from
their registries (``evolve.registry``), so validation accepts exactly what the factories build.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evolve.llm.limits import check_extra_body_table, check_max_tokens_table
from evolve.registry import EXECUTORS, META_AGENTS, SELECTORS, Registry

Rule = Callable[[Any], str | None]


def _one_of(*choices: str) -> Rule:
    def check(value: Any) -> str | None:
        if value not in choices:
            return f"expected one of {', '.join(choices)}, got {value!r}"
        return None
    return check


def _positive(value: Any) -> str | None:
    return None if value > 0 else f"must be greater than 0, got {value!r}"


def _non_negative(value: Any) -> str | None:
    return None if value >= 0 else f"must be 0 or more, got {value!r}"


def _unit_interval(value: Any) -> str | None:
    return None if 0.0 <= value <= 1.0 else f"must be between 0 and 1, got {value!r}"


def _non_empty(value: Any) -> str | None:
    return None if (value.strip() if isinstance(value, str) else value) else "must not be empty"


def _prices(value: dict[str, list[float]]) -> str | None:
    for model, pair in value.items():
        if len(pair) not in (1, 2) or any(p < 0 for p in pair):
            return (f"{model!r}: expected [usd per 1M input tokens, usd per 1M output tokens] "
                    f"(numbers >= 0; one number for embedding models), got {pair!r}")
    return None


def _embedder(value: str) -> str | None:
    from evolve.llm.embedders import OFFLINE_NAMES

    if value in OFFLINE_NAMES or value.startswith("text-embedding") or (
            value.startswith("openai:") and len(value) > len("openai:")):
        return None
    return (f"expected one of {', '.join(OFFLINE_NAMES)}, openai:MODEL or text-embedding-*, "
            f"got {value!r}")


def _registered(registry: Registry) -> Rule:
    """A name of an extension point's registry (read on use: installed entry points count)."""
    def rule(value: Any) -> str | None:
        return _one_of(*registry.names())(value)
    return rule




RULES: dict[str, Rule] = {
    "campaign.name": _non_empty,
    "campaign.seed": _non_negative,
    "campaign.protocol": _one_of("offline", "online"),
    "task.name": _non_empty,
    "models.task": _non_empty,
    "models.reflector": _non_empty,
    "models.embedder": _embedder,
    "models.api_key_env": _non_empty,
    "models.concurrency": _positive,
    "models.timeout_s": _positive,
    "models.max_retries": _non_negative,
    "models.prices": _prices,
    "models.context_window": _non_negative,
    "models.max_tokens": check_max_tokens_table,
    "models.extra_body": check_extra_body_table,
    "search.seeds": _non_empty,
    "search.iterations": _non_negative,
    "search.selector": _registered(SELECTORS),
    "search.temperature": _positive,
    "search.crossover_rate": _unit_interval,
    "search.mutation": _one_of("patch", "full", "auto"),
    "search.fix_rounds": _non_negative,
    "search.repair_rounds": _non_negative,
    "search.cost_objective": _one_of("tokens", "llm_calls"),
    "search.offline_policy": _one_of("diagnosis", "random"),
    "search.meta_agent": _registered(META_AGENTS),
    "search.max_failed_proposals": _non_negative,
    "data.val_size": _positive,
    "data.stratify": _one_of("test", "none"),
    "data.reflection_size": _positive,
    "data.failed_cases": _non_negative,
    "data.success_cases": _non_negative,
    "data.episode_ratio": _non_negative,
    "data.test_size": _non_negative,
    "data.max_failed_share": _unit_interval,
    "budget.max_usd": _non_negative,
    "budget.max_tokens": _non_negative,
    "budget.max_minutes": _non_negative,
    "budget.stagnation": _non_negative,
    "sandbox.mode": _one_of("auto", "bwrap", "unshare", "none"),
    "sandbox.read_char_cap": _positive,
    "sandbox.call_timeout_s": _positive,
    "sandbox.llm_budget_per_call": _non_negative,
    "parallel.batch_size": _positive,
    "parallel.schedule": _one_of("rounds", "steady"),
    "parallel.executor": _registered(EXECUTORS),
    "parallel.workers": _non_negative,
}
