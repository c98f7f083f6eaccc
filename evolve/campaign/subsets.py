"""Data subsets of a campaign: static validation items, their episodes, rotating reflection sets.

Everything here is deterministic for a given seed and returns plain ids (str lists), so the
choices can be stored in the campaign record and reproduced exactly on resume.

- ``select_static_val``: k-means over question embeddings, one representative item per
  cluster (M*: 32-60 diverse validation items instead of the whole split); ``strata.py``
  runs it within each category, each category taking its share of the test split.
- ``select_episodes``: the episodes to write for those items: every episode holding evidence
  for a selected item, then more by greedy facility location up to ``ratio`` x items.
- ``filter_groups``: the task's groups cut down to the chosen items and episodes.
- ``ReflectionSampler``: a small rotating item set per iteration (never static items), whose
  traces feed the meta-agent.
- ``pick_failed_cases``: failed cases weighted by 1 - score, plus success cases.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from evolve.tasks.base import EvalItem, Group

KMEANS_ITERATIONS = 30
KMEANS_RESTARTS = 2
RELOCATE_MIN_GAIN = 1e-3  # relative inertia drop a relocation must bring
SUCCESS_SCORE = 0.99
_SESSION_OF_DIA_ID = re.compile(r"D(\d+)\s*:")


# -- static validation set ---------------------------------------------------------------------

def _sq_dists(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Squared distances [n, k] via |x|^2 - 2 x.c + |c|^2 (no [n, k, d] intermediate)."""
    d2 = (points ** 2).sum(axis=1)[:, None] - 2.0 * points @ centres.T + \
        (centres ** 2).sum(axis=1)[None, :]
    return np.maximum(d2, 0.0)


def _kmeans_pp(points: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Greedy k-means++ centres: each step draws a few candidates with probability ~ squared
    distance to the nearest centre and keeps the one lowering the total most (plain k-means++
    too often puts two centres in one tight cluster)."""
    n = len(points)
    trials = 2 + int(np.log(k))
    first = int(rng.integers(n))
    chosen = [first]
    dist2 = _sq_dists(points, points[[first]])[:, 0]
    for _ in range(1, k):
        total = float(dist2.sum())
        if total <= 0.0:  # every remaining point sits on a centre: pick any unchosen one
            candidates = rng.choice(np.setdiff1d(np.arange(n), chosen), size=1)
        else:
            candidates = rng.choice(n, size=trials, p=dist2 / total)
        options = np.minimum(dist2[None, :], _sq_dists(points, points[candidates]).T)
        best = int(np.argmin(options.sum(axis=1)))
        chosen.append(int(candidates[best]))
        dist2 = options[best]
    return points[chosen].copy()


def _lloyd(points: np.ndarray, centres: np.ndarray, iterations: int) -> tuple[np.ndarray, float]:
    """Lloyd steps from ``centres`` (copied); returns (centres, inertia). A cluster left empty
    is moved to the point farthest from its centre, so k clusters stay in use."""
    centres = centres.copy()
    labels = np.full(len(points), -1)
    for _ in range(iterations):
        d2 = _sq_dists(points, centres)
        new_labels = d2.argmin(axis=1)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
        for c in range(len(centres)):
            members = points[labels == c]
            if len(members):
                centres[c] = members.mean(axis=0)
            else:
                far = int(np.argmax(d2[np.arange(len(points)), labels]))
                centres[c] = points[far]
                labels[far] = c
    return centres, float(_sq_dists(points, centres).min(axis=1).sum())


def _relocate(points: np.ndarray, centres: np.ndarray, inertia: float,
              iterations: int, attempts: int) -> tuple[np.ndarray, float]:
    """Local search past Lloyd's optimum: move the centre whose removal costs least onto the
    point worst served, re-run Lloyd, keep the move if the inertia drops. (Lloyd alone cannot
    pull a spare centre out of one cluster into two clusters sharing a centre.)"""
    if len(centres) < 2:
        return centres, inertia
    for _ in range(attempts):
        d2 = _sq_dists(points, centres)
        order = np.argsort(d2, axis=1)
        nearest = order[:, 0]
        rows = np.arange(len(points))
        extra = d2[rows, order[:, 1]] - d2[rows, nearest]
        removal = np.bincount(nearest, weights=extra, minlength=len(centres))
        victim = int(np.argmin(removal))
        trial = centres.copy()
        trial[victim] = points[int(np.argmax(d2[rows, nearest]))]
        trial, trial_inertia = _lloyd(points, trial, iterations)
        if trial_inertia >= inertia * (1.0 - RELOCATE_MIN_GAIN):  # too little to be worth it
            break
        centres, inertia = trial, trial_inertia
    return centres, inertia


def kmeans(points: np.ndarray, k: int, seed: int, iterations: int = KMEANS_ITERATIONS,
           restarts: int = KMEANS_RESTARTS) -> tuple[np.ndarray, np.ndarray]:
    """(centres [k, d], labels [n]) of the best of ``restarts`` runs (lowest inertia), each a
    seeded greedy k-means++ start, at most ``iterations`` Lloyd steps and a bounded relocation
    search (``_relocate``, up to k moves). A pure function of its arguments.
    """
    points = np.asarray(points, dtype=np.float64)
    rng = np.random.default_rng(seed)
    best: tuple[float, np.ndarray] | None = None
    for _ in range(max(1, restarts)):
        centres, inertia = _lloyd(points, _kmeans_pp(points, k, rng), iterations)
        centres, inertia = _relocate(points, centres, inertia, iterations, attempts=k)
        if best is None or inertia < best[0] - 1e-12:
            best = (inertia, centres)
    assert best is not None
    return best[1], _sq_dists(points, best[1]).argmin(axis=1)


def select_static_val(items: Sequence[EvalItem], question_vectors: np.ndarray, size: int,
                      seed: int) -> list[str]:
    """Ids of ``size`` diverse items: k-means with k = size, the item nearest each centre.

    Picks are distinct (a centre whose nearest item is taken gets its nearest free one; centres
    with the closest items choose first). Returned in the items' original order. All items when
    ``size >= len(items)``.
    """
    if len(question_vectors) != len(items):
        raise ValueError(f"{len(items)} items but {len(question_vectors)} question vectors")
    if size <= 0:
        return []
    if size >= len(items):
        return [item.id for item in items]
    points = np.asarray(question_vectors, dtype=np.float64)
    centres, _ = kmeans(points, size, seed)
    d2 = _sq_dists(points, centres)  # [n, k]
    taken: set[int] = set()
    for c in np.argsort(d2.min(axis=0), kind="stable"):
        for index in np.argsort(d2[:, c], kind="stable"):
            if int(index) not in taken:
                taken.add(int(index))
                break
    return [items[i].id for i in sorted(taken)]


# -- episodes -----------------------------------------------------------------------------------

def _evidence_episodes(group: Group, item: EvalItem) -> list[str] | None:
    """Episode ids holding the item's evidence, or None when the metadata cannot tell.

    LoCoMo-format items carry ``meta["evidence_ids"]`` = ["D3:5", ...] (session 3, turn 5) and
    their episodes ``meta["session"]`` = 3.
    """
    evidence = item.meta.get("evidence_ids")
    if not isinstance(evidence, list):
        return None
    by_session = {ep.meta.get("session"): ep.id for ep in group.episodes if "session" in ep.meta}
    if not by_session:
        return None
    sessions = [int(m.group(1)) for e in evidence if (m := _SESSION_OF_DIA_ID.match(str(e)))]
    if evidence and not sessions:
        return None  # evidence we cannot parse: be safe, keep the whole group
    return [by_session[s] for s in dict.fromkeys(sessions) if s in by_session]


def select_episodes(groups: Sequence[Group], static_item_ids: Iterable[str],
                    episode_vectors_by_id: Mapping[str, np.ndarray], ratio: float,
                    seed: int) -> list[str]:
    """Episode ids to write for the static items, in the groups' original order.

    1. Required: each selected item's evidence episodes (``_evidence_episodes``); when an item
       does not say, every episode of its group.
    2. Fill up to ``ceil(ratio x number of selected items)`` episodes by greedy facility
       location over the candidate episodes (those of groups holding selected items):
       maximise sum over candidates of max(0, max similarity to a chosen episode), similarity
       being the dot product of unit vectors and 0 across groups (memories are per group).
       Exact ties go to a seeded order. A missing vector counts as a zero vector.
    ``ratio == 0`` keeps every episode of the groups holding selected items.
    """
    wanted = set(static_item_ids)
    kept_groups = [g for g in groups if any(item.id in wanted for item in g.items)]
    candidates = [ep.id for g in kept_groups for ep in g.episodes]
    if ratio <= 0:
        return candidates
    required: set[str] = set()
    for group in kept_groups:
        for item in group.items:
            if item.id in wanted:
                evidence = _evidence_episodes(group, item)
                if evidence is None:
                    evidence = [ep.id for ep in group.episodes]
                required.update(evidence)
    target = math.ceil(ratio * sum(1 for g in kept_groups for i in g.items if i.id in wanted))
    chosen = _facility_location(kept_groups, episode_vectors_by_id, required, target, seed)
    return [eid for eid in candidates if eid in chosen]


def _facility_location(groups: Sequence[Group], vectors: Mapping[str, np.ndarray],
                       required: set[str], target: int, seed: int) -> set[str]:
    """Greedy facility location, one similarity block per group (cross-group similarity is 0,
    so memory grows with the sum of squared group sizes, not the square of the total)."""
    dim = next((np.asarray(v).size for v in vectors.values()), 1)

    def row(eid: str) -> np.ndarray:
        return np.ravel(np.asarray(vectors[eid], dtype=np.float64)) if eid in vectors \
            else np.zeros(dim)

    blocks, covers, chosen = [], [], []
    for group in groups:
        matrix = np.stack([row(ep.id) for ep in group.episodes]) if group.episodes \
            else np.zeros((0, dim))
        sim = np.clip(matrix @ matrix.T, 0.0, None)
        picked = np.array([ep.id in required for ep in group.episodes], dtype=bool)
        cover = sim[:, picked].max(axis=1) if picked.any() else np.zeros(len(group.episodes))
        blocks.append(sim)
        covers.append(cover)
        chosen.append(picked)

    def gains(g: int) -> np.ndarray:
        gain = np.maximum(blocks[g] - covers[g][:, None], 0.0).sum(axis=0)
        return np.where(chosen[g], -np.inf, gain)

    cached = [gains(g) for g in range(len(groups))]
    # seeded priority among exact ties: (group, position) -> rank
    total = sum(len(g.episodes) for g in groups)
    rank = np.random.default_rng(seed).permutation(total)
    offsets = np.cumsum([0] + [len(g.episodes) for g in groups])
    count = int(sum(c.sum() for c in chosen))
    while count < min(target, total):
        best: tuple[float, int, int, int] | None = None  # (gain, -rank, group, position)
        for g, gain in enumerate(cached):
            if len(gain) == 0:
                continue
            top = float(gain.max())
            if top == -np.inf:
                continue
            for at in np.flatnonzero(gain == top):
                key = (top, -int(rank[offsets[g] + at]), g, int(at))
                if best is None or key[:2] > best[:2]:
                    best = key
        if best is None:
            break
        _, _, g, position = best
        chosen[g][position] = True
        covers[g] = np.maximum(covers[g], blocks[g][:, position])
        cached[g] = gains(g)
        count += 1
    return {ep.id for g, group in enumerate(groups)
            for ep, keep in zip(group.episodes, chosen[g], strict=True) if keep}


def filter_groups(groups: Sequence[Group], item_ids: Iterable[str],
                  episode_ids: Iterable[str]) -> list[Group]:
    """Groups restricted to the given items and episodes (original order kept); groups left
    without items are dropped."""
    items_wanted, episodes_wanted = set(item_ids), set(episode_ids)
    out = []
    for group in groups:
        items = tuple(i for i in group.items if i.id in items_wanted)
        if items:
            episodes = tuple(e for e in group.episodes if e.id in episodes_wanted)
            out.append(Group(id=group.id, episodes=episodes, items=items))
    return out


# -- reflection -------------------------------------------------------------------------------

class ReflectionSampler:
    """A rotating reflection set: ``sample(iteration)`` -> ``size`` distinct item ids.

    Contract: a pure function of (pool, size, seed, iteration), so resume reproduces it; the
    pool (sorted, then shuffled once per pass with a seed derived from (seed, pass)) is walked
    ``size`` items per iteration, so consecutive iterations see different items until the pool
    is used up. The caller supplies a pool without static validation items.
    """

    def __init__(self, pool_item_ids: Iterable[str], size: int, seed: int) -> None:
        self.pool = sorted(set(pool_item_ids))
        self.size = int(size)
        self.seed = int(seed)

    def _pass(self, number: int) -> list[str]:
        order = np.random.default_rng([self.seed, number]).permutation(len(self.pool))
        return [self.pool[i] for i in order]

    def sample(self, iteration: int) -> list[str]:
        n = len(self.pool)
        if n == 0 or self.size <= 0:
            return []
        if self.size >= n:
            return self._pass(0)
        position = iteration * self.size
        number, offset = divmod(position, n)
        out: list[str] = []
        while len(out) < self.size:  # a window may straddle two passes: skip repeats
            for item_id in self._pass(number)[offset:]:
                if item_id not in out:
                    out.append(item_id)
                    if len(out) == self.size:
                        break
            number, offset = number + 1, 0
        return out


def _score_of(trace: Any) -> float:
    value = trace.get("score", 0.0) if isinstance(trace, Mapping) else getattr(trace, "score", 0.0)
    return float(value or 0.0)


def _call_failed(trace: Any) -> bool:
    """The item failed because a model call failed for good: not the program's doing."""
    value = trace.get("failure") if isinstance(trace, Mapping) else getattr(trace, "failure", None)
    return bool(value)


def pick_failed_cases(traces: Sequence[Any], n_failed: int, n_success: int,
                      seed: int) -> tuple[list[Any], list[Any]]:
    """(failed, success) traces to show the meta-agent.

    Failed: up to ``n_failed`` traces with score < 0.99, drawn without replacement with
    probability ~ 1 - score (seeded); items failed by a model call (``failure``) are never
    shown, as nothing in them is the program's doing. Success: up to ``n_success`` drawn uniformly among traces
    with score >= 0.99; when none reached that, the best-scoring trace (score > 0) not already
    picked.
    Traces are dicts or objects with a ``score``; they are returned unchanged.
    """
    rng = np.random.default_rng(seed)
    scores = [_score_of(t) for t in traces]
    failing = [i for i, s in enumerate(scores)
               if s < SUCCESS_SCORE and not _call_failed(traces[i])]
    failed_idx: list[int] = []
    if failing and n_failed > 0:
        weights = np.array([1.0 - scores[i] for i in failing])
        count = min(n_failed, len(failing))
        picks = rng.choice(len(failing), size=count, replace=False, p=weights / weights.sum())
        failed_idx = [failing[int(p)] for p in picks]
    success_idx: list[int] = []
    if n_success > 0:
        good = [i for i, s in enumerate(scores) if s >= SUCCESS_SCORE]
        if good:
            count = min(n_success, len(good))
            success_idx = sorted(good[int(p)] for p in rng.choice(len(good), count, replace=False))
        else:
            rest = [i for i in range(len(traces)) if i not in failed_idx and scores[i] > 0]
            if rest:
                success_idx = [max(rest, key=lambda i: (scores[i], -i))]
    return [traces[i] for i in failed_idx], [traces[i] for i in success_idx]
