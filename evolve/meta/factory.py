"""Choose the meta-agent a campaign config asks for (``search.meta_agent``).

The names are those of ``evolve.registry.META_AGENTS``: the built-ins below and the
meta-agents installed distributions declare in the ``evolve.meta_agents`` entry-point group.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config.sections import CampaignConfig
from ..registry import META_AGENTS
from .base import MetaAgent

if TYPE_CHECKING:
    from ..llm.hub import ModelHub


def make_meta_agent(config: CampaignConfig, hub: ModelHub, agent: MetaAgent | None = None, *,
                    reflector_object: bool = False) -> MetaAgent:
    """``agent`` itself when given (TypeError when it lacks part of the protocol); else the
    meta-agent ``search.meta_agent`` names (UsageError listing the names when unknown)."""
    if agent is not None:
        from ..objects import require

        return require(agent, "meta_agent")
    made: MetaAgent = META_AGENTS.get(config.search.meta_agent)(config, hub, reflector_object)
    return made


def auto_meta_agent(config: CampaignConfig, hub: ModelHub,
                    reflector_object: bool = False) -> MetaAgent:
    """``models.reflector = "offline"`` -> the offline mutator; the LLM meta-agent otherwise
    or when the hub's reflector role is a caller's model object (``reflector_object``)."""
    if config.models.reflector == "offline" and not reflector_object:
        return offline_meta_agent(config, hub)
    return llm_meta_agent(config, hub)


def offline_meta_agent(config: CampaignConfig, hub: ModelHub,
                       reflector_object: bool = False) -> MetaAgent:
    """The template-driven offline mutator (no model call; the hub is not used)."""
    from .offline.mutator import OfflineMutator

    return OfflineMutator(policy=config.search.offline_policy)


def llm_meta_agent(config: CampaignConfig, hub: ModelHub,
                   reflector_object: bool = False) -> MetaAgent:
    """The LLM meta-agent, asking the hub's reflector role (the task model when
    ``models.reflector`` is "offline" and no model object was passed)."""
    from .llm_agent import LLMMetaAgent

    return LLMMetaAgent(hub, mode=config.search.mutation,
                        read_char_cap=config.sandbox.read_char_cap,
                        llm_budget=config.sandbox.llm_budget_per_call,
                        call_timeout_s=config.sandbox.call_timeout_s,
                        fix_rounds=config.search.fix_rounds)
