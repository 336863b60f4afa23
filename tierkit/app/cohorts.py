"""The Cohorts page's figures (/app/cohorts), computed by the engine: retention by month of
first order, new / repeating / lapsed customers per month, and the days between purchases.

Every figure is an Ibis aggregate run by DuckDB over the workspace's orders file; only the
aggregates (a few hundred numbers) come back to Python, never orders or customers. It is one
query: one window over each customer's orders in date order, then three small GROUP BYs over
it (about 5 s for 20M orders on two cores, most of it the window's sort).

The definitions, as the page says them:

- Only orders on or before the published run's as-of date count. A customer's purchase days
  are the distinct dates of their orders: a second order on the same day is the same purchase.
- The window is the last `months` calendar months, ending with the as-of's month.
- A customer's cohort is the month of their first order ever. Cohorts in the window are shown;
  a customer whose first order is before the window is in no shown cohort (but counts below).
- Retention: `active[k]` is how many of a cohort's customers ordered in month cohort+k, for k
  from 0 to the as-of's month (so `active[0]` is the cohort's size);
  `retained[k] = round(active[k] / customers, 4)` (None for a cohort of no customers).
- Activity per month: `new` = customers whose first order ever is in the month; `repeating` =
  customers who ordered in the month and first ordered before it; `active` = new + repeating.
- `lapsed` counts lapse events: when `lapse_days` pass after a purchase day with no next
  purchase within them, the customer lapses on purchase day + `lapse_days` (a gap longer than
  `lapse_days` is one event, and so is a last purchase more than `lapse_days` before the
  as-of). A customer who comes back and lapses again counts again, in that later month. The
  lapse is dated when it becomes true, not when the customer returns (or never does), so a
  month's count never changes once the month has ended.
- Gaps: days between consecutive purchase days of one customer, for every gap whose later
  purchase is in the window; the median is exact (a float: the middle gap, or the mean of the
  two middle gaps), the mean is rounded to one decimal.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir

from tierkit.app.serving import ServedWorkspace
from tierkit.backends import Backend, connect
from tierkit.errors import RequestError
from tierkit.tables.readers import read_table

GAP_BUCKETS: tuple[tuple[int, int | None], ...] = (
    (1, 7), (8, 14), (15, 30), (31, 60), (61, 90), (91, 180), (181, 365), (366, None),
)  # fmt: skip


def cohorts(served: ServedWorkspace, months: int = 12, lapse_days: int = 180) -> dict[str, Any]:
    """The Cohorts page as of the published run: `{as_of, months, lapse_days, retention,
    activity, gaps}` (see the module's docstring for what each figure counts); a workspace
    without orders says so in `note`."""
    as_of = dt.date.fromisoformat(str(served.snapshot().run.manifest["as_of"])[:10])
    source = served.workspace.data_file("orders")
    if source is None:
        return {
            "as_of": as_of.isoformat(),
            "months": [],
            "lapse_days": lapse_days,
            "retention": [],
            "activity": [],
            "gaps": _gaps({}, 0, None, None),
            "note": "no orders in this workspace",
        }
    # the figures change only with the orders, the as-of date and the two settings: kept per process
    files = sorted(source.glob("*.parquet")) if source.is_dir() else [source]
    stamp = max((f.stat().st_mtime_ns for f in files), default=0)
    key = f"cohorts:{source}:{stamp}:{as_of}:{months}:{lapse_days}"

    def compute() -> dict[str, Any]:
        backend = connect("duckdb")
        return cohort_figures(backend, _orders(backend, source), as_of, months, lapse_days)

    return served.kept(key, compute)  # type: ignore[no-any-return]


def _orders(backend: Backend, path: Path) -> ir.Table:
    if path.suffix.lower() == ".parquet" or path.is_dir():
        return backend.read_parquet(path)
    return read_table(backend, "orders", path).table


def cohort_figures(
    backend: Backend, orders: ir.Table, as_of: dt.date, months: int = 12, lapse_days: int = 180
) -> dict[str, Any]:
    """The page's figures from an orders table (`customer_id`, `ordered_at`), run by `backend`
    as one query: one row of aggregates, turned here into the page's rows."""
    if months < 1 or lapse_days < 1:
        raise RequestError(f"months ({months}) and lapse_days ({lapse_days}) must be at least 1")
    last = _month_number(as_of)
    first = last - months + 1
    (found,) = backend.to_pyarrow(figures_row(orders, as_of, first, lapse_days)).to_pylist()
    visits = {(v["cohort"], v["month"]): int(v["customers"]) for v in found["visits"] or []}
    lapses = {v["month"]: int(v["events"]) for v in found["lapses"] or []}
    retention = []
    for cohort in range(first, last + 1):
        active = [visits.get((cohort, month), 0) for month in range(cohort, last + 1)]
        size = active[0]
        retained = [round(n / size, 4) if size else None for n in active]
        retention.append({"cohort": _label(cohort), "customers": size, "active": active, "retained": retained})
    activity = []
    for month in range(first, last + 1):
        new = visits.get((month, month), 0)
        repeating = sum(n for (cohort, seen), n in visits.items() if seen == month and cohort < month)
        activity.append(
            {"month": _label(month), "new": new, "repeating": repeating, "lapsed": lapses.get(month, 0),
             "active": new + repeating}
        )  # fmt: skip
    counts = {i: int(found[f"gaps_{i}"] or 0) for i in range(len(GAP_BUCKETS))}
    median = None if found["median"] is None else float(found["median"])
    mean = None if found["mean"] is None else round(float(found["mean"]), 1)
    return {
        "as_of": as_of.isoformat(),
        "months": [_label(m) for m in range(first, last + 1)],
        "lapse_days": lapse_days,
        "retention": retention,
        "activity": activity,
        "gaps": _gaps(counts, int(found["customers_with_repeat"] or 0), median, mean),
    }


def order_days(orders: ir.Table, as_of: dt.date) -> ir.Table:
    """Each order on or before `as_of` as (customer_id, day), with the customer's first order
    day ever and the days of the orders just before and after it in date order (null at
    either end). A second order on the same day has the same day before or after it: a gap of
    0, which no figure counts, so the orders need no DISTINCT (and the window one sort)."""
    kept = orders.filter(orders.customer_id.notnull(), orders.ordered_at.notnull(), orders.ordered_at <= as_of)
    days = kept.select(customer_id=kept.customer_id.cast("string"), day=kept.ordered_at.cast("date"))
    in_order = ibis.window(group_by=days.customer_id, order_by=days.day)
    return days.mutate(
        first_day=days.day.min().over(in_order),
        previous_day=days.day.lag().over(in_order),
        next_day=days.day.lead().over(in_order),
    )


def figures_row(orders: ir.Table, as_of: dt.date, first: int, lapse_days: int) -> ir.Table:
    """One row: `visits` (cohort, month, customers) for the months from `first` on, every
    cohort before the window folded into `first - 1`; `lapses` (month, events); the gap
    buckets `gaps_0`.., `median`, `mean`, `customers_with_repeat`. The three parts read the
    same `order_days`, which DuckDB computes once (a CTE used three times is materialized)."""
    days = order_days(orders, as_of)
    seen = days.mutate(month=_month_of(days.day), cohort=ibis.greatest(_month_of(days.first_day), first - 1))
    # a customer's first order in a month: the order before it is in an earlier month, or none
    opens = seen.filter(seen.previous_day.isnull() | (_month_of(seen.previous_day) != seen.month), seen.month >= first)
    visits = opens.group_by(["cohort", "month"]).aggregate(customers=opens.count())
    # lapsed on day + lapse_days: no order after it until then (nor until the as-of, if none);
    # that date is always before the as-of, as the next order is never after it
    until = ibis.coalesce(days.next_day, ibis.literal(as_of, type="date"))
    lapsed = days.filter(until.delta(days.day, unit="day") > lapse_days)
    lapsed = lapsed.mutate(month=_month_of(lapsed.day + ibis.interval(days=lapse_days)))
    lapsed = lapsed.filter(lapsed.month >= first)
    lapsed = lapsed.group_by("month").aggregate(events=lapsed.count())
    repeat = days.filter(days.previous_day.notnull(), days.day >= _month_start(first))
    repeat = repeat.mutate(gap=repeat.day.delta(repeat.previous_day, unit="day"))
    repeat = repeat.filter(repeat.gap > 0)
    buckets = {
        f"gaps_{i}": (repeat.gap >= low if high is None else repeat.gap.between(low, high)).ifelse(1, 0).sum()
        for i, (low, high) in enumerate(GAP_BUCKETS)
    }
    gaps = repeat.aggregate(
        **buckets,
        median=repeat.gap.median(),
        mean=repeat.gap.mean(),
        customers_with_repeat=repeat.customer_id.nunique(),
    )
    return _listed(visits, "visits").cross_join(_listed(lapsed, "lapses")).cross_join(gaps)


def _listed(rows: ir.Table, name: str) -> ir.Table:
    """The (few) rows of an aggregate as one list of structs, to travel in the same result row."""
    return rows.aggregate(**{name: ibis.struct({c: rows[c] for c in rows.columns}).collect()})


def _gaps(counts: dict[int, int], customers: int, median: float | None, mean: float | None) -> dict[str, Any]:
    buckets = [
        {"label": f"{low}-{high}" if high else f"{low}+", "low": low, "high": high, "count": counts.get(i, 0)}
        for i, (low, high) in enumerate(GAP_BUCKETS)
    ]
    return {"buckets": buckets, "median": median, "mean": mean, "customers_with_repeat": customers}


def _month_of(day: ir.DateValue) -> ir.IntegerValue:
    """Months since year 0: consecutive calendar months are consecutive numbers."""
    return day.year() * 12 + day.month() - 1


def _month_number(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def _month_start(number: int) -> dt.date:
    return dt.date(number // 12, number % 12 + 1, 1)


def _label(number: int) -> str:
    return f"{number // 12:04d}-{number % 12 + 1:02d}"
