"""The compact repeat-purchase summary the CLV models are fitted on, computed by the engine.

Per customer, as of a calibration end: `frequency` = repeat purchase days (days with an order,
minus the first), `recency` = days from the first to the last purchase day, `T` = days from the
first purchase day to the calibration end, both divided by the time unit's length (7 for weeks,
so they are fractional), and `monetary` = the mean value of the repeat purchase days (orders of
one day summed). Then identical summaries are counted together: millions of customers become
tens of thousands of weighted rows, which is what makes fitting fast and light.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from tierkit.errors import InputError

UNITS = {"day": 1.0, "week": 7.0, "month": 365.25 / 12}


def unit_days(unit: str) -> float:
    if unit not in UNITS:
        raise InputError(f"time unit '{unit}': use day, week or month")
    return UNITS[unit]


@dataclass(frozen=True)
class Summary:
    """Weighted, de-duplicated (frequency, recency, T) rows, and (frequency, monetary) ones."""

    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    weight: np.ndarray
    customers: int
    value_frequency: np.ndarray  # customers with at least one repeat purchase
    value_mean: np.ndarray
    value_weight: np.ndarray
    unit: str


def purchase_days(orders: ir.Table, end: dt.date) -> ir.Table:
    """One row per customer and purchase day up to `end`, with the day's total."""
    upto = orders.filter(orders.ordered_at <= ibis.date(end))
    return upto.group_by(["customer_id", "ordered_at"]).aggregate(value=upto.amount.sum())


def per_customer(orders: ir.Table, end: dt.date, unit: str) -> ir.Table:
    """customer_id, frequency, recency, T, monetary (NULL without repeat purchases)."""
    length = unit_days(unit)
    days = purchase_days(orders, end)
    first = days.group_by("customer_id").aggregate(first=days.ordered_at.min())
    days = days.join(first, "customer_id")
    repeat = days.ordered_at > days.first
    summary = days.group_by("customer_id").aggregate(
        frequency=repeat.sum(),
        first=days.first.min(),
        last=days.ordered_at.max(),
        repeat_value=days.value.sum(where=repeat),  # exact (DECIMAL): a float sum depends on thread order
    )
    return summary.select(
        "customer_id",
        frequency=summary.frequency.cast("int64"),
        recency=summary.last.delta(summary.first, unit="day").cast("float64") / length,
        T=ibis.date(end).delta(summary.first, unit="day").cast("float64") / length,
        monetary=ibis.ifelse(
            summary.frequency > 0,
            summary.repeat_value.cast("float64") / summary.frequency.cast("float64"),
            ibis.null("float64"),
        ),
    )


class Runner(Protocol):
    """What runs the summary: an Backend, or anything else with `to_pyarrow(expr)`."""

    def to_pyarrow(self, expr: Any) -> Any: ...


def _weighted(engine: Runner, table: ir.Table, keys: list[str]) -> pa.Table:
    return engine.to_pyarrow(table.group_by(keys).aggregate(weight=table.count()).order_by(keys))


def summarize(engine: Runner, orders: ir.Table, end: dt.date, unit: str = "week") -> Summary:
    """The fitting summary of `orders` (customer_id, ordered_at, amount) as of `end`."""
    customers = per_customer(orders, end, unit)
    rounded = customers.mutate(recency=customers.recency.round(6), T=customers.T.round(6))
    counts = _weighted(engine, rounded, ["frequency", "recency", "T"])
    if counts.num_rows == 0:
        raise InputError(f"no orders on or before {end}: nothing to fit")
    repeaters = customers.filter(customers.frequency > 0)
    values = _weighted(engine, repeaters.mutate(monetary=repeaters.monetary.round(6)), ["frequency", "monetary"])
    column = lambda t, name: np.asarray(t[name].to_numpy(zero_copy_only=False), dtype=float)  # noqa: E731
    return Summary(
        column(counts, "frequency"),
        column(counts, "recency"),
        column(counts, "T"),
        column(counts, "weight"),
        int(column(counts, "weight").sum()),
        column(values, "frequency"),
        column(values, "monetary"),
        column(values, "weight"),
        unit,
    )
