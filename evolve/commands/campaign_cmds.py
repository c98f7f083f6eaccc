"""``evolve run`` and ``evolve resume``: launch or continue a campaign."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import UsageError


def _report(outcome) -> int:
    print(f"run dir      {outcome.run_dir}")
    print(f"stop reason  {outcome.stop_reason}")
    if outcome.best_program:
        print(f"best         {outcome.best_program[:12]}  val {outcome.best_val:.4f}"
              + (f"  test {outcome.best_test:.4f}  gap {outcome.best_val - outcome.best_test:+.4f}"
                 if outcome.best_test is not None else ""))
    if not outcome.finished:
        print(f"interrupted: continue with `evolve resume {outcome.run_dir}`", file=sys.stderr)
        return 130
    return 0


def _start(make: Callable[[], Any], run_dir: Path) -> Any:
    """``make()`` the campaign; a Ctrl-C during its setup says how to continue, if it can."""
    from ..lineage.queries import open_run

    try:
        return make()
    except KeyboardInterrupt:
        try:
            open_run(run_dir).close()  # the campaign record exists: resume continues the setup
        except UsageError:
            print(f"evolve: interrupted before {run_dir} was set up; nothing was kept: run the "
                  "same command again", file=sys.stderr)
            return None
        print(f"interrupted: continue with `evolve resume {run_dir}`", file=sys.stderr)
        return None


def run_cmd(args: argparse.Namespace) -> int:
    from ..campaign.loop import Campaign
    from ..config.load import load_config

    if args.config is None:
        raise UsageError("evolve run needs a config file: `evolve init` writes quickstart.toml "
                         "here, then `evolve run quickstart.toml`")
    config_path = Path(args.config)
    config = load_config(config_path, args.set)
    run_dir = Path(args.run_dir or config.campaign.run_dir or Path("runs") / config.campaign.name)
    campaign = _start(lambda: Campaign(config, run_dir, config_dir=config_path.resolve().parent,
                                       progress=not args.quiet), run_dir)
    return 130 if campaign is None else _report(_run(campaign))


def resume_cmd(args: argparse.Namespace) -> int:
    from ..campaign.loop import Campaign
    from ..config.resume import resume_config
    from ..lineage.queries import open_run

    run_dir = Path(args.run_dir)
    if not run_dir.exists():
        # a campaign stopped before its run dir was published (see campaign/run_dir.py)
        raise UsageError(f"{run_dir} does not exist: no campaign was set up there (one stopped "
                         "during its first moments keeps nothing); start it with `evolve run`")
    store = open_run(run_dir)
    try:
        record = store.campaign() or {}
    finally:
        store.close()
    if record.get("finished_at") is not None:
        raise UsageError(f"the campaign in {run_dir} already finished "
                         f"({record.get('stop_reason')}); nothing to resume")
    config = resume_config(json.loads(record["config"]), args.set)
    campaign = _start(lambda: Campaign(config, run_dir, resume=True, progress=not args.quiet),
                      run_dir)
    return 130 if campaign is None else _report(_run(campaign))


def _run(campaign: Any) -> Any:
    """Run ``campaign`` with the command line's Ctrl-C handling (``campaign_sigint``)."""
    from .interrupt import campaign_sigint

    with campaign_sigint(campaign):
        return campaign.run()
