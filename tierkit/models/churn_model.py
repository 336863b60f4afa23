"""The churn model: signals as of a cut-off, labels from what happened after it, a logistic fit.

Time split: features as of a cut-off, label = no order in the `horizon` after it. The model is a
standardized logistic regression (scikit-learn) on the signals of churn_features.yaml, so that
(1) scoring is a dot product and a sigmoid, an Ibis expression that runs in the engine over any
number of customers, and (2) each customer's risk splits into per-signal contributions, which
the card lists (models.churn_signals decides which).

Training needs history before its cut-off (`history_needed`): with days of orders every customer
looks new, the signals are the same for all, and a model fitted on them ranks worse than chance
(CDNOW, 270D horizon: 1,102 customers with at most 5 days of history, AUC 0.30). Too little is
an error that names the dates, not a numpy warning.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np

from tierkit.engine.inputs import Inputs
from tierkit.engine.metrics import build_metrics
from tierkit.engine.windows import Window
from tierkit.errors import InputError
from tierkit.models.churn_signals import usable_signals
from tierkit.policy.loader import LoadedPolicy
from tierkit.policy.model import Policy, check_window

MIN_HISTORY_DAYS = 90  # the shortest window of the signals (orders, complaints in 90 days)


def features(inputs: Inputs, as_of: dt.date) -> ir.Table:
    """customer_id and one column per usable signal, as of `as_of` (customers with an order by then)."""
    metrics = usable_signals(inputs)
    policy = Policy.model_validate(
        {
            "name": "churn-signals",
            "metrics": {k: v.model_dump(by_alias=True, exclude_none=True) for k, v in metrics.items()},
            "tiers": [{"name": "all", "else": True}],
        }
    )
    table = build_metrics(inputs, LoadedPolicy(policy, "churn_features.yaml", ""), as_of)[0]
    table = table.select("customer_id", *metrics)
    if "category" in inputs.orders.present:  # S4's sign: buying less often *in a category*
        declining = category_decline(inputs.orders.table, as_of)
        table = table.left_join(declining, "customer_id").drop("customer_id_right")
        table = table.mutate(categories_declining=table.categories_declining.fill_null(0))
    return table


def category_decline(orders: ir.Table, as_of: dt.date, days: int = 90) -> ir.Table:
    """customer_id, categories_declining: categories bought at least twice in the 90 days before
    the last 90, in which the last 90 days saw under half as many orders."""
    now_start, before_start = as_of - dt.timedelta(days=days), as_of - dt.timedelta(days=2 * days)
    recent = orders.filter((orders.ordered_at > ibis.date(before_start)) & (orders.ordered_at <= ibis.date(as_of)))
    is_now = recent.ordered_at > ibis.date(now_start)
    per = recent.group_by(["customer_id", "category"]).aggregate(now=is_now.sum(), before=(~is_now).sum())
    falling = (per.before >= 2) & (per.now * 2 < per.before)
    return per.group_by("customer_id").aggregate(categories_declining=falling.sum().cast("int64"))


def churned(orders: ir.Table, cutoff: dt.date, horizon: str, until: dt.date | None = None) -> ir.Table:
    """customer_id, __bought: the customers with an order in (cutoff, until] (until: the day the
    horizon reaches from the cut-off); the others churned."""
    end = until or after(cutoff, horizon)
    later = orders.filter((orders.ordered_at > ibis.date(cutoff)) & (orders.ordered_at <= ibis.date(end)))
    return later.select("customer_id").distinct().mutate(__bought=ibis.literal(1))


def horizon_window(horizon: str) -> Window:
    try:
        checked = check_window(horizon)
    except ValueError as err:
        raise InputError(f"--horizon: {err}") from err
    window = Window.parse(checked)
    if window.is_all:
        raise InputError(f"--horizon: '{horizon}' must be a window such as 90D or 3M")
    return window


def after(day: dt.date, horizon: str) -> dt.date:
    """The first day whose horizon reaches back to `day`: 90D after, or the same day three
    months on for 3M (calendar months, as windows count them; `before` undoes it)."""
    window = horizon_window(horizon)
    end = day + dt.timedelta(days=1)
    while (window.start(end) or end) < day:
        end += dt.timedelta(days=1)
    return end


def before(day: dt.date, horizon: str) -> dt.date:
    return horizon_window(horizon).start(day) or day


def history_needed(cutoff: dt.date, horizon: str) -> dt.date:
    """The day orders must reach back to for a model trained as of `cutoff`: one horizon (a
    customer needs the time the label gives to have shown how often they buy) and at least
    MIN_HISTORY_DAYS (the signals' shortest window) before it."""
    return min(before(cutoff, horizon), cutoff - dt.timedelta(days=MIN_HISTORY_DAYS))


def short_history(inputs: Inputs, cutoff: dt.date, horizon: str) -> str | None:
    """Why the orders are too short to train as of `cutoff`, or None when they are long enough."""
    first, needed = inputs.orders.first, history_needed(cutoff, horizon)
    if first is None or first <= needed:
        return None
    return (
        f"training as of {cutoff} needs orders from {needed} on (one horizon, {horizon}, and at least "
        f"{MIN_HISTORY_DAYS} days before the cut-off), and the first order is on {first}"
    )


def earliest_as_of(first: dt.date, horizon: str, cutoffs: int) -> dt.date:
    """The first as-of date whose `cutoffs`-th cut-off (as-of minus that many horizons) has
    enough history: what an error message suggests."""
    day = max(after(first, horizon), first + dt.timedelta(days=MIN_HISTORY_DAYS))
    for _ in range(cutoffs):
        day = after(day, horizon)
    return day


def longest_horizon(first: dt.date, as_of: dt.date, cutoffs: int) -> str | None:
    """The longest horizon in days whose `cutoffs`-th cut-off before `as_of` has enough history
    (None when not even 1D has): what an error message suggests."""
    for days in range((as_of - first).days, 0, -1):
        horizon, cutoff = f"{days}D", as_of
        for _ in range(cutoffs):
            cutoff = before(cutoff, horizon)
        if first <= history_needed(cutoff, horizon):
            return horizon
    return None


@dataclass
class ChurnModel:
    """Standardized logistic weights: risk = sigmoid(intercept + Σ coef · (value − mean) / scale)."""

    names: list[str]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def logit(self, table: ir.Table) -> ir.NumericValue:
        """The model's log-odds as an Ibis expression: it scores in the engine."""
        total: ir.NumericValue = ibis.literal(self.intercept)
        for name, mean, scale, coef in zip(self.names, self.mean, self.scale, self.coef, strict=True):
            z = (table[name].cast("float64").fill_null(float(mean)) - float(mean)) / float(scale)
            total = total + float(coef) * z
        return total

    def risk(self, table: ir.Table) -> ir.NumericValue:
        return 1 / (1 + (-self.logit(table)).exp())

    def probabilities(self, table: Any) -> np.ndarray:
        """The risk of each row of an Arrow table (validation and backtest score in numpy)."""
        from scipy.special import expit  # 0.17 s of imports: only the model's checks score in numpy

        logit = np.full(table.num_rows, self.intercept)
        if self.names:
            X = matrix(table, self.names)
            X = np.where(np.isnan(X), self.mean, X)
            logit = logit + ((X - self.mean) / self.scale) @ self.coef
        return np.asarray(expit(logit), dtype=float)

    def weights(self) -> dict[str, float]:
        return {n: round(float(c), 4) for n, c in zip(self.names, self.coef, strict=True)}


def matrix(table: Any, names: list[str]) -> np.ndarray:
    """The named columns of an Arrow table as floats (NULL as NaN), one column per name."""
    columns = [np.asarray(table[name].to_numpy(zero_copy_only=False), dtype=float) for name in names]
    return np.column_stack(columns) if columns else np.zeros((table.num_rows, 0))


def outcomes(table: Any) -> np.ndarray:
    return np.asarray(table["churned"].to_numpy(zero_copy_only=False), dtype=int)


def fit(table: Any, names: list[str] | None = None) -> ChurnModel:
    """A logistic model on a labelled Arrow table (`labelled`), on `names` or every signal in it.

    A signal with no value at all, or the same value for everyone, is left out: it cannot rank
    anyone, and its mean or scale would be undefined. With no signal left, the model is the
    churn rate alone (the same risk for every customer)."""
    from sklearn.linear_model import LogisticRegression

    names = names if names is not None else [c for c in table.column_names if c not in ("customer_id", "churned")]
    X, y = matrix(table, names), outcomes(table)
    if len(set(y)) < 2:
        raise InputError(f"every customer {'churned' if y.all() else 'stayed'}: nothing to learn")
    present = ~np.isnan(X)
    counts = present.sum(axis=0)
    mean = np.divide(np.where(present, X, 0.0).sum(axis=0), counts, out=np.zeros(len(names)), where=counts > 0)
    X = np.where(present, X, mean)
    scale = X.std(axis=0)
    keep = (counts > 0) & (scale > 0)
    if not keep.any():
        rate = float(y.mean())
        return ChurnModel([], np.zeros(0), np.ones(0), np.zeros(0), float(np.log(rate / (1 - rate))))
    X, mean, scale = X[:, keep], mean[keep], scale[keep]
    model = LogisticRegression(max_iter=2000, C=1.0).fit((X - mean) / scale, y)
    kept = [n for n, k in zip(names, keep, strict=True) if k]
    return ChurnModel(kept, mean, scale, model.coef_[0].copy(), float(model.intercept_[0]))


def labelled(inputs: Inputs, cutoff: dt.date, horizon: str, engine: Any, until: dt.date | None = None) -> Any:
    """The signals as of `cutoff` and `churned` (1: no order in (cutoff, until]), as Arrow."""
    table = features(inputs, cutoff)
    bought = churned(inputs.orders.table, cutoff, horizon, until)
    joined = table.left_join(bought, "customer_id")
    joined = joined.mutate(churned=joined.__bought.isnull().cast("int64")).drop("__bought", "customer_id_right")
    return engine.to_pyarrow(joined.order_by("customer_id"))


def train(
    inputs: Inputs, cutoff: dt.date, horizon: str, engine: Any, until: dt.date | None = None
) -> tuple[ChurnModel, dict[str, Any]]:
    """Fit on features as of `cutoff` and who bought nothing after it, up to `until` (by default
    the day the horizon reaches; never later than the grading's as-of date)."""
    table = labelled(inputs, cutoff, horizon, engine, until)
    try:
        model = fit(table)
    except InputError as err:
        raise InputError(f"as of {cutoff}, {err}") from err
    return model, summary(table)


def summary(table: Any) -> dict[str, Any]:
    y = outcomes(table)
    return {"customers": len(y), "churn_rate": round(float(y.mean()), 4) if len(y) else None}
