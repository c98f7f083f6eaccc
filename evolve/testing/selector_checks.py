"""``check_selector``: the contract of ``evolve.ParentSelector`` (``evolve/strategies``)."""

from __future__ import annotations

import copy
import random
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..strategies.selectors import PoolEntry
from .failure import Rules

DRAWS = 16  # generator seeds tried per pool


def sample_pools() -> list[list[PoolEntry]]:
    """Pools the check selects from: one program; ties; spread scores with per-item scores,
    children and costs; all zero (what a pool of broken seeds looks like)."""
    items = [f"q{k}" for k in range(4)]
    spread = [PoolEntry(f"p{n}", score, {item: float((n + k) % 3 == 0) for k, item in
                                         enumerate(items)}, children=n % 3, cost=100.0 * (n + 1),
                        iteration=n)
              for n, score in enumerate((0.2, 0.9, 0.5, 0.9, 0.0, 0.7))]
    return [[PoolEntry("only", 0.4, {"q0": 1.0})],
            [PoolEntry("a", 0.5), PoolEntry("b", 0.5), PoolEntry("c", 0.5)],
            spread,
            [PoolEntry(f"z{n}", 0.0, {"q0": 0.0}, iteration=n) for n in range(3)]]


def check_selector(selector: Any, pools: Sequence[Sequence[PoolEntry]] | None = None
                   ) -> list[str]:
    """Check ``selector`` against the ``evolve.ParentSelector`` contract; the rules checked.

    On each pool (``pools``, else :func:`sample_pools`) and for several generator seeds:
    ``select`` returns one of the pool's own entries, leaves the pool as it was, gives the
    same entry for equally seeded generators whatever the global ``random``/``numpy`` state,
    and leaves that global state alone; on an empty pool it raises ``ValueError``. Raises
    ``ConformanceError`` (an ``AssertionError``) naming the first broken rule.
    """
    rules = Rules("selector", selector)
    rules.members("selector")
    for pool in pools if pools is not None else sample_pools():
        for seed in range(DRAWS):
            _one_draw(rules, selector, list(pool), seed)
    _empty_pool(rules, selector)
    return rules.checked


def _one_draw(rules: Rules, selector: Any, pool: list[PoolEntry], seed: int) -> None:
    before = copy.deepcopy(pool)
    random.seed(seed)
    np.random.seed(seed)
    global_state = (random.getstate(), _numpy_state())
    picked = rules.call("select(pool, rng) returns an entry of the pool", selector.select,
                        pool, np.random.default_rng(seed))
    rules.require(any(picked is entry for entry in pool),
                  "select(pool, rng) returns an entry of the pool",
                  lambda: f"returned {picked!r}, not one of the pool's {len(pool)} entries"
                          f"{' (an equal copy)' if picked in pool else ''}"[:300])
    rules.require(pool == before, "select never mutates the pool",
                  lambda: f"the pool was {[e.program_id for e in before]} before the call, "
                          f"{[getattr(e, 'program_id', e) for e in pool]} (or entries "
                          f"changed) after"[:300])
    rules.require((random.getstate(), _numpy_state()) == global_state,
                  "select draws randomness only from rng",
                  "it changed the global random or numpy.random state")
    random.seed(seed + 1000)  # another global state: only rng may decide
    np.random.seed(seed + 1000)
    again = rules.call("select(pool, rng) returns an entry of the pool", selector.select,
                       pool, np.random.default_rng(seed))
    rules.require(again is not None and again.program_id == picked.program_id,
                  "select draws randomness only from rng",
                  lambda: f"two generators seeded {seed} picked {picked.program_id!r} and "
                          f"{getattr(again, 'program_id', again)!r}")


def _empty_pool(rules: Rules, selector: Any) -> None:
    rule = "select raises ValueError on an empty pool"
    try:
        picked = selector.select([], np.random.default_rng(0))
    except ValueError:
        rules.require(True, rule, "")
        return
    except Exception as exc:  # noqa: BLE001 - the wrong exception is the broken rule
        rules.require(False, rule, f"raised {type(exc).__name__}: {exc}")
    rules.require(False, rule, f"returned {picked!r}")


def _numpy_state() -> tuple[Any, ...]:
    state: Any = np.random.get_state()  # the legacy tuple form (typed as tuple | dict)
    name, keys, pos, has_gauss, cached = state
    return name, tuple(np.asarray(keys).tolist()), pos, has_gauss, cached
