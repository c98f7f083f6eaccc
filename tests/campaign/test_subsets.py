"""Data subsets: k-means static validation picks, facility-location episodes, group filtering,
the rotating reflection sampler and failed/success case picking."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from evolve.campaign.strata import (
    category_quotas,
    category_shares,
    select_static_val_stratified,
)
from evolve.campaign.subsets import (
    ReflectionSampler,
    filter_groups,
    pick_failed_cases,
    select_episodes,
    select_static_val,
)
from evolve.llm.embedders import HashingEmbedder, normalise_rows
from evolve.tasks.base import Episode, EvalItem, Group
from evolve.tasks.registry import make_task


def _clusters(n_clusters: int, per_cluster: int, dim: int = 16, noise: float = 0.05,
              seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors around ``n_clusters`` orthogonal directions, grouped by cluster."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n_clusters), per_cluster)
    points = np.eye(dim)[labels] + noise * rng.standard_normal((len(labels), dim))
    return normalise_rows(points), labels


def _items(n: int) -> list[EvalItem]:
    return [EvalItem(id=f"q{i}", question=f"question {i}", gold="x", category="1") for i in range(n)]


# -- static validation ----------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_kmeans_picks_one_item_per_cluster(seed):
    vectors, labels = _clusters(6, 10, seed=seed)
    items = _items(len(labels))
    picked = select_static_val(items, vectors, 6, seed)
    assert len(picked) == 6
    clusters = {int(labels[int(pid[1:])]) for pid in picked}
    assert clusters == set(range(6))  # the first 6 items would all come from cluster 0


def test_kmeans_unequal_clusters_and_more_picks_than_clusters():
    vectors, labels = _clusters(3, 20, seed=5)
    picked = select_static_val(_items(60), vectors, 9, seed=11)
    counts = Counter(int(labels[int(pid[1:])]) for pid in picked)
    assert len(picked) == 9 and len(set(picked)) == 9
    assert set(counts) == {0, 1, 2}


@pytest.mark.parametrize("seed", [0, 2, 3])
def test_kmeans_many_uneven_noisy_clusters(seed):
    # 40 clusters of 3..19 items with noise norm ~0.4: plain k-means++ + Lloyd (and sklearn's
    # KMeans) leave a cluster unserved in most of these; the relocation search fixes it.
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(40), rng.integers(3, 20, size=40))
    vectors = normalise_rows(np.eye(64)[labels] + 0.05 * rng.standard_normal((len(labels), 64)))
    picked = select_static_val(_items(len(labels)), vectors, 40, seed)
    assert {int(labels[int(pid[1:])]) for pid in picked} == set(range(40))


def test_static_val_deterministic_ordered_and_jsonable():
    vectors, _ = _clusters(5, 8, seed=2)
    items = _items(40)
    first = select_static_val(items, vectors, 7, seed=4)
    assert first == select_static_val(items, vectors, 7, seed=4)
    order = [int(pid[1:]) for pid in first]
    assert order == sorted(order)
    assert json.loads(json.dumps(first)) == first


def test_static_val_all_items_when_size_large_and_distinct_on_duplicates():
    items = _items(4)
    vectors, _ = _clusters(2, 2)
    assert select_static_val(items, vectors, 4, 0) == ["q0", "q1", "q2", "q3"]
    assert select_static_val(items, vectors, 10, 0) == ["q0", "q1", "q2", "q3"]
    same = np.tile(normalise_rows(np.ones((1, 8))), (10, 1))
    picked = select_static_val(_items(10), same, 3, 0)
    assert len(set(picked)) == 3
    with pytest.raises(ValueError):
        select_static_val(items, vectors[:3], 2, 0)


# -- stratified static validation ------------------------------------------------------------

def test_quotas_follow_shares_with_largest_remainder():
    available = {"1": 100, "2": 100, "3": 100, "4": 100, "5": 100}
    shares = {"1": 0.30, "2": 0.25, "3": 0.15, "4": 0.25, "5": 0.05}
    quotas = category_quotas(available, shares, 150)
    assert sum(quotas.values()) == 150
    assert all(abs(quotas[c] - 150 * shares[c]) < 1 for c in shares)
    # targets 2.1 1.75 1.05 1.75 0.35: floors 2 1 1 1 0, the two left go to the largest
    # remainders (0.75 and 0.75), not to the largest categories
    assert category_quotas(available, shares, 7) == {"1": 2, "2": 2, "3": 1, "4": 2, "5": 0}


def test_quotas_give_what_a_small_category_cannot_take_to_the_others():
    quotas = category_quotas({"a": 2, "b": 50, "c": 50}, {"a": 0.5, "b": 0.25, "c": 0.25}, 40)
    assert quotas == {"a": 2, "b": 19, "c": 19}
    # more asked than there are items: every item
    assert category_quotas({"a": 3, "b": 4}, {"a": 0.9, "b": 0.1}, 50) == {"a": 3, "b": 4}
    # no share for any available category: their sizes are the shares
    assert category_quotas({"x": 30, "y": 10}, {"z": 1.0}, 8) == {"x": 6, "y": 2}


def test_stratified_static_set_has_the_test_mix_and_kmeans_within_each_category():
    vectors, labels = _clusters(4, 30, seed=1)
    items = [EvalItem(id=f"q{i}", question=f"question {i}", gold="x",
                      category="A" if i < 90 else "B") for i in range(len(labels))]
    shares = {"A": 0.5, "B": 0.5}
    picked = select_static_val_stratified(items, vectors, 20, 0, shares)
    by_id = {item.id: item for item in items}
    counts = Counter(by_id[pid].category for pid in picked)
    assert counts == {"A": 10, "B": 10}  # plain k-means over all would give A about 3/4
    assert picked == [item.id for item in items if item.id in set(picked)]  # original order
    # within category A (clusters 0-2) k-means still spreads the picks over its clusters
    assert {int(labels[int(pid[1:])]) for pid in picked if by_id[pid].category == "A"} == \
        {0, 1, 2}
    assert picked == select_static_val_stratified(items, vectors, 20, 0, shares)
    assert category_shares(items) == {"A": 0.75, "B": 0.25}


def test_campaign_static_set_is_stratified_by_the_test_split():
    from evolve.campaign.setup import choose_data
    from evolve.config.load import config_from_dict
    from evolve.llm.factory import build_hub

    task = make_task("dialog-synth", {"size": "hard"})
    by_id = {it.id: it for split in ("val", "test") for g in task.groups(split) for it in g.items}
    test_shares = category_shares(it for g in task.groups("test") for it in g.items)
    hub = build_hub(model="offline")
    config = config_from_dict({"data": {"val_size": 100}})  # of 148
    data = choose_data(task, config, hub)
    assert len(data.static_items) == 100
    counts = Counter(by_id[i].category for i in data.static_items)
    quotas = category_quotas(Counter(it.category for g in task.groups("val") for it in g.items),
                             test_shares, 100)
    assert counts == {c: n for c, n in quotas.items() if n}
    for category, share in test_shares.items():  # every category has room in val here
        assert abs(counts[category] - 100 * share) < 1, (category, counts, test_shares)
    plain = choose_data(task, config_from_dict({"data": {"val_size": 100,
                                                         "stratify": "none"}}), hub)
    assert plain.static_items != data.static_items


# -- episodes -------------------------------------------------------------------------------

def _group(gid: str, n_episodes: int, items: list[EvalItem]) -> Group:
    episodes = tuple(Episode(id=f"{gid}:session_{s}", text=f"session {s}", meta={"session": s})
                     for s in range(1, n_episodes + 1))
    return Group(id=gid, episodes=episodes, items=tuple(items))


def test_facility_location_covers_clusters_after_evidence():
    # 12 sessions in 4 topical clusters (sessions 1-3 = cluster 0, 4-6 = cluster 1, ...)
    vectors, labels = _clusters(4, 3, seed=7)
    item = EvalItem(id="a:q0", question="?", gold="x", category="1",
                    meta={"evidence_ids": ["D2:4"]})
    group = _group("a", 12, [item])
    by_id = {ep.id: vectors[i] for i, ep in enumerate(group.episodes)}
    chosen = select_episodes([group], ["a:q0"], by_id, ratio=4.0, seed=0)
    assert "a:session_2" in chosen  # the evidence session is always kept
    assert len(chosen) == 4
    clusters = {int(labels[int(eid.rsplit("_", 1)[1]) - 1]) for eid in chosen}
    assert clusters == {0, 1, 2, 3}
    ordered = [ep.id for ep in group.episodes if ep.id in chosen]
    assert chosen == ordered  # original order


def test_evidence_beyond_ratio_is_kept_and_unknown_evidence_keeps_group():
    vectors, _ = _clusters(2, 5)
    with_evidence = EvalItem(id="a:q0", question="?", gold="x", category="1",
                             meta={"evidence_ids": ["D1:1", "D3:2", "D5:1"]})
    no_meta = EvalItem(id="b:q0", question="?", gold="x", category="1")
    a, b = _group("a", 5, [with_evidence]), _group("b", 5, [no_meta])
    by_id = {ep.id: vectors[i] for i, ep in enumerate(a.episodes)}
    by_id.update({ep.id: vectors[5 + i] for i, ep in enumerate(b.episodes)})
    chosen = select_episodes([a, b], ["a:q0", "b:q0"], by_id, ratio=1.0, seed=0)
    assert {"a:session_1", "a:session_3", "a:session_5"} <= set(chosen)
    assert {ep.id for ep in b.episodes} <= set(chosen)  # no evidence metadata: whole group
    assert len(chosen) == 8


def test_ratio_zero_keeps_all_episodes_of_selected_groups():
    item_a = EvalItem(id="a:q0", question="?", gold="x", category="1")
    item_c = EvalItem(id="c:q0", question="?", gold="x", category="1")
    groups = [_group("a", 3, [item_a]), _group("c", 2, [item_c])]
    chosen = select_episodes(groups, ["a:q0"], {}, ratio=0, seed=0)
    assert chosen == ["a:session_1", "a:session_2", "a:session_3"]


def test_similarity_does_not_cross_groups():
    # group b's only candidate is identical to group a's evidence; group a has a far episode.
    v = normalise_rows(np.array([[1, 0, 0], [0, 1, 0], [1, 0, 0.01]], dtype=float))
    ia = EvalItem(id="a:q", question="?", gold="x", category="1", meta={"evidence_ids": ["D1:1"]})
    ib = EvalItem(id="b:q", question="?", gold="x", category="1", meta={"evidence_ids": []})
    a, b = _group("a", 2, [ia]), _group("b", 1, [ib])
    by_id = {"a:session_1": v[0], "a:session_2": v[1], "b:session_1": v[2]}
    chosen = select_episodes([a, b], ["a:q", "b:q"], by_id, ratio=1.0, seed=0)
    # target 2: evidence a:session_1, then b:session_1 (it covers its own group, a:session_2
    # only covers itself, and a:session_1 already covers b's twin only across groups)
    assert chosen == ["a:session_1", "b:session_1"]


def test_filter_groups_keeps_order_and_drops_empty_groups():
    items_a = [EvalItem(id=f"a:q{i}", question="?", gold="x", category="1") for i in range(3)]
    items_b = [EvalItem(id="b:q0", question="?", gold="x", category="1")]
    groups = [_group("a", 4, items_a), _group("b", 2, items_b)]
    out = filter_groups(groups, ["a:q2", "a:q0"], ["a:session_4", "a:session_1", "b:session_1"])
    assert len(out) == 1 and out[0].id == "a"
    assert [i.id for i in out[0].items] == ["a:q0", "a:q2"]
    assert [e.id for e in out[0].episodes] == ["a:session_1", "a:session_4"]


def test_dialog_synth_end_to_end_keeps_evidence_sessions():
    groups = make_task("dialog-synth", {"size": "tiny"}).groups("val")
    items = [i for g in groups for i in g.items]
    embedder = HashingEmbedder()
    picked = select_static_val(items, embedder.embed([i.question for i in items]), 6, seed=0)
    episodes = [e for g in groups for e in g.episodes]
    vectors = dict(zip([e.id for e in episodes], embedder.embed([e.text for e in episodes]),
                       strict=True))
    chosen = select_episodes(groups, picked, vectors, ratio=1.0, seed=0)
    kept = filter_groups(groups, picked, chosen)
    assert sorted(i.id for g in kept for i in g.items) == sorted(picked)
    for group in kept:
        sessions = {e.meta["session"] for e in group.episodes}
        for item in group.items:
            needed = {int(e[1:].split(":")[0]) for e in item.meta["evidence_ids"]}
            assert needed <= sessions


# -- reflection sampler -----------------------------------------------------------------------

def test_reflection_sampler_rotates_through_pool():
    pool = [f"r{i}" for i in range(20)]
    sampler = ReflectionSampler(pool, 5, seed=3)
    first_pass = [sampler.sample(i) for i in range(4)]
    assert all(len(s) == 5 and len(set(s)) == 5 for s in first_pass)
    assert sorted(x for s in first_pass for x in s) == sorted(pool)  # every item once per pass
    assert sampler.sample(4) != sampler.sample(0) or sampler.sample(5) != sampler.sample(1)


def test_reflection_sampler_deterministic_and_order_independent():
    pool = [f"r{i}" for i in range(13)]
    a = ReflectionSampler(pool, 5, seed=1)
    b = ReflectionSampler(list(reversed(pool)), 5, seed=1)
    for iteration in range(10):
        sample = a.sample(iteration)
        assert sample == b.sample(iteration)
        assert len(sample) == 5 and len(set(sample)) == 5  # windows across passes stay distinct
    seen = {x for i in range(3) for x in a.sample(i)}
    assert len(seen) == 13  # 15 draws over a 13-item pool see all of it
    assert ReflectionSampler(pool, 5, seed=2).sample(0) != a.sample(0) or \
        ReflectionSampler(pool, 5, seed=2).sample(1) != a.sample(1)


def test_reflection_sampler_small_and_empty_pools():
    assert sorted(ReflectionSampler(["a", "b"], 5, seed=0).sample(7)) == ["a", "b"]
    assert ReflectionSampler([], 5, seed=0).sample(0) == []


# -- failed / success cases -------------------------------------------------------------------

def test_failed_cases_weighted_by_one_minus_score():
    traces = [{"item_id": "a", "score": 0.0}, {"item_id": "b", "score": 0.5},
              {"item_id": "c", "score": 0.9}, {"item_id": "d", "score": 1.0}]
    counts: Counter[str] = Counter()
    draws = 6000
    for seed in range(draws):
        failed, _ = pick_failed_cases(traces, 1, 0, seed)
        counts[failed[0]["item_id"]] += 1
    expected = {"a": 1.0 / 1.6, "b": 0.5 / 1.6, "c": 0.1 / 1.6}
    assert "d" not in counts
    for key, p in expected.items():
        assert abs(counts[key] / draws - p) < 0.02, (key, counts)


def test_failed_and_success_cases():
    class Trace:
        def __init__(self, name: str, score: float) -> None:
            self.name, self.score = name, score

    traces = [Trace("a", 0.0), Trace("b", 0.2), Trace("c", 1.0), Trace("d", 0.995), Trace("e", 0.4)]
    failed, success = pick_failed_cases(traces, 3, 1, seed=5)
    assert sorted(t.name for t in failed) == ["a", "b", "e"]  # all three failures, no repeats
    assert len(success) == 1 and success[0].name in {"c", "d"}
    assert pick_failed_cases(traces, 3, 1, seed=5)[1][0] is success[0]  # seeded
    failed, success = pick_failed_cases(traces, 10, 2, seed=0)
    assert len(failed) == 3 and sorted(t.name for t in success) == ["c", "d"]


def test_success_falls_back_to_best_remaining():
    traces = [{"id": "a", "score": 0.1}, {"id": "b", "score": 0.7}, {"id": "c", "score": 0.3}]
    failed, success = pick_failed_cases(traces, 1, 1, seed=0)
    assert len(failed) == 1
    best_left = max((t for t in traces if t is not failed[0]), key=lambda t: t["score"])
    assert success == [best_left]
    assert pick_failed_cases([{"score": 0.0}], 1, 1, seed=0) == ([{"score": 0.0}], [])
    assert pick_failed_cases([], 3, 1, seed=0) == ([], [])
