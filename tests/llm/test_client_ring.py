"""ClientRing: which client a request gets, and when the ring grows."""

from __future__ import annotations

import itertools
import threading
from contextlib import ExitStack

import pytest

from evolve.llm.client_ring import ClientRing


def counting_ring(**kw) -> tuple[ClientRing[int], list[int]]:
    made: list[int] = []
    numbers = itertools.count()

    def make() -> int:
        made.append(next(numbers))
        return made[-1]

    return ClientRing(make, **kw), made


def test_one_request_at_a_time_uses_the_first_client_only():
    ring, made = counting_ring(per_client=2, max_clients=4)
    for _ in range(10):
        with ring.lease() as client:
            assert client == 0
    assert made == [0] and len(ring) == 1 and ring.first == 0


def test_a_new_client_is_made_only_when_every_client_is_full():
    ring, made = counting_ring(per_client=2, max_clients=3)
    with ExitStack() as held:
        got = [held.enter_context(ring.lease()) for _ in range(6)]
        assert got == [0, 0, 1, 1, 2, 2]  # fill one, then the next is made
        assert made == [0, 1, 2]
        extra = [held.enter_context(ring.lease()) for _ in range(3)]
        assert made == [0, 1, 2]  # at the cap: the least busy is shared instead
        assert sorted(extra) == [0, 1, 2]


def test_a_returned_lease_frees_its_client_even_after_an_error():
    ring, made = counting_ring(per_client=1, max_clients=2)
    with pytest.raises(RuntimeError):
        with ring.lease():
            raise RuntimeError("request failed")
    with ring.lease() as first, ring.lease() as second:
        assert (first, second) == (0, 1)
    with ring.lease() as again:
        assert again == 0  # both free again: the first (least busy, lowest) is reused
    assert made == [0, 1]


def test_concurrent_leases_never_exceed_the_cap_or_lose_counts():
    ring, made = counting_ring(per_client=2, max_clients=4)
    start = threading.Barrier(16)

    def work() -> None:
        start.wait()
        for _ in range(200):
            with ring.lease():
                pass

    threads = [threading.Thread(target=work) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 1 <= len(made) <= 4
    assert ring._in_flight == [0] * len(made)
