"""CLV predictions as per-customer metrics that policies read like any other (`clv:` metrics).

The models are fitted on the customers' history up to the as-of date. Predictions that have a
closed form stay Ibis expressions (P(alive), expected order value), so they run in the engine.
Expected purchases need the Gauss hypergeometric function, which no SQL engine has: they are
computed in Python once per distinct (frequency, recency days, T days), a table far smaller than
the customers, and joined back; the customers themselves never leave the engine.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from tierkit.engine.inputs import Inputs
from tierkit.errors import InputError, PolicyError, TierkitError
from tierkit.models import bgnbd, gamma_gamma
from tierkit.models.clv import enough_history
from tierkit.models.kinds import ClvParameters
from tierkit.models.purchases import summarize, unit_days
from tierkit.policy.model import MetricSpec

DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class Fitted:
    unit: str
    frequency: bgnbd.BgNbd
    spend: gamma_gamma.GammaGamma


def fit(engine: Any, orders: ir.Table, as_of: dt.date, unit: str, where: str) -> Fitted:
    try:
        summary = summarize(engine, orders, as_of, unit)
        enough_history(summary, as_of)
    except InputError as exc:
        raise PolicyError(f"{where}: {exc}") from exc
    try:
        model, _ = bgnbd.fit(summary.frequency, summary.recency, summary.T, summary.weight)
        spend, _ = gamma_gamma.fit(summary.value_frequency, summary.value_mean, summary.value_weight)
    except TierkitError as exc:  # no finite likelihood: the data, not a bug
        raise PolicyError(f"{where}: the CLV models cannot be fitted on these orders ({exc})") from exc
    return Fitted(unit, model, spend)


def customer_days(orders: ir.Table, as_of: dt.date) -> ir.Table:
    """customer_id, x (repeat purchase days), recency and T in whole days, mean repeat value."""
    upto = orders.filter(orders.ordered_at <= ibis.date(as_of))
    days = upto.group_by(["customer_id", "ordered_at"]).aggregate(value=upto.amount.sum())
    first = days.group_by("customer_id").aggregate(first=days.ordered_at.min())
    days = days.join(first, "customer_id")
    repeat = days.ordered_at > days.first
    per = days.group_by("customer_id").aggregate(
        x=repeat.sum().cast("int64"),
        first=days.first.min(),
        last=days.ordered_at.max(),
        repeat_value=days.value.sum(where=repeat),  # exact (DECIMAL): a float sum depends on thread order
    )
    return per.select(
        "customer_id",
        "x",
        recency_days=per.last.delta(per.first, unit="day").cast("int64"),
        T_days=ibis.date(as_of).delta(per.first, unit="day").cast("int64"),
        m_x=ibis.ifelse(per.x > 0, per.repeat_value.cast("float64") / per.x.cast("float64"), ibis.null("float64")),
    )


def horizon_units(text: str, unit: str) -> float:
    count, kind = int(text[:-1]), text[-1]
    days = {"D": 1.0, "M": DAYS_PER_MONTH, "Y": 365.25}[kind] * count
    return days / unit_days(unit)


def _expected_table(fitted: Fitted, keys: pa.Table, specs: dict[str, ClvParameters]) -> pa.Table:
    """Per distinct (x, recency_days, T_days): expected purchases over each horizon, and the
    discounted monthly sum that CLV multiplies by the expected order value."""
    length = unit_days(fitted.unit)
    x = np.asarray(keys["x"].to_numpy(zero_copy_only=False), dtype=float)
    t_x = np.asarray(keys["recency_days"].to_numpy(zero_copy_only=False), dtype=float) / length
    T = np.asarray(keys["T_days"].to_numpy(zero_copy_only=False), dtype=float) / length
    columns: dict[str, Any] = {name: keys[name] for name in ("x", "recency_days", "T_days")}
    model = fitted.frequency
    for name, spec in specs.items():
        horizon = spec.horizon or "12M"
        if spec.clv == "purchases":
            columns[f"__clv_{name}"] = model.expected_purchases(horizon_units(horizon, fitted.unit), x, t_x, T)
        elif spec.clv == "value":
            span = horizon_units(horizon, fitted.unit) * unit_days(fitted.unit) / DAYS_PER_MONTH  # in months
            monthly = (1 + float(spec.discount if spec.discount is not None else 0.1)) ** (1 / 12) - 1
            total, before = np.zeros_like(x), np.zeros_like(x)
            for month in range(1, math.ceil(span) + 1):
                reach = min(float(month), span)  # the last step may be part of a month (45D, 10D)
                upto = model.expected_purchases(reach * DAYS_PER_MONTH / length, x, t_x, T)
                total += (upto - before) / (1 + monthly) ** reach
                before = upto
            columns[f"__clv_{name}"] = total
    return pa.table(columns)


def _parameters(specs: dict[str, MetricSpec]) -> dict[str, ClvParameters]:
    return {name: ClvParameters.model_validate(spec.parameters.model_dump()) for name, spec in specs.items()}


class ClvMetrics:
    """The `clv:` metric kind's builder (see tierkit.engine.kinds.TableKind)."""

    def columns(self, inputs: Inputs, as_of: dt.date, specs: dict[str, MetricSpec], where: str) -> ir.Table:
        backend = inputs.backend if inputs.runs else None
        return clv_metrics(inputs.orders.table, as_of, _parameters(specs), where, backend)


CLV_METRICS = ClvMetrics()


def clv_metrics(
    orders: ir.Table, as_of: dt.date, specs: dict[str, ClvParameters], where: str, engine: Any = None
) -> ir.Table:
    """customer_id and one column per clv metric (named as the metric), for the customers with
    orders by `as_of`. The models are fitted on `engine` (None for `tierkit check`: typed
    stand-ins, nothing to fit)."""
    units = {spec.time_unit or "week" for spec in specs.values()}
    if len(units) > 1:
        raise PolicyError(f"{where}: all clv metrics of a policy use one time_unit (found {', '.join(sorted(units))})")
    unit = units.pop()
    per = customer_days(orders, as_of)
    if engine is None:
        return per.select("customer_id", **{name: ibis.null("float64") for name in specs})
    fitted = fit(engine, orders, as_of, unit, where)
    model, spend = fitted.frequency, fitted.spend
    length = unit_days(unit)
    x = per.x.cast("float64")
    t_x, T = per.recency_days.cast("float64") / length, per.T_days.cast("float64") / length
    odds = ibis.ifelse(
        per.x > 0,
        model.a / (model.b + x - 1) * ((model.alpha + T) / (model.alpha + t_x)).pow(model.r + x),
        0.0,
    )
    value = ibis.ifelse(
        (per.x > 0) & (per.m_x > 0),  # refunds can make a mean <= 0: Gamma-Gamma knows only spend
        spend.p * (spend.v + x * per.m_x) / (spend.p * x + spend.q - 1),
        spend.p * spend.v / (spend.q - 1),
    )
    out = per.mutate(__p_alive=1 / (1 + odds), __order_value=value)
    needs_table = {n: s for n, s in specs.items() if s.clv in ("purchases", "value")}
    if needs_table:
        keys = engine.to_pyarrow(per.select("x", "recency_days", "T_days").distinct())
        lookup = ibis.memtable(_expected_table(fitted, keys, needs_table))
        out = out.left_join(lookup, ["x", "recency_days", "T_days"])
    columns: dict[str, ir.Value] = {}
    for name, spec in specs.items():
        if spec.clv == "p_alive":
            columns[name] = out.__p_alive
        elif spec.clv == "order_value":
            columns[name] = out.__order_value
        elif spec.clv == "purchases":
            columns[name] = out[f"__clv_{name}"]
        else:
            columns[name] = ibis.greatest(out[f"__clv_{name}"] * out.__order_value, 0.0)
    return out.select("customer_id", **{k: v.round(6) for k, v in columns.items()})
