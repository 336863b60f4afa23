"""Run-to-run migration: who moved between tiers, and how much value moved with them.

Both runs are Parquet files of one row per customer, joined in place by an Ibis expression on
an in-process DuckDB backend, the earlier as-of date first. Customers only in the later run come
from '(new)' (they joined after the earlier as-of date); customers only in the earlier run go to
'(gone)' (no longer in the data).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir

from tierkit.backends import connect
from tierkit.runs.files import Run

NEW, GONE = "(new)", "(gone)"


@dataclass
class Migration:
    run_a: str
    run_b: str
    value_metric: str | None
    matrix: list[dict[str, Any]]  # from, to, customers, value
    movers: list[dict[str, Any]]
    movers_total: int
    as_of_a: str = ""
    as_of_b: str = ""
    reordered: bool = False  # the runs were given later one first: read from the earlier as-of
    cell: tuple[str, str] | None = None  # the movers are this cell's customers (from, to) only
    offset: int = 0  # movers skipped before the page

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_a": self.run_a,
            "run_b": self.run_b,
            "as_of_a": self.as_of_a,
            "as_of_b": self.as_of_b,
            "reordered": self.reordered,
            "new": f"joined after {self.as_of_a}: in the later run only",
            "gone": f"no longer in the data as of {self.as_of_b}: in the earlier run only",
            "value_metric": self.value_metric,
            "matrix": self.matrix,
            "movers_total": self.movers_total,
            "movers": self.movers,
            "cell": list(self.cell) if self.cell else None,
            "offset": self.offset,
        }


def in_time_order(a: Run, b: Run) -> tuple[Run, Run, bool]:
    """The pair as a migration reads it, the earlier as-of date first (creation time breaks a
    tie); True when that swapped them."""
    key_a = (a.manifest["as_of"], a.manifest.get("created_at", ""))
    key_b = (b.manifest["as_of"], b.manifest.get("created_at", ""))
    return (b, a, True) if key_a > key_b else (a, b, False)


def migrate(a: Run, b: Run, limit: int = 50, cell: tuple[str, str] | None = None, offset: int = 0) -> Migration:
    """Who moved from run `a`'s tiers to run `b`'s, the earlier as-of date first whatever the
    order given: a look back read forwards would call every later joiner 'gone'.

    `cell` (from, to), as the matrix names them ('(new)', '(gone)' included), lists that cell's
    customers only, the diagonal too (from == to: who stayed); `offset` pages through them."""
    a, b, reordered = in_time_order(a, b)
    backend = connect("duckdb")
    left, right = backend.read_parquet(a.result), backend.read_parquet(b.result)
    joined = left.outer_join(right, left.customer_id == right.customer_id, lname="{name}_a", rname="{name}_b")
    moves = joined.select(
        customer_id=joined.customer_id_a.coalesce(joined.customer_id_b),
        from_tier=ibis.ifelse(joined.customer_id_a.isnull(), NEW, joined.tier_a.coalesce("(none)")),
        to_tier=ibis.ifelse(joined.customer_id_b.isnull(), GONE, joined.tier_b.coalesce("(none)")),
        value_a=_side(joined, left, a, "a"),
        value_b=_side(joined, right, b, "b"),
    )
    zero = ibis.literal(0).cast("decimal(38, 2)")
    per_cell = moves.group_by(["from_tier", "to_tier"]).aggregate(
        customers=moves.count(), value_b=moves.value_b.sum().coalesce(zero), value_a=moves.value_a.sum().coalesce(zero)
    )
    matrix = [
        {"from": r["from_tier"], "to": r["to_tier"], "customers": r["customers"], "value_a": str(r["value_a"])}
        | {"value_b": str(r["value_b"])}
        for r in backend.to_pyarrow(per_cell.order_by(["from_tier", "to_tier"])).to_pylist()
    ]
    if cell is None:
        moved = moves.filter(moves.from_tier != moves.to_tier)
    else:
        moved = moves.filter(moves.from_tier == str(cell[0]), moves.to_tier == str(cell[1]))
    total = backend.execute_scalar(moved.count())
    weight = moved.value_a.coalesce(zero) + moved.value_b.coalesce(zero)
    top = moved.order_by([weight.desc(), moved.customer_id]).limit(int(limit), offset=int(offset))
    movers = [
        {
            "customer_id": r["customer_id"],
            "from": r["from_tier"],
            "to": r["to_tier"],
            "value_a": None if r["value_a"] is None else str(r["value_a"]),
            "value_b": None if r["value_b"] is None else str(r["value_b"]),
        }
        for r in backend.to_pyarrow(top).to_pylist()
    ]
    metric = b.manifest.get("value_metric") or a.manifest.get("value_metric")
    return Migration(
        a.run_id,
        b.run_id,
        metric,
        matrix,
        movers,
        int(total or 0),
        a.manifest["as_of"],
        b.manifest["as_of"],
        reordered,
        (str(cell[0]), str(cell[1])) if cell else None,
        int(offset),
    )


def _side(joined: ir.Table, table: ir.Table, run: Run, side: str) -> ir.Value:
    """One run's value metric in the joined table, as DECIMAL(38, 2) (NULL when it has none)."""
    metric = run.manifest.get("value_metric")
    if not metric or metric not in table.columns:
        return ibis.null("decimal(38, 2)")
    name = f"{metric}_{side}" if f"{metric}_{side}" in joined.columns else metric
    return joined[name].cast("decimal(38, 2)")
