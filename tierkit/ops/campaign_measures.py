"""What happened to each customer of a campaign: before it, during it, and whether it reached them.

For every customer of the assignment: retention (at least one order) and revenue over the
campaign period (after the run's as-of date up to the report's end), the same two measures over a
pre-period of the same length just before the start (what CUPED adjusts with, and what the
balance check compares), and whether a contact is recorded in the campaign period (the store's
contact log and the workspace's contacts file), so a report can tell assignment from delivery.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from tierkit.backends import connect
from tierkit.backends.base import Backend
from tierkit.errors import InputError
from tierkit.ingest.identity.persons import LINKS, fold_ids
from tierkit.runs.files import store_of
from tierkit.store import contacts as contact_log
from tierkit.tables.readers import read_table
from tierkit.workspace import Workspace


@dataclass(frozen=True)
class Period:
    """Campaign period: orders after `start` up to `end`; pre-period: as many days up to `start`."""

    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def pre_start(self) -> dt.date:
        return self.start - dt.timedelta(days=self.days)


@dataclass(frozen=True)
class Measures:
    """One entry per customer, ordered by customer_id. `reached` is None when no contact of
    any of the campaign's customers is recorded in the period (delivery not recorded)."""

    ids: list[str]
    tiers: np.ndarray
    strata: np.ndarray  # integer codes of stratum labels
    labels: list[str]  # label of each code
    treated: np.ndarray
    retained: np.ndarray
    revenue: np.ndarray
    retained_before: np.ndarray
    revenue_before: np.ndarray
    reached: np.ndarray | None

    def redrawn(self, treated: list[bool]) -> Measures:
        """The same customers and outcomes under another assignment (an A/A round)."""
        return dataclasses.replace(self, treated=np.array(treated, dtype=bool))


def _per_customer(window: ir.Table) -> ir.Table:
    return window.group_by("customer_id").aggregate(orders=window.count(), revenue=window.amount.sum())


def _orders(ws: Workspace, engine: Backend, orders: Path) -> ir.Table:
    source = read_table(engine, "orders", orders).table
    links = ws.data_dir / LINKS
    if links.exists():  # the run graded persons: count each person's orders under all their ids
        source = fold_ids(engine, source, links)
    return source


def period_of(ws: Workspace, orders: Path, start: dt.date, until: dt.date | None) -> Period:
    """The campaign period: to `until`, else to the last order; refused when nothing to measure."""
    if until is not None and until <= start:
        raise InputError(f"--until {until} must come after the campaign's start ({start})")
    engine = connect("duckdb")
    source = _orders(ws, engine, orders)
    last = engine.execute_scalar(source.ordered_at.max())
    if last is None or last <= start:
        raise InputError(f"no orders after the campaign's start ({start}) yet: nothing to measure")
    end = until or last
    window = source.filter((source.ordered_at > ibis.date(start)) & (source.ordered_at <= ibis.date(end)))
    if not engine.execute_scalar(window.count()):
        raise InputError(f"no orders between the campaign's start ({start}) and {end}: nothing to measure")
    return Period(start, end)


def measure(ws: Workspace, assignment: pa.Table, orders: Path, period: Period) -> Measures:
    """Outcomes during and before the campaign, and delivery, for every assigned customer."""
    engine = connect("duckdb")
    source = _orders(ws, engine, orders)

    def between(after: dt.date, until: dt.date) -> ir.Table:
        kept = source.filter((source.ordered_at > ibis.date(after)) & (source.ordered_at <= ibis.date(until)))
        return _per_customer(kept)

    during, before = between(period.start, period.end), between(period.pre_start, period.start)
    base = ibis.memtable(assignment.select(["customer_id", "tier", "stratum", "group"]))
    joined = base.left_join(during, "customer_id")
    joined = joined.select(*base.columns, orders=joined.orders, revenue=joined.revenue)
    joined = joined.left_join(before.rename(orders_before="orders", revenue_before="revenue"), "customer_id")
    zero = ibis.literal(0).cast("decimal(18, 2)")
    table = engine.to_pyarrow(
        joined.select(
            *base.columns,
            retained=joined.orders.coalesce(0) > 0,
            revenue=joined.revenue.cast("decimal(18, 2)").coalesce(zero),
            retained_before=joined.orders_before.coalesce(0) > 0,
            revenue_before=joined.revenue_before.cast("decimal(18, 2)").coalesce(zero),
        ).order_by("customer_id")
    )
    ids = table["customer_id"].to_pylist()
    labels = sorted(set(table["stratum"].to_pylist()))
    code = {label: i for i, label in enumerate(labels)}
    treated = np.array([g == "treatment" for g in table["group"].to_pylist()], dtype=bool)
    return Measures(
        ids=ids,
        tiers=np.array([str(t) for t in table["tier"].to_pylist()], dtype=object),
        strata=np.array([code[s] for s in table["stratum"].to_pylist()], dtype=np.int64),
        labels=labels,
        treated=treated,
        retained=np.array(table["retained"].to_pylist(), dtype=float),
        revenue=np.array([float(v) for v in table["revenue"].to_pylist()], dtype=float),
        retained_before=np.array(table["retained_before"].to_pylist(), dtype=float),
        revenue_before=np.array([float(v) for v in table["revenue_before"].to_pylist()], dtype=float),
        reached=_reached(ws, engine, ids, period),
    )


def _reached(ws: Workspace, engine: Backend, ids: list[str], period: Period) -> np.ndarray | None:
    """Contacted from the start day through the period's last day, by the store's contact log
    or the workspace's contacts file; None when neither records a contact of these customers."""
    contacted = _logged(ws, period) | _imported(ws, engine, period)
    flags = np.array([cid in contacted for cid in ids], dtype=bool)
    return flags if flags.any() else None


def _logged(ws: Workspace, period: Period) -> set[str]:
    """Customers with a contact in the store's log (times in UTC) within the period's days."""
    first = dt.datetime.combine(period.start, dt.time(), dt.UTC)
    after_last = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time(), dt.UTC)
    return contact_log.contacted_between(store_of(ws), first, after_last)


def _imported(ws: Workspace, engine: Backend, period: Period) -> set[str]:
    """Customers with a row in the workspace's contacts file (`tierkit import contacts`) dated
    within the period; under person ids when the run graded persons."""
    path = ws.data_file("contacts")
    if path is None:
        return set()
    table = read_table(engine, "contacts", path).table
    links = ws.data_dir / LINKS
    if links.exists():
        table = fold_ids(engine, table, links)
    inside = table.filter((table["at"] >= ibis.date(period.start)) & (table["at"] <= ibis.date(period.end)))
    return {str(cid) for cid in engine.to_pyarrow(inside.select("customer_id").distinct())["customer_id"].to_pylist()}
