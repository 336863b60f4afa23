"""The run summary: customers and value per tier and per score class, as plain data.

Counted by DuckDB over the graded result (the written Parquet file, or an Arrow table): one
GROUP BY per counted column, on one row per customer, so a summary never holds the result in
Python. Value sums are exact decimals (floating values are summed at six decimals, so that the
total is the same whatever order the threads add in); shares are rounded for display only.
With the policy's `stability:`, each tier's row also says how many of its customers keep it by
stability (`kept`: the rules gave them a lower tier this run, `graded_tier != tier`).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

from tierkit.backends.base import ValueOutOfRange
from tierkit.backends.duckdb import DuckDBBackend
from tierkit.errors import InputError
from tierkit.policy.labels import score_labels, score_levels, tag_labels, tier_labels
from tierkit.runs.profit import ProfitCount, profit_measure
from tierkit.tables.readers import missing_id_error

if TYPE_CHECKING:
    import pyarrow as pa

    from tierkit.engine.grade import Grading


class Tally:
    """Customers and value per class of one column."""

    def __init__(self, column: str, value: str | None) -> None:
        self.column, self.value = column, value
        self.customers: dict[str | None, int] = defaultdict(int)
        self.values: dict[str | None, Decimal] = defaultdict(Decimal)

    def add(self, key: str | None, customers: int, value: Any) -> None:
        self.customers[key] += customers
        self.values[key] += Decimal(str(value or 0))

    def rows(self, order: list[str], labels: dict[str, str]) -> list[dict[str, Any]]:
        total_n = sum(self.customers.values()) or 1
        total_v = sum(self.values.values(), Decimal(0))
        present = [k for k in order if k in self.customers]
        ordered: list[str | None] = [*present, *sorted(k for k in self.customers if k not in order and k is not None)]
        if None in self.customers:
            ordered.append(None)
        return [
            {
                "class": key,
                "label": labels.get(key, key) if key is not None else None,
                "customers": self.customers[key],
                "customer_share": round(self.customers[key] / total_n, 4),
                "value": str(self.values[key]) if self.value else None,
                "value_share": float(round(self.values[key] / total_v, 4)) if self.value and total_v else None,
            }
            for key in ordered
        ]


class SummaryBuilder:
    """`count()` the graded rows; `result()` is the summary printed and kept in the manifest."""

    def __init__(self, grading: Grading) -> None:
        self.grading = grading
        value = grading.value_metric
        self.tiers = Tally("tier", value)
        self.scores = {name: Tally(result.primary, value) for name, result in grading.scores.items()}
        self.tags: dict[str, int] = dict.fromkeys(grading.tag_names, 0)
        self.customers = 0
        measure = profit_measure(grading.loaded.policy, list(grading.expr.columns))
        self.profit = ProfitCount(measure) if measure is not None else None  # the profit pyramid
        # stable tiers: per tier, the customers who keep it though the rules gave a lower one
        stable = grading.loaded.policy.stability is not None and "graded_tier" in grading.expr.columns
        self.kept: dict[str, int] | None = {} if stable else None

    def count(self, backend: DuckDBBackend, graded: ir.Table) -> None:
        """Every tally over the graded rows: one scan for the checks and the tags, and one UNION
        ALL of GROUP BYs for the classes (SQL the DuckDB backend writes: no compilation cost)."""
        rows, empty, flags = backend.flag_counts(graded, [f"tag_{t}" for t in self.tags])
        if empty:  # checked here, on one row per customer, not on every order row
            orders = self.grading.inputs.orders
            raise missing_id_error(orders.source, orders.id_header, self._count_missing(orders))
        self.customers = rows
        self.tags = dict(zip(self.tags, flags, strict=True))
        tallies = self.tallies()
        for name, key, n, v in self._classes(backend, graded):
            tallies[name].add(key, int(n), v)
        if self.profit is not None:
            columns = {name: tally.column for name, tally in tallies.items()}
            self.profit.count(backend, graded, columns, self.grading.loaded.policy)
        if self.kept is not None and "graded_tier" in graded.columns:
            self.kept = self._kept(backend, graded)

    @staticmethod
    def _kept(backend: DuckDBBackend, graded: ir.Table) -> dict[str, int]:
        """tier -> customers in it whose graded tier differs (a downgrade held back by `stability:`):
        one GROUP BY over the customers kept, counted by the engine."""
        held = graded.filter(graded.graded_tier != graded.tier)
        counts = backend.to_pyarrow(held.group_by("tier").aggregate(kept=held.count())).to_pylist()
        return {str(row["tier"]): int(row["kept"]) for row in counts}

    def tallies(self) -> dict[str, Tally]:
        return {"tier": self.tiers, **{f"score:{n}": t for n, t in self.scores.items()}}

    def _classes(self, backend: DuckDBBackend, graded: ir.Table) -> list[tuple[str, str | None, int, Any]]:
        """(tally, class, customers, value) rows. Floating values are added at six decimals, so that
        the total does not depend on the order threads add in (and shown without trailing zeros)."""
        value = self.tiers.value
        columns = {name: tally.column for name, tally in self.tallies().items()}
        if value is None or not graded[value].type().is_floating():
            return backend.class_totals(graded, columns, value, exact=False)
        try:
            rows = backend.class_totals(graded, columns, value, exact=True)
        except ValueOutOfRange:  # values past DECIMAL(38, 6): added as they are
            return backend.class_totals(graded, columns, value, exact=False)
        return [(t, k, n, Decimal(format(x.normalize(), "f")) if x is not None else x) for t, k, n, x in rows]

    def _count_missing(self, orders: Any) -> int:
        table = orders.table
        value = self.grading.engine.execute_scalar((table.customer_id.isnull() | (table.customer_id == "")).sum())
        return int(value or 0)

    def result(self) -> dict[str, Any]:
        if self.customers == 0:
            orders = self.grading.inputs.orders
            raise InputError(
                f"{orders.path}: no order on or before the as-of date {self.grading.as_of}: nobody to grade"
            )

        grading, policy = self.grading, self.grading.loaded.policy
        scores: dict[str, Any] = {}
        for name, tally in self.scores.items():
            spec = policy.scores[name]
            rows = tally.rows(score_levels(spec), score_labels(spec, grading.lang))
            scores[name] = {"column": tally.column, "primary": name == policy.primary, "classes": rows}
        labels = tier_labels(grading.loaded.policy, grading.tier_names, grading.lang)
        summary: dict[str, Any] = {
            "policy": policy.name,
            "policy_hash": grading.loaded.short_hash,
            "as_of": grading.as_of.isoformat(),
            "engine": grading.engine.name,
            "customers": self.customers,
            "value_metric": grading.value_metric,
            "tiers": self.tiers.rows(grading.tier_names, labels),
            "scores": scores,
            "tags": self.tags,
            "tag_labels": tag_labels(policy, grading.lang),
        }
        if self.profit is not None:
            self.profit.apply(summary, policy, grading.lang)
        if self.kept is not None:  # only with `stability:`: kept by it, per tier (0 where none)
            for row in summary["tiers"]:
                row["kept"] = self.kept.get(str(row["class"]), 0) if row["class"] is not None else 0
        return summary


def summarize(grading: Grading, table: pa.Table) -> dict[str, Any]:
    """The summary of a result held as an Arrow table (the Python API)."""
    builder = SummaryBuilder(grading)
    builder.count(DuckDBBackend.open(), ibis.memtable(table))
    return builder.result()


def summarize_file(grading: Grading, path: Path) -> dict[str, Any]:
    """The summary of a written result, read back by DuckDB (only the columns it counts): on
    the grading's own connection when it graded on DuckDB."""
    backend = grading.engine if isinstance(grading.engine, DuckDBBackend) else DuckDBBackend.open()
    builder = SummaryBuilder(grading)
    builder.count(backend, backend.read_parquet(path))
    return builder.result()
