"""The drift and change-point tests of bench history, against what they must be."""

from __future__ import annotations

import itertools
import random

import pytest

from bench.history.stats import BOTH, DOWN, UP, mann_kendall, pettitt, tarone_threshold


def _s(values: tuple[int, ...]) -> int:
    n = len(values)
    return sum((values[j] > values[i]) - (values[j] < values[i])
               for i in range(n) for j in range(i + 1, n))


@pytest.mark.parametrize("n", [4, 6])
def test_mann_kendall_p_is_exact_for_short_histories(n):
    """Without ties the p-value is the share of all orders of n nights whose S is as large."""
    all_s = [_s(p) for p in itertools.permutations(range(n))]
    for perm in itertools.permutations(range(n)):
        s = _s(perm)
        exact = sum(x >= s for x in all_s) / len(all_s)
        assert mann_kendall(list(perm), UP).test.p == pytest.approx(exact, abs=1e-12)
        assert mann_kendall(list(perm), DOWN).test.p == pytest.approx(
            sum(x <= s for x in all_s) / len(all_s), abs=1e-12)


def test_mann_kendall_on_a_clean_rise_and_on_noise():
    rise = mann_kendall([1.0, 1.1, 1.3, 1.2, 1.5, 1.6, 1.8, 1.9], UP)
    assert rise.s > 0 and rise.test.p < 0.001 and rise.slope == pytest.approx(0.125, abs=0.03)
    assert mann_kendall([1.0, 1.1, 1.3, 1.2, 1.5, 1.6, 1.8, 1.9], DOWN).test.p > 0.99
    rng = random.Random(3)
    noise = [rng.gauss(5, 1) for _ in range(120)]  # normal approximation beyond 60 nights
    assert mann_kendall(noise, BOTH).test.p > 0.01
    drifting = [v + 0.03 * i for i, v in enumerate(noise)]
    assert mann_kendall(drifting, UP).test.p < 1e-6


def test_mann_kendall_with_ties_uses_the_corrected_variance():
    ties = mann_kendall([1, 1, 2, 2, 3, 3, 3, 4], UP)
    assert 0 < ties.test.p < 0.01
    assert ties.test.p_min <= ties.test.p
    assert mann_kendall([2.0, 2.0, 2.0, 2.0], UP).test.p > 0.4  # nothing moved


def test_pettitt_finds_the_night_of_a_step_and_its_size():
    rng = random.Random(5)
    values = [rng.gauss(1.0, 0.05) for _ in range(30)] + [rng.gauss(1.4, 0.05) for _ in range(30)]
    cp = pettitt(values, UP)
    assert cp.index == 30
    assert cp.before == pytest.approx(1.0, abs=0.05) and cp.after == pytest.approx(1.4, abs=0.05)
    assert cp.test.p < 1e-8
    assert pettitt(values, DOWN).test.p > 0.5  # it stepped up, not down
    flat = pettitt([rng.gauss(1.0, 0.05) for _ in range(60)], BOTH)
    assert flat.test.p > 0.01


def test_a_short_history_cannot_reach_significance_with_a_change_point_test():
    six = pettitt([1, 2, 3, 4, 5, 6], UP)
    assert six.test.p == six.test.p_min and six.test.p_min > 0.05


def test_tarone_counts_only_the_tests_that_can_reach_the_threshold():
    # 10 tests that could reach 1e-4 and 90 that never go below 0.1: Bonferroni over 10
    p_mins = [1e-4] * 10 + [0.1] * 90
    assert tarone_threshold(p_mins, 0.05) == pytest.approx(0.005)
    assert tarone_threshold([1e-9] * 200, 0.05) == pytest.approx(0.05 / 200)
    assert tarone_threshold([], 0.05) == pytest.approx(0.05)
