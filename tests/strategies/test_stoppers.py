"""Stoppers: each limit, disabled at 0, the stop file, and first-reason-wins composition."""

from __future__ import annotations

from dataclasses import replace

from evolve.config.sections import BudgetSection, CampaignConfig, SearchSection
from evolve.strategies.stoppers import (
    CampaignStatus,
    CompositeStopper,
    FailedProposalsStopper,
    IterationStopper,
    MoneyStopper,
    StagnationStopper,
    StopFileStopper,
    Stopper,
    TokenStopper,
    WallTimeStopper,
    build_stoppers,
)


def _status(tmp_path, **changes) -> CampaignStatus:
    base = CampaignStatus(iterations_done=3, iterations_target=20, run_dir=str(tmp_path))
    return replace(base, **changes)


def test_individual_stoppers(tmp_path):
    assert IterationStopper().check(_status(tmp_path)) is None
    assert IterationStopper().check(_status(tmp_path, iterations_done=20)).startswith("iterations:")
    assert IterationStopper().check(_status(tmp_path, iterations_done=0, iterations_target=0))

    assert MoneyStopper(5.0).check(_status(tmp_path, usd_spent=4.99)) is None
    assert MoneyStopper(5.0).check(_status(tmp_path, usd_spent=5.0)).startswith("max_usd:")

    assert TokenStopper(1000).check(_status(tmp_path, tokens_spent=999)) is None
    assert TokenStopper(1000).check(_status(tmp_path, tokens_spent=1000)).startswith("max_tokens:")

    assert WallTimeStopper(2).check(_status(tmp_path, elapsed_s=119.0)) is None
    assert WallTimeStopper(2).check(_status(tmp_path, elapsed_s=120.0)).startswith("max_minutes:")

    assert StagnationStopper(4).check(_status(tmp_path, iterations_since_best=3)) is None
    assert StagnationStopper(4).check(_status(tmp_path, iterations_since_best=4)).startswith(
        "stagnation:")


def test_stop_file(tmp_path):
    stopper = StopFileStopper("STOP")
    assert stopper.check(_status(tmp_path)) is None
    (tmp_path / "STOP").write_text("")
    reason = stopper.check(_status(tmp_path))
    assert reason is not None and reason.startswith("stop_file:") and "STOP" in reason


def test_build_stoppers_disables_zero_limits(tmp_path):
    composite = build_stoppers(CampaignConfig())
    kinds = [type(s) for s in composite.stoppers]
    # budgets default to 0 = off; 5 failed proposals in a row stop a campaign by default
    assert kinds == [IterationStopper, StopFileStopper, FailedProposalsStopper]
    huge = _status(tmp_path, usd_spent=1e9, tokens_spent=10**12, elapsed_s=1e9,
                   iterations_since_best=10**6)
    assert composite.check(huge) is None
    no_file = CampaignConfig(budget=BudgetSection(stop_file=""),
                             search=SearchSection(max_failed_proposals=0))
    assert [type(s) for s in build_stoppers(no_file).stoppers] == [IterationStopper]


def test_failed_proposals_stopper_names_the_last_reason(tmp_path):
    stopper = FailedProposalsStopper(3)
    assert stopper.check(_status(tmp_path, failed_proposals_in_a_row=2)) is None
    reason = stopper.check(_status(tmp_path, failed_proposals_in_a_row=3,
                                   last_proposal_error="prompt too long\nfor the window"))
    assert reason == ("max_failed_proposals: 3 proposals in a row failed; last: prompt too "
                      "long for the window")


def test_build_stoppers_all_limits_and_first_reason_wins(tmp_path):
    config = CampaignConfig(budget=BudgetSection(max_usd=10.0, max_tokens=5000, max_minutes=1.0,
                                                 stagnation=3))
    composite = build_stoppers(config)
    assert all(isinstance(s, Stopper) for s in composite.stoppers)
    assert composite.check(_status(tmp_path)) is None
    assert composite.check(_status(tmp_path, elapsed_s=61.0)).startswith("max_minutes:")
    both = _status(tmp_path, usd_spent=11.0, iterations_since_best=5)
    assert composite.check(both).startswith("max_usd:")  # money is asked before stagnation
    assert composite.check(_status(tmp_path, iterations_since_best=3)).startswith("stagnation:")
    (tmp_path / "STOP").touch()
    assert composite.check(both).startswith("stop_file:")
    done = _status(tmp_path, iterations_done=20, usd_spent=11.0)
    assert composite.check(done).startswith("iterations:")


def test_composite_of_nothing_never_stops(tmp_path):
    assert CompositeStopper([]).check(_status(tmp_path, iterations_done=99)) is None
