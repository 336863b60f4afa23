"""How big is the difference, and can it be told apart from chance?

The headline estimate compares treatment and control within each stratum and adjusts each
customer's outcome for the same measure over the period before the campaign (CUPED). Both
remove differences the campaign did not cause: a group that happens to hold more big spenders
spent more before the campaign too, and the adjustment takes that out, which also narrows the
interval. The raw, unadjusted difference is kept beside it so a reader can see what moved.

- CUPED: theta = cov(Y, X) / var(X), with X the pre-period value of the outcome Y, both centred
  within strata and pooled over the two groups; the adjusted outcome is Y - theta * X.
- Strata: the effect is sum_s w_s * d_s, d_s the difference of adjusted means in stratum s and
  w_s = n_s / n its share of the customers; variance sum_s w_s^2 (v_ts/n_ts + v_cs/n_cs), degrees
  of freedom by Welch-Satterthwaite, 95% interval from Student's t. Strata with fewer than two
  customers in a group are pooled into one remainder stratum (the largest stratum takes a
  remainder still that thin).
- Raw: Newcombe's interval for the difference of two proportions, Welch's for means.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

Z95 = float(stats.norm.ppf(0.975))


@dataclass(frozen=True)
class Estimate:
    """A difference treatment - control with its 95% interval."""

    difference: float
    low: float
    high: float

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0


def proportion_diff(s1: int, n1: int, s2: int, n2: int) -> Estimate:
    """Difference p1 - p2 and Newcombe's 95% interval (Wilson score intervals combined)."""

    def wilson(s: int, n: int) -> tuple[float, float]:
        p = s / n
        centre = (p + Z95 * Z95 / (2 * n)) / (1 + Z95 * Z95 / n)
        half = Z95 * math.sqrt(p * (1 - p) / n + Z95 * Z95 / (4 * n * n)) / (1 + Z95 * Z95 / n)
        return centre - half, centre + half

    p1, p2 = s1 / n1, s2 / n2
    l1, u1 = wilson(s1, n1)
    l2, u2 = wilson(s2, n2)
    diff = p1 - p2
    low = diff - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = diff + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return Estimate(diff, low, high)


def mean_diff(x1: np.ndarray, x2: np.ndarray) -> Estimate:
    """Difference of means and Welch's 95% interval."""
    return _welch([(1.0, x1, x2)])


def _welch(parts: list[tuple[float, np.ndarray, np.ndarray]]) -> Estimate:
    """sum w * (mean(t) - mean(c)) over (weight, treated values, control values), with the
    Welch-Satterthwaite interval of that weighted sum."""
    diff = var = dof_denominator = 0.0
    for weight, treated, control in parts:
        diff += weight * (math.fsum(treated) / len(treated) - math.fsum(control) / len(control))
        for values in (treated, control):
            n = len(values)
            term = weight * weight * (float(np.var(values, ddof=1)) if n > 1 else 0.0) / n
            var += term
            dof_denominator += term * term / (n - 1) if n > 1 else 0.0
    if var == 0:
        return Estimate(diff, diff, diff)
    dof = var * var / dof_denominator if dof_denominator > 0 else 1e9
    half = float(stats.t.ppf(0.975, dof)) * math.sqrt(var)
    return Estimate(diff, diff - half, diff + half)


def comparable_strata(strata: np.ndarray, treated: np.ndarray) -> np.ndarray:
    """Stratum codes with every stratum that has fewer than two customers in a group pooled
    into one remainder (-1): a stratum's difference needs a variance in both groups. A
    remainder still that thin joins the largest stratum, so no customer is left out (the
    caller makes sure each group has two customers in all)."""

    def sides(codes: np.ndarray, s: int) -> int:
        return min(int((treated & (codes == s)).sum()), int((~treated & (codes == s)).sum()))

    codes = strata.copy()
    codes[np.isin(strata, [s for s in np.unique(strata) if sides(strata, s) < 2])] = -1
    kept, sizes = np.unique(codes[codes != -1], return_counts=True)
    if (codes == -1).any() and sides(codes, -1) < 2 and len(kept):
        codes[codes == -1] = kept[int(np.argmax(sizes))]
    return codes


def cuped_theta(y: np.ndarray, x: np.ndarray, strata: np.ndarray) -> float:
    """cov(Y, X) / var(X) on values centred within strata, pooled over both groups; 0 when the
    pre-period does not vary (nothing to adjust with)."""
    yc, xc = y.astype(float).copy(), x.astype(float).copy()
    for s in np.unique(strata):
        inside = strata == s
        yc[inside] -= yc[inside].mean()
        xc[inside] -= xc[inside].mean()
    spread = math.fsum(xc * xc)
    return math.fsum(yc * xc) / spread if spread > 0 else 0.0


def stratified_effect(
    y: np.ndarray, x: np.ndarray | None, treated: np.ndarray, strata: np.ndarray
) -> tuple[Estimate, float]:
    """The headline: stratum-size-weighted difference of CUPED-adjusted means, and theta."""
    codes = comparable_strata(strata, treated)
    theta = cuped_theta(y, x, codes) if x is not None else 0.0
    adjusted = y - theta * x if x is not None else y.astype(float)
    parts = []
    for s in np.unique(codes):
        inside = codes == s
        parts.append((float(inside.sum()), adjusted[inside & treated], adjusted[inside & ~treated]))
    return _welch([(w / len(y), t, c) for w, t, c in parts]), theta


def standardized_difference(x: np.ndarray, treated: np.ndarray) -> float:
    """(mean_t - mean_c) / sqrt((var_t + var_c) / 2) of a pre-period measure; 0 when it is flat."""
    a, b = x[treated].astype(float), x[~treated].astype(float)
    spread = math.sqrt((float(np.var(a, ddof=1)) + float(np.var(b, ddof=1))) / 2)
    return (float(a.mean()) - float(b.mean())) / spread if spread > 0 else 0.0


def on_the_reached(itt: Estimate, reached_treated: float, reached_control: float) -> Estimate | None:
    """The effect on customers the campaign reached (complier average causal effect):
    ITT / (share reached in treatment - share contacted in control), the ITT interval scaled by
    the same factor, so it is significant exactly when the ITT is. None when the campaign did not
    reach more of the treated than of the control group."""
    uptake = reached_treated - reached_control
    if uptake <= 0:
        return None
    return Estimate(itt.difference / uptake, itt.low / uptake, itt.high / uptake)
