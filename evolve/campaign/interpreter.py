"""Interpreter settings for the length of a campaign (process-wide; restored afterwards).

A campaign's orchestrator is one Python process in which many threads wait on I/O (LLM
calls, sandbox pipes) and a few do CPU work (storing, rendering, HTTP parsing). Two defaults
cost it time:

- the GIL switch interval (5 ms): a busy thread makes every thread whose reply has arrived
  queue for up to 5 ms per hand-over; ``campaign_interpreter`` lowers it to 1 ms (a batch-4
  round against a 200 ms endpoint got ~8% shorter in ``bench/batch_speedup.py``);
- full garbage collections: by the first iteration the heap holds hundreds of thousands of
  long-lived objects (modules, embedding models, task data), and a generation-2 collection
  walks all of them while holding the GIL -- measured at 190 ms, a stall of every evaluation
  in flight. ``freeze_long_lived`` (called once setup and the seeds are done) moves what is
  alive then into the collector's permanent generation, so later full collections walk only
  what the iterations allocate (16 ms in the same run). Unfrozen when the campaign ends.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

SWITCH_INTERVAL_S = 0.001


@contextmanager
def campaign_interpreter() -> Iterator[None]:
    """Lower the switch interval while the block runs; undo it and any freeze afterwards."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, SWITCH_INTERVAL_S))
    try:
        yield
    finally:
        sys.setswitchinterval(interval)
        gc.unfreeze()


def freeze_long_lived() -> None:
    """Collect garbage once, then exempt every object alive now from later collections."""
    gc.collect()
    gc.freeze()
