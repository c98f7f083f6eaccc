"""evolve.stats.paired_gain: the paired bootstrap interval of a score difference."""

from __future__ import annotations

import pytest

from evolve.stats import paired_gain


def test_a_consistent_gain_is_significant_and_a_flip_is_not():
    before = [0.0] * 20 + [1.0] * 20
    after = [1.0] * 20 + [1.0] * 20  # 20 of 40 items fixed, none broken
    gain = paired_gain(before, after)
    assert gain.mean == pytest.approx(0.5) and gain.n == 40
    assert 0.3 < gain.low < 0.5 < gain.high < 0.7 and gain.significant
    one_flip = paired_gain(before, [1.0] + before[1:])  # one item of 40: +0.025
    assert one_flip.mean == pytest.approx(0.025) and not one_flip.significant
    assert str(one_flip).startswith("+0.025 [")


def test_pairing_matters_and_results_are_deterministic():
    a = [0.0, 1.0] * 30
    b = [x + 0.1 for x in a]  # every item up by 0.1: paired, the interval is a point
    gain = paired_gain(a, b)
    assert gain.low == pytest.approx(0.1) and gain.high == pytest.approx(0.1)
    assert paired_gain(a, b, seed=3) == paired_gain(a, b, seed=3)


def test_unpaired_inputs_are_refused():
    with pytest.raises(ValueError, match="same items"):
        paired_gain([1.0], [1.0, 0.0])
    with pytest.raises(ValueError, match="no items"):
        paired_gain([], [])
