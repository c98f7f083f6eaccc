"""Base classes for pytest: subclass one as ``Test...``, say how to make your part, and pytest
runs its conformance check as one test.

    class TestMySelector(SelectorCases):
        def make_selector(self):
            return MySelector()
"""

from __future__ import annotations

from typing import Any

from .meta_checks import check_meta_agent
from .selector_checks import check_selector
from .task_checks import check_task


class TaskCases:
    """``make_task()`` returns a fresh task; ``judge`` (optional) is passed to ``check_task``."""

    judge: Any = None

    def make_task(self) -> Any:
        raise NotImplementedError("define make_task() returning the task to check")

    def test_task_contract(self) -> None:
        check_task(self.make_task(), judge=self.judge)


class SelectorCases:
    """``make_selector()`` returns a fresh parent selector."""

    def make_selector(self) -> Any:
        raise NotImplementedError("define make_selector() returning the selector to check")

    def test_selector_contract(self) -> None:
        check_selector(self.make_selector())


class MetaAgentCases:
    """``make_meta_agent()`` returns a fresh meta-agent; set ``deterministic = False`` for one
    on a sampling model."""

    deterministic = True

    def make_meta_agent(self) -> Any:
        raise NotImplementedError("define make_meta_agent() returning the meta-agent to check")

    def test_meta_agent_contract(self) -> None:
        check_meta_agent(self.make_meta_agent(), deterministic=self.deterministic)
