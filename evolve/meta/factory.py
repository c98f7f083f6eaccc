"""Choose the meta-agent a campaign config asks for."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config.sections import CampaignConfig
from .base import MetaAgent

if TYPE_CHECKING:
    from ..llm.hub import ModelHub


def make_meta_agent(config: CampaignConfig, hub: ModelHub, agent: MetaAgent | None = None, *,
                    reflector_object: bool = False) -> MetaAgent:
    """``agent`` itself when given (TypeError when it lacks part of the protocol); else
    ``models.reflector = "offline"`` -> the template-driven offline mutator, and the LLM
    meta-agent otherwise or when the hub's reflector role is a caller's model object
    (``reflector_object``)."""
    if agent is not None:
        from ..objects import require

        return require(agent, "meta_agent")
    if config.models.reflector == "offline" and not reflector_object:
        from .offline.mutator import OfflineMutator

        return OfflineMutator(policy=config.search.offline_policy)
    from .llm_agent import LLMMetaAgent

    return LLMMetaAgent(hub, mode=config.search.mutation,
                        read_char_cap=config.sandbox.read_char_cap,
                        llm_budget=config.sandbox.llm_budget_per_call,
                        call_timeout_s=config.sandbox.call_timeout_s,
                        fix_rounds=config.search.fix_rounds)
