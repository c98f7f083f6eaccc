"""A long campaign keeps no per-round state in memory (issue 18: no growth)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from evolve.campaign.loop import Campaign
from evolve.config.load import load_config
from evolve.lineage.queries import open_run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class WatchedCampaign(Campaign):
    """Records the reflection subsets still held after each round."""

    held: list[str]

    def _step(self, iteration: int) -> float | None:
        result = super()._step(iteration)
        self.held.extend(k for k in self.evaluator.subset_items if k.startswith("reflect:"))
        self.held.extend(k for k in self.subset_task.subset_names() if k.startswith("reflect:"))
        return result


def test_reflection_subsets_are_dropped_once_reflected_on(tmp_path: Path) -> None:
    config = load_config(EXAMPLES / "quickstart.toml",
                         ["task.args.size=tiny", "search.iterations=3", "data.val_size=10",
                          "parallel.batch_size=2"])
    campaign = WatchedCampaign(config, tmp_path / "run", config_dir=EXAMPLES, progress=False)
    campaign.held = []
    assert campaign.run().finished
    assert campaign.held == []
    store = open_run(tmp_path / "run")
    try:
        (reflections,) = store.query("SELECT count(*) FROM evaluations WHERE split = 'reflect'")[0]
    finally:
        store.close()
    assert reflections == 6  # 3 rounds x 2 children were reflected on, then forgotten


def test_the_store_is_reopened_every_few_iterations_and_keeps_its_data(tmp_path: Path) -> None:
    from evolve.campaign.memory import STORE_REOPEN_EVERY, after_iteration
    from evolve.lineage import LineageStore

    store = LineageStore(tmp_path / "lineage.duckdb")
    try:
        store.add_campaign("c1", name="t", task="dialog-synth")
        store.set_state("c1", "iterations_done", 7)
        first = store.conn
        after_iteration(store, STORE_REOPEN_EVERY - 1)
        assert store.conn is first
        after_iteration(store, STORE_REOPEN_EVERY)
        assert store.conn is not first
        assert store.get_state("c1", "iterations_done") == 7
        (limit,) = store.query("SELECT value FROM duckdb_settings() "
                               "WHERE name = 'memory_limit'")[0]
        assert limit.endswith("MiB") and float(limit.split()[0]) < 40  # the writer's limit
    finally:
        store.close()


# -- glibc's mmap threshold ------------------------------------------------------------------

_THRESHOLD_PROBE = r"""
import ctypes, sys
from evolve.campaign.memory import pin_mmap_threshold

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks "
                "keepcost".split()]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
pinned = pin_mmap_threshold() if sys.argv[1] == "pin" else False
before = libc.mallinfo2().hblks
libc.free(libc.malloc(4 << 20))  # unpinned, this free raises the threshold to 4 MiB
block = libc.malloc(512 << 10)
print(pinned, libc.mallinfo2().hblks - before)
"""


def _probe(mode: str, **env: str) -> tuple[str, str]:
    environ = {k: v for k, v in os.environ.items()
               if k not in ("MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES")}
    out = subprocess.run([sys.executable, "-c", _THRESHOLD_PROBE, mode], check=True,
                         capture_output=True, text=True, env={**environ, **env}).stdout.split()
    return out[0], out[1]


def _glibc() -> bool:
    return platform.libc_ver()[0] == "glibc"


def test_a_pinned_threshold_keeps_large_blocks_off_the_heap_after_a_large_free() -> None:
    if not _glibc():
        pytest.skip("glibc's allocator only")
    # without the pin, glibc's dynamic threshold climbs and the 512 KiB block goes on the heap
    assert _probe("none") == ("False", "0")
    assert _probe("pin") == ("True", "1")


def test_the_users_own_glibc_threshold_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    from evolve.campaign import memory

    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(memory, "_mallopt", lambda: lambda *args: calls.append(args) or 1)
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert memory.pin_mmap_threshold() is False
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_")
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=65536")
    assert memory.pin_mmap_threshold() is False
    assert calls == []
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=2")
    assert memory.pin_mmap_threshold() is True
    assert calls == [(-3, memory.MMAP_THRESHOLD_BYTES)]


def test_pinning_is_a_no_op_off_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    from evolve.campaign import memory

    monkeypatch.setattr(memory, "_mallopt", lambda: None)
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    assert memory.pin_mmap_threshold() is False


def test_a_campaign_pins_the_threshold_when_it_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from evolve.campaign import loop

    pinned: list[bool] = []
    monkeypatch.setattr(loop, "pin_mmap_threshold", lambda: pinned.append(True) or True)
    config = load_config(EXAMPLES / "quickstart.toml",
                         ["task.args.size=tiny", "search.iterations=1", "data.val_size=4"])
    assert Campaign(config, tmp_path / "run", config_dir=EXAMPLES, progress=False).run().finished
    assert pinned == [True]
