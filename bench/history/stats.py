"""Drift and change-point tests for one value per night, with no fixed threshold.

- Drift: the Mann-Kendall trend test. It ranks, so one odd night does not make a trend, and it
  assumes no distribution. Its statistic S counts the pairs of nights that rose minus those
  that fell. Without ties and for n <= EXACT_N nights the p-value is exact (S follows the
  distribution of inversions of a random permutation); otherwise the normal approximation with
  the tie-corrected variance and a continuity correction. Sen's slope (the median of the
  pairwise slopes) says how much per night.
- Change point: Pettitt's test, also on ranks: U_t compares the nights up to t with those after;
  K = max |U_t| (or the one-sided maximum), p ~ exp(-6 K^2 / (n^3 + n^2)) one-sided, twice that
  two-sided (Pettitt 1979's approximation).
- Many series at once: a history tests every measurement, so a 1 % test would flag something
  on most stable campaigns. `tarone_threshold` holds the family-wise error (Bonferroni), counting
  only the tests that can reach significance with this many nights at all (Tarone 1990): with
  six nights no change-point test can, and none of them spends the family's alpha.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

EXACT_N = 60  # exact Mann-Kendall p-values up to this many nights (no ties)
UP, DOWN, BOTH = 1, -1, 0  # the direction a test looks for (BOTH: two-sided)


@dataclass(frozen=True, slots=True)
class Significance:
    statistic: float
    p: float  # in the direction asked for
    p_min: float  # the smallest p this test could give with these nights (ties included)


@dataclass(frozen=True, slots=True)
class Drift:
    n: int
    s: int  # Mann-Kendall S
    slope: float  # Sen's slope, per night
    test: Significance


@dataclass(frozen=True, slots=True)
class ChangePoint:
    n: int
    index: int  # the first night after the change (0-based)
    before: float  # median up to the change
    after: float  # median from the change on
    test: Significance


def _normal_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2))


@lru_cache(maxsize=64)
def _inversion_cdf(n: int) -> np.ndarray:
    """P(inversions <= k) of a random permutation of n items, k = 0 .. n(n-1)/2."""
    dist = np.ones(1)
    for k in range(2, n + 1):  # adding item k adds 0 .. k-1 inversions, uniformly
        cum = np.concatenate(([0.0], np.cumsum(dist)))
        size = len(dist) + k - 1
        hi = np.minimum(np.arange(size) + 1, len(dist))
        lo = np.maximum(np.arange(size) - k + 1, 0)
        dist = (cum[hi] - cum[lo]) / k
    return np.cumsum(dist)


def _tie_groups(x: np.ndarray) -> np.ndarray:
    _, counts = np.unique(x, return_counts=True)
    return counts[counts > 1]


def mann_kendall(values: list[float], direction: int = UP) -> Drift:
    x = np.asarray(values, dtype=float)
    n = len(x)
    if n < 3:
        return Drift(n, 0, 0.0, Significance(0.0, 1.0, 1.0))
    i, j = np.triu_indices(n, 1)
    diff = x[j] - x[i]
    s = int(np.sign(diff).sum())
    slope = float(np.median(diff / (j - i)))
    ties = _tie_groups(x)
    pairs = n * (n - 1) // 2
    if not len(ties) and n <= EXACT_N:
        cdf = _inversion_cdf(n)
        # S = pairs - 2 * inversions; P(S >= s) = P(inversions <= (pairs - s) / 2)
        p_up = float(cdf[(pairs - s) // 2])
        p_down = float(cdf[(pairs + s) // 2])
        p_min = float(cdf[0])
    else:
        var = (n * (n - 1) * (2 * n + 5) - float((ties * (ties - 1) * (2 * ties + 5)).sum())) / 18
        sd = math.sqrt(var) if var > 0 else 1.0
        p_up, p_down = _normal_sf((s - 1) / sd), _normal_sf((-s - 1) / sd)
        s_max = pairs - int((ties * (ties - 1) // 2).sum())  # tied pairs count 0
        p_min = _normal_sf((s_max - 1) / sd)
    if direction == UP:
        p = p_up
    elif direction == DOWN:
        p = p_down
    else:
        p, p_min = min(1.0, 2 * min(p_up, p_down)), min(1.0, 2 * p_min)
    return Drift(n, s, slope, Significance(float(s), min(1.0, p), min(1.0, p_min)))


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties sharing the mean of their ranks."""
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(1, len(x) + 1)
    for value in np.unique(x[_tied(x)]):
        ranks[x == value] = ranks[x == value].mean()
    return ranks


def _tied(x: np.ndarray) -> np.ndarray:
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    return counts[inverse] > 1


def pettitt(values: list[float], direction: int = UP) -> ChangePoint:
    x = np.asarray(values, dtype=float)
    n = len(x)
    if n < 3:
        return ChangePoint(n, 0, math.nan, math.nan, Significance(0.0, 1.0, 1.0))
    r = _ranks(x)
    t = np.arange(1, n)
    u = 2 * np.cumsum(r)[:-1] - t * (n + 1)  # < 0: the nights after t rank higher
    if direction == UP:
        scores = -u
    elif direction == DOWN:
        scores = u
    else:
        scores = np.abs(u)
    best = int(np.argmax(scores))
    k = float(max(scores[best], 0.0))
    denom = n ** 3 + n ** 2
    factor = 1.0 if direction in (UP, DOWN) else 2.0
    p = min(1.0, factor * math.exp(-6 * k * k / denom))
    k_max = (n * n) // 4  # the first half all below (or above) the second
    p_min = min(1.0, factor * math.exp(-6 * k_max * k_max / denom))
    index = best + 1
    return ChangePoint(n, index, float(np.median(x[:index])), float(np.median(x[index:])),
                       Significance(k, p, p_min))


def tarone_threshold(p_mins: list[float], alpha: float) -> float:
    """The per-test threshold alpha / K, K the smallest count such that at most K tests can
    reach alpha / K at all; the others cannot be discoveries and do not count."""
    for k in range(1, len(p_mins) + 1):
        if sum(pm <= alpha / k for pm in p_mins) <= k:
            return alpha / k
    return alpha / max(1, len(p_mins))

