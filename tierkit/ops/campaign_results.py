"""A campaign's result for a group of customers, in numbers and in words.

Intent-to-treat is the headline: everyone assigned, whether or not the campaign reached them,
because only the assignment was random; the customers a rep managed to reach are not comparable
to the control group as they stand. Its estimate is adjusted (CUPED within strata, see
campaign_effects); the raw difference stands beside it. Delivery is reported only where the
contact log records it, and the effect on the reached is the ITT scaled by the uptake. Words
follow the interval: "higher" or "lower" only when the adjusted 95% interval excludes 0.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tierkit.ops.campaign_effects import (
    Estimate,
    mean_diff,
    on_the_reached,
    proportion_diff,
    standardized_difference,
    stratified_effect,
)
from tierkit.ops.campaign_measures import Measures

OUTCOMES = ("retention", "revenue_per_customer")
LABELS = {"retention": "retention", "revenue_per_customer": "revenue per customer"}
DIGITS = {"retention": 4, "revenue_per_customer": 2}
IMBALANCE = 0.1  # standardized mean difference above which the groups differ before the campaign


def _r(value: float, digits: int) -> float:
    """Rounded at a fixed scale (and no -0.0), so that reports are byte-identical across runs."""
    return round(value, digits) + 0.0


def _interval(estimate: Estimate, digits: int) -> dict[str, Any]:
    return {
        "difference": _r(estimate.difference, digits),
        "ci95": [_r(estimate.low, digits), _r(estimate.high, digits)],
        "significant": estimate.significant,
    }


def _outcomes(measures: Measures, mask: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {
        "retention": (measures.retained[mask], measures.retained_before[mask]),
        "revenue_per_customer": (measures.revenue[mask], measures.revenue_before[mask]),
    }


def compare(measures: Measures, mask: np.ndarray, headline_only: bool = False) -> dict[str, Any]:
    """Treatment against control among the customers `mask` selects."""
    treated, strata = measures.treated[mask], measures.strata[mask]
    n_t, n_c = int(treated.sum()), int((~treated).sum())
    out: dict[str, Any] = {"treatment": n_t, "control": n_c}
    if n_t < 2 or n_c < 2:
        out["verdict"] = "too few customers in a group to compare"
        return out
    adjusted: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    balance: dict[str, Any] = {}
    itt: dict[str, Estimate] = {}
    for key, (y, x) in _outcomes(measures, mask).items():
        digits = DIGITS[key]
        estimate, theta = stratified_effect(y, x, treated, strata)
        itt[key] = estimate
        if headline_only:
            out[key] = {"significant": estimate.significant}
            continue
        adjusted[key] = {**_interval(estimate, digits), "theta": _r(theta, 6)}
        if key == "retention":
            plain = proportion_diff(int(y[treated].sum()), n_t, int(y[~treated].sum()), n_c)
        else:
            plain = mean_diff(y[treated], y[~treated])
        means = {
            "treatment": _r(math.fsum(y[treated]) / n_t, digits),
            "control": _r(math.fsum(y[~treated]) / n_c, digits),
        }
        raw[key] = {**means, **_interval(plain, digits)}
        out[key] = {**means, **_interval(estimate, digits)}
        balance[key] = {
            "treatment_before": _r(math.fsum(x[treated]) / n_t, digits),
            "control_before": _r(math.fsum(x[~treated]) / n_c, digits),
            "smd": _r(standardized_difference(x, treated), 4),
        }
    if headline_only:
        return out
    out["adjusted"], out["raw"] = adjusted, raw
    out["balance"] = {**balance, "imbalanced": any(abs(b["smd"]) > IMBALANCE for b in balance.values())}
    out.update(_delivery(measures, mask, itt))
    out["warnings"] = _warnings(out)
    out["verdict"] = "; ".join(_said(key, out[key]) for key in OUTCOMES)
    return out


def _delivery(measures: Measures, mask: np.ndarray, itt: dict[str, Estimate]) -> dict[str, Any]:
    """Share of the treated the contact log shows reached, and the effect on them."""
    if measures.reached is None:
        return {
            "reached": None,
            "reached_control": None,
            "effect_on_reached": None,
            "delivery": "delivery not recorded",
        }
    treated, reached = measures.treated[mask], measures.reached[mask]
    k_t, n_t = int(reached[treated].sum()), int(treated.sum())
    k_c, n_c = int(reached[~treated].sum()), int((~treated).sum())
    share_t, share_c = k_t / n_t, k_c / n_c
    out: dict[str, Any] = {"reached": _r(share_t, 4), "reached_control": _r(share_c, 4), "effect_on_reached": None}
    uptake = proportion_diff(k_t, n_t, k_c, n_c)
    said = f"{share_t:.1%} of the treated reached, {share_c:.1%} of the control group contacted"
    if uptake.low <= 0:
        out["delivery"] = f"{said}: the campaign did not reach more of the treated than of the control group"
        return out
    effects = {key: on_the_reached(itt[key], share_t, share_c) for key in OUTCOMES}
    out["effect_on_reached"] = {
        key: {k: v for k, v in _interval(e, DIGITS[key]).items() if k != "significant"}
        for key, e in effects.items()
        if e is not None
    }
    out["delivery"] = said
    return out


def _warnings(out: dict[str, Any]) -> list[str]:
    warnings = []
    for key in OUTCOMES:
        smd = out["balance"][key]["smd"]
        if abs(smd) > IMBALANCE:
            warnings.append(
                f"the groups differ before the campaign in {LABELS[key]} (standardized difference {smd}): "
                f"the adjusted estimate corrects for it, the raw difference does not"
            )
    if out["reached_control"]:
        warnings.append(
            f"{out['reached_control']:.1%} of the control group was contacted in the period: "
            f"the effect on the reached counts only the extra contacts the campaign made"
        )
    return warnings


def _said(key: str, result: dict[str, Any]) -> str:
    low, high = (f"{v:.{DIGITS[key]}f}" for v in result["ci95"])
    if result["significant"]:
        direction = "higher" if sum(result["ci95"]) > 0 else "lower"
        return f"{LABELS[key]}: {direction} with the campaign (adjusted 95% CI {low} to {high})"
    return (
        f"{LABELS[key]}: not significant, the adjusted 95% CI ({low} to {high}) includes 0, "
        f"so the difference cannot be told apart from chance"
    )
