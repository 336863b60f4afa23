"""Customer lifetime value: BG/NBD for how often, Gamma-Gamma for how much, fitted and checked.

`fit_clv` fits both models on the engine's compact summary as of a calibration end; `holdout`
compares the repeat purchases the model predicts for a later period with those that happened.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np

from tierkit.backends import Backend
from tierkit.errors import InputError
from tierkit.models import bgnbd, gamma_gamma
from tierkit.models.purchases import purchase_days, summarize, unit_days

MIN_CUSTOMERS = 20
MIN_REPEATERS = 5


def enough_history(summary: Any, calibration_end: dt.date) -> None:
    """A fit needs customers and some who came back: with none, the likelihood has no maximum."""
    repeaters = int(summary.value_weight.sum())
    if summary.customers < MIN_CUSTOMERS or repeaters < MIN_REPEATERS:
        raise InputError(
            f"too little history by {calibration_end} to fit the models: {summary.customers} customers, "
            f"{repeaters} with a repeat purchase (need at least {MIN_CUSTOMERS} and {MIN_REPEATERS})"
        )


def fit_clv(engine: Backend, orders: ir.Table, calibration_end: dt.date, unit: str = "week") -> dict[str, Any]:
    started = time.perf_counter()
    summary = summarize(engine, orders, calibration_end, unit)
    enough_history(summary, calibration_end)
    summarized = time.perf_counter()
    model, ll = bgnbd.fit(summary.frequency, summary.recency, summary.T, summary.weight)
    if summary.value_weight.sum() < 3:
        raise InputError("too few customers with a repeat purchase to fit the Gamma-Gamma spend model")
    spend, spend_ll = gamma_gamma.fit(summary.value_frequency, summary.value_mean, summary.value_weight)
    return {
        "r": round(model.r, 6),
        "alpha": round(model.alpha, 6),
        "a": round(model.a, 6),
        "b": round(model.b, 6),
        "p": round(spend.p, 6),
        "q": round(spend.q, 6),
        "v": round(spend.v, 6),
        "log_likelihood": round(ll, 4),
        "gamma_gamma_log_likelihood": round(spend_ll, 4),
        "customers": summary.customers,
        "repeat_customers": int(summary.value_weight.sum()),
        "distinct_summaries": len(summary.weight),
        "time_unit": unit,
        "calibration_end": calibration_end.isoformat(),
        "seconds": {"summary": round(summarized - started, 3), "fit": round(time.perf_counter() - summarized, 3)},
    }


def holdout(
    engine: Backend, orders: ir.Table, calibration_end: dt.date, holdout_end: dt.date, unit: str = "week"
) -> dict[str, Any]:
    """Predicted vs actual repeat purchases (purchase days) in (calibration_end, holdout_end]."""
    if holdout_end <= calibration_end:
        raise InputError(f"--holdout-end {holdout_end} must come after --calibration-end {calibration_end}")
    summary = summarize(engine, orders, calibration_end, unit)
    enough_history(summary, calibration_end)
    model, _ = bgnbd.fit(summary.frequency, summary.recency, summary.T, summary.weight)
    horizon = (holdout_end - calibration_end).days / unit_days(unit)
    expected = model.expected_purchases(horizon, summary.frequency, summary.recency, summary.T)
    predicted = float(np.dot(summary.weight, expected))
    days = purchase_days(orders, holdout_end)
    cohort = days.group_by("customer_id").aggregate(first=days.ordered_at.min())
    cohort = cohort.filter(cohort.first <= ibis.date(calibration_end))
    later = days.filter(days.ordered_at > ibis.date(calibration_end)).semi_join(cohort, "customer_id")
    actual = int(engine.execute_scalar(later.count()) or 0)
    return {
        "predicted": round(predicted, 2),
        "actual": actual,
        "customers": summary.customers,
        "ratio": round(predicted / actual, 4) if actual else None,
        "time_unit": unit,
        "calibration_end": calibration_end.isoformat(),
        "holdout_end": holdout_end.isoformat(),
        "params": {"r": model.r, "alpha": model.alpha, "a": model.a, "b": model.b},
    }
