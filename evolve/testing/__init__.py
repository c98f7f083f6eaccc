"""Conformance checks for the parts you bring: run them on your own task, parent selector or
meta-agent before a campaign does (in the spirit of Optuna's sampler test cases).

    from evolve.testing import check_meta_agent, check_selector, check_task

    check_task(MyTask())            # groups, splits, scoring and records as evolve.Task states
    check_selector(MySelector())    # returns a pool member, only rng decides, pool untouched
    check_meta_agent(MyAgent())     # Proposals, determinism, no exceptions, whole programs

Each check exercises the contract in its Protocol's docstring (``help(evolve.Task)``,
``help(evolve.ParentSelector)``, ``help(evolve.MetaAgent)``) and returns the list of the
rules it checked; the first broken rule raises :class:`ConformanceError`, an
``AssertionError`` whose message names the part, the rule and what was seen, so the checks
read as failed assertions in pytest; ``TaskCases``, ``SelectorCases`` and ``MetaAgentCases``
make each check a test of a ``Test...`` subclass. The built-in tasks, selectors and meta-agents pass them
(``tests/api/test_conformance.py``).
"""

from .cases import MetaAgentCases, SelectorCases, TaskCases
from .failure import ConformanceError
from .meta_checks import check_meta_agent
from .selector_checks import check_selector
from .task_checks import check_task

__all__ = ["ConformanceError", "MetaAgentCases", "SelectorCases", "TaskCases",
           "check_meta_agent", "check_selector", "check_task"]
