"""The campaign statistics against independent oracles: Newcombe's paper, scipy's Welch test,
least squares for CUPED's theta, a stratified example worked by hand, and coverage over
simulations with a known difference."""

from __future__ import annotations

import hashlib
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

from tierkit.ops.campaign_assignment import assign, control_counts, draw
from tierkit.ops.campaign_effects import (
    comparable_strata,
    cuped_theta,
    mean_diff,
    proportion_diff,
    stratified_effect,
)


def test_newcombes_interval_is_the_papers() -> None:
    """Newcombe (1998), Statistics in Medicine 17:873, table II: 56/70 - 48/80, method 10."""
    estimate = proportion_diff(56, 70, 48, 80)
    assert estimate.difference == pytest.approx(0.2)
    assert (round(estimate.low, 4), round(estimate.high, 4)) == (0.0524, 0.3339)


def test_welchs_interval_is_scipys() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.gamma(2.0, 60.0, 80), rng.gamma(1.5, 50.0, 50)
    ours = mean_diff(x, y)
    theirs = stats.ttest_ind(x, y, equal_var=False).confidence_interval(0.95)
    assert (ours.low, ours.high) == pytest.approx((theirs.low, theirs.high), rel=1e-9)


def test_theta_is_the_least_squares_slope_within_strata() -> None:
    rng = np.random.default_rng(2)
    strata = rng.integers(0, 3, 600)
    x = rng.gamma(2.0, 100.0, 600) + 500 * strata
    y = 0.7 * x + 300 * strata + rng.normal(0, 50, 600)
    dummies = np.eye(3)[strata]
    slope = np.linalg.lstsq(np.column_stack([x, dummies]), y, rcond=None)[0][0]
    assert cuped_theta(y, x, strata) == pytest.approx(slope, rel=1e-9)
    assert cuped_theta(y, x, np.zeros(600, dtype=int)) == pytest.approx(np.polyfit(x, y, 1)[0], rel=1e-9)


def test_one_stratum_adjusted_is_welch_on_the_adjusted_outcome() -> None:
    rng = np.random.default_rng(3)
    x = rng.gamma(2.0, 100.0, 400)
    y = 0.5 * x + rng.normal(0, 30, 400)
    treated = rng.random(400) < 0.5
    estimate, theta = stratified_effect(y, x, treated, np.zeros(400, dtype=int))
    adjusted = y - np.polyfit(x, y, 1)[0] * x
    theirs = stats.ttest_ind(adjusted[treated], adjusted[~treated], equal_var=False).confidence_interval(0.95)
    assert theta == pytest.approx(np.polyfit(x, y, 1)[0])
    assert (estimate.low, estimate.high) == pytest.approx((theirs.low, theirs.high), rel=1e-9)


def test_the_stratified_difference_worked_by_hand() -> None:
    """Stratum A: treated 3, 5 and control 1, 3 (difference 2, weight 4/9); stratum B: treated
    10, 14, 12 and control 6, 10 (difference 4, weight 5/9). Effect 4/9*2 + 5/9*4 = 28/9;
    variance (4/9)^2 (2/2 + 2/2) + (5/9)^2 (4/3 + 8/2) = 496/243; Welch-Satterthwaite degrees of
    freedom from the four terms (16/81, 16/81, 100/243, 100/81) with 1, 1, 2, 1 df."""
    y = np.array([3, 5, 1, 3, 10, 14, 12, 6, 10], dtype=float)
    treated = np.array([1, 1, 0, 0, 1, 1, 1, 0, 0], dtype=bool)
    strata = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1])
    estimate, theta = stratified_effect(y, None, treated, strata)
    terms = [(Fraction(16, 81), 1), (Fraction(16, 81), 1), (Fraction(100, 243), 2), (Fraction(100, 81), 1)]
    variance = Fraction(496, 243)
    assert sum(t for t, _ in terms) == variance
    dof = float(variance**2 / sum(t * t / d for t, d in terms))
    half = stats.t.ppf(0.975, dof) * float(variance) ** 0.5
    assert theta == 0.0
    assert estimate.difference == pytest.approx(28 / 9)
    assert (estimate.low, estimate.high) == pytest.approx((28 / 9 - half, 28 / 9 + half))


def test_the_adjusted_stratified_interval_has_its_nominal_coverage() -> None:
    """400 simulated campaigns, three strata of different spend, pre-period correlated with the
    outcome, a true effect of 20: the adjusted interval holds 20 about 95% of the time."""
    rng = np.random.default_rng(11)
    hits = 0
    strata = np.repeat([0, 1, 2], [300, 150, 50])
    for _ in range(400):
        level = rng.gamma(2.0, 50.0, 500) * np.array([1.0, 3.0, 10.0])[strata]
        before, after = level * rng.gamma(4.0, 0.25, 500), level * rng.gamma(4.0, 0.25, 500)
        treated = np.zeros(500, dtype=bool)
        for s in range(3):
            inside = np.flatnonzero(strata == s)
            treated[rng.choice(inside, size=len(inside) // 2, replace=False)] = True
        estimate, _ = stratified_effect(after + 20.0 * treated, before, treated, strata)
        hits += estimate.low <= 20.0 <= estimate.high
    assert 0.92 <= hits / 400 <= 0.98


def test_the_raw_intervals_have_their_nominal_coverage() -> None:
    rng = np.random.default_rng(12)
    hits_p = hits_m = 0
    for _ in range(400):
        a, b = rng.random(500) < 0.35, rng.random(500) < 0.30
        estimate = proportion_diff(int(a.sum()), 500, int(b.sum()), 500)
        hits_p += estimate.low <= 0.05 <= estimate.high
        estimate = mean_diff(rng.gamma(2.0, 60.0, 300), rng.gamma(2.0, 50.0, 300))
        hits_m += estimate.low <= 20.0 <= estimate.high
    assert 0.92 <= hits_p / 400 <= 0.98 and 0.92 <= hits_m / 400 <= 0.98


@pytest.mark.parametrize(
    ("sizes", "holdout", "counts"),
    [
        # 2.5 each, 8 in all (7.5 rounded half up): the two extra go to the first names
        ({"a": 5, "b": 5, "c": 5}, 0.5, {"a": 3, "b": 3, "c": 2}),
        # 0.7 and 1.3: 2 in all, the extra one to the larger remainder
        ({"vip": 7, "regular": 13}, 0.1, {"vip": 1, "regular": 1}),
        ({"x": 1000}, 0.1, {"x": 100}),
    ],
)
def test_control_counts_keep_the_overall_share(sizes: dict[str, int], holdout: float, counts: dict[str, int]) -> None:
    assert control_counts(sizes, holdout) == counts


def test_the_draw_takes_the_lowest_hashes_of_each_stratum() -> None:
    ids = [f"{i:06d}" for i in range(3000)]
    strata = ["vip" if i % 7 == 0 else "regular" for i in range(3000)]
    groups = assign(ids, strata, 0.2, 42)
    assert groups == assign(ids, strata, 0.2, 42) and groups != assign(ids, strata, 0.2, 43)
    for stratum, size in Counter(strata).items():
        members = sorted((cid for cid, s in zip(ids, strata, strict=True) if s == stratum), key=lambda c: draw(42, c))
        control = {cid for cid, g in zip(ids, groups, strict=True) if g == "control"}
        assert set(members[: round(0.2 * size)]) == control & set(members)
    assert draw(42, "000001") == int.from_bytes(hashlib.sha256(b"42:000001").digest()[:8], "big") / 2**64


def test_thin_strata_are_pooled_and_no_customer_is_left_out() -> None:
    """Strata 2 and 3 have one control each: pooled they have two, and the effect is the
    weighted one of strata {0, 1, 2+3}; a lone thin stratum joins the largest one."""
    treated = np.array([1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 1, 0, 1, 0], dtype=bool)
    strata = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 3, 3])
    assert comparable_strata(strata, treated).tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1]
    lone = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1])
    assert comparable_strata(lone, treated).tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
