"""The profit pyramid in a run's summary (客户利润金字塔), beside the count and value pyramids.

A customer's profit is the policy's margin metric less its cost-to-serve metric (a missing cost
to serve counts as none; a missing margin leaves the profit unknown). The summary gives

- the profit each class of every tally brings and its share of all profit (the seeds'
  客户利润金字塔: the same levels as the count pyramid, shares of profit instead of customers);
- the customers ranked by their own profit, cut at the pyramid's shares (the seeds' "前20%的客户
  产生约150%的利润, 而后30%的客户消耗了50%的利润");
- the totals, and how many customers lose money once the cost to serve them is paid, with their
  share of all customers and the loss they make.

Counted by DuckDB over the result file in exact decimals (money stays DECIMAL), so the figures
are the same whichever engine graded: the engines write the same metric values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.types as ir

from tierkit.backends.duckdb import DuckDBBackend
from tierkit.engine.ranking import share_classes
from tierkit.policy import model as m
from tierkit.policy.base import Label

PROFIT = "__profit"
DEFAULT_PYRAMID = m.PyramidScore(
    labels={
        "key": Label(zh="重要客户", en="Key"),
        "major": Label(zh="次要客户", en="Major"),
        "ordinary": Label(zh="普通客户", en="Ordinary"),
        "small": Label(zh="小客户", en="Small"),
    }
)


@dataclass(frozen=True)
class ProfitMeasure:
    """The run's columns of margin and cost to serve (policy `profit:`)."""

    margin: str
    cost: str | None

    def of(self, table: ir.Table) -> ir.Value:
        """Margin less cost to serve, as an exact decimal; NULL when the margin is unknown."""
        margin = exact(table[self.margin])
        if self.cost is None:
            return margin
        cost = exact(table[self.cost])
        scale = max(margin.type().scale or 0, cost.type().scale or 0)  # type: ignore[attr-defined]
        return (margin - cost.fill_null(0)).cast(f"decimal(38, {scale})")


def exact(value: ir.Value) -> ir.Value:
    """Money stays decimal; integers are whole decimals; a floating value counts at six decimals."""
    kind = value.type()
    if kind.is_decimal():
        return value.cast(f"decimal(38, {kind.scale or 0})")  # type: ignore[attr-defined]
    if kind.is_integer():
        return value.cast("decimal(38, 0)")
    return value.cast("decimal(38, 6)")


def profit_measure(policy: m.Policy, columns: list[str]) -> ProfitMeasure | None:
    """The policy's profit measure when the run has its margin column, else None."""
    profit = policy.profit
    if profit is None or profit.margin is None or profit.margin not in columns:
        return None
    cost = profit.cost_to_serve if profit.cost_to_serve in columns else None
    return ProfitMeasure(profit.margin, cost)


def pyramid_of(policy: m.Policy) -> m.PyramidScore:
    """The cuts, levels and labels of the profit pyramid: the policy's pyramid score's, if any."""
    return next((s for s in policy.scores.values() if isinstance(s, m.PyramidScore)), DEFAULT_PYRAMID)


def _text(value: Any) -> str:
    return format(Decimal(value or 0), "f")


def _share(part: Decimal, total: Decimal) -> float | None:
    return float(round(part / total, 4)) if total > 0 else None


@dataclass
class ProfitCount:
    """Profit per class of each tally, the totals and the pyramid ranked by profit."""

    measure: ProfitMeasure
    by_class: dict[str, dict[str | None, Decimal]] = field(default_factory=dict)
    totals: dict[str, Any] = field(default_factory=dict)
    levels: list[dict[str, Any]] = field(default_factory=list)

    def count(self, backend: DuckDBBackend, graded: ir.Table, columns: dict[str, str], policy: m.Policy) -> None:
        table = graded.mutate(**{PROFIT: self.measure.of(graded)})
        for name, key, _, total in backend.class_totals(table, columns, PROFIT, exact=False):
            self.by_class.setdefault(name, {})[key] = Decimal(total or 0)
        net = table[PROFIT]
        sums: dict[str, ir.Value] = {
            "customers": table.count(),
            "unknown": net.isnull().sum(),
            "margin": exact(table[self.measure.margin]).sum(),
            "profit": net.sum(),
            "unprofitable": (net < 0).sum(),
            "loss": net.sum(where=net < 0),
        }
        if self.measure.cost is not None:
            sums["cost_to_serve"] = exact(table[self.measure.cost]).sum()
        self.totals = backend.to_pyarrow(table.aggregate(**sums)).to_pylist()[0]
        pyramid = pyramid_of(policy)
        order = [net.isnull(), net.desc(), table.customer_id.asc()]
        ranked = table.select(
            net=net, rank=ibis.row_number().over(order_by=order) + 1, n=table.count().over(ibis.window())
        )
        ranked = ranked.mutate(level=share_classes(ranked["rank"], ranked.n, pyramid.cuts, pyramid.levels))
        found = ranked.group_by("level").aggregate(customers=ranked.count(), profit=ranked.net.sum())
        self.levels = backend.to_pyarrow(found).to_pylist()

    def apply(self, summary: dict[str, Any], policy: m.Policy, lang: str) -> None:
        """Profit and its share beside each class's value, and the summary's `profit` section."""
        total = Decimal(self.totals.get("profit") or 0)
        for name, rows in [
            ("tier", summary["tiers"]),
            *[(f"score:{k}", s["classes"]) for k, s in summary["scores"].items()],
        ]:
            profits = self.by_class.get(name, {})
            for row in rows:
                value = profits.get(row["class"], Decimal(0))
                row["profit"] = _text(value)
                row["profit_share"] = _share(value, total)
        customers = int(self.totals.get("customers") or 0)
        pyramid = pyramid_of(policy)
        counted = {row["level"]: row for row in self.levels}
        levels = []
        for level in pyramid.levels:
            row = counted.get(level, {"customers": 0, "profit": None})
            label = pyramid.labels[level].text(lang, level) if level in pyramid.labels else level
            value = Decimal(row["profit"] or 0)
            levels.append(
                {
                    "class": level,
                    "label": label,
                    "customers": int(row["customers"]),
                    "customer_share": round(int(row["customers"]) / (customers or 1), 4),
                    "profit": _text(value),
                    "profit_share": _share(value, total),
                }
            )
        unprofitable = int(self.totals.get("unprofitable") or 0)
        summary["profit"] = {
            "margin_metric": self.measure.margin,
            "cost_to_serve_metric": self.measure.cost,
            "margin": _text(self.totals.get("margin")),
            "cost_to_serve": _text(self.totals.get("cost_to_serve")) if self.measure.cost else None,
            "profit": _text(total),
            "unknown": int(self.totals.get("unknown") or 0),
            "unprofitable": {
                "customers": unprofitable,
                "share": round(unprofitable / (customers or 1), 4),
                "loss": _text(self.totals.get("loss")),
            },
            "pyramid": levels,
        }
