"""The run summary: customers and value per tier and per score class, as plain data.

Counted by DuckDB over the graded result (the written Parquet file, or an Arrow table): one
GROUP BY per counted column, on one row per customer, so a summary never holds the result in
Python. Value sums are exact decimals (floating values are summed at six decimals, so that the
total is the same whatever order the threads add in); shares are rounded for display only.
With the policy's `stability:`, each tier's row also says how many of its customers keep it by
stability (`kept`: the rules gave them a lower tier this run, `graded_tier != tier`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

from tierkit.backends.duckdb import DuckDBBackend
from tierkit.errors import InputError
from tierkit.policy.labels import score_labels, score_levels, tag_labels, tier_labels
from tierkit.runs.profit import ProfitCount, profit_measure
from tierkit.runs.summary_counts import Counted, MissingIds, ScoreShape, SummaryShape, count, summary_of
from tierkit.tables.readers import missing_id_error

if TYPE_CHECKING:
    import pyarrow as pa

    from tierkit.engine.grade import Grading


def shape_of(grading: Grading) -> SummaryShape:
    """What the grading's summary counts, and its words, as plain data."""
    policy, lang = grading.loaded.policy, grading.lang
    value = grading.value_metric
    return SummaryShape(
        policy=policy.name,
        policy_hash=grading.loaded.short_hash,
        as_of=grading.as_of.isoformat(),
        engine=grading.engine.name,
        value_metric=value,
        value_floating=value is not None and grading.expr[value].type().is_floating(),
        tiers=list(grading.tier_names),
        tier_labels=tier_labels(policy, grading.tier_names, lang),
        scores=[
            ScoreShape(
                name,
                result.primary,
                name == policy.primary,
                score_levels(policy.scores[name]),
                score_labels(policy.scores[name], lang),
            )
            for name, result in grading.scores.items()
        ],
        tags=list(grading.tag_names),
        tag_labels=tag_labels(policy, lang),
    )


class SummaryBuilder:
    """`count()` the graded rows; `result()` is the summary printed and kept in the manifest."""

    def __init__(self, grading: Grading) -> None:
        self.grading = grading
        self.shape = shape_of(grading)
        self.counted: Counted | None = None
        measure = profit_measure(grading.loaded.policy, list(grading.expr.columns))
        self.profit = ProfitCount(measure) if measure is not None else None  # the profit pyramid
        # stable tiers: per tier, the customers who keep it though the rules gave a lower one
        stable = grading.loaded.policy.stability is not None and "graded_tier" in grading.expr.columns
        self.kept: dict[str, int] | None = {} if stable else None

    def count(self, backend: DuckDBBackend, graded: ir.Table) -> None:
        """Every tally over the graded rows (runs/summary_counts.py), then the profit pyramid and
        the tiers kept by stability where the policy has them."""
        try:
            self.counted = count(backend.raw, backend.relation(graded), self.shape)
        except MissingIds as missing:
            orders = self.grading.inputs.orders
            raise missing_id_error(orders.source, orders.id_header, self._count_missing(orders)) from missing
        if self.profit is not None:
            self.profit.count(backend, graded, self.shape.tallies(), self.grading.loaded.policy)
        if self.kept is not None and "graded_tier" in graded.columns:
            self.kept = self._kept(backend, graded)

    @staticmethod
    def _kept(backend: DuckDBBackend, graded: ir.Table) -> dict[str, int]:
        """tier -> customers in it whose graded tier differs (a downgrade held back by `stability:`):
        one GROUP BY over the customers kept, counted by the engine."""
        held = graded.filter(graded.graded_tier != graded.tier)
        counts = backend.to_pyarrow(held.group_by("tier").aggregate(kept=held.count())).to_pylist()
        return {str(row["tier"]): int(row["kept"]) for row in counts}

    def _count_missing(self, orders: Any) -> int:
        table = orders.table
        value = self.grading.engine.execute_scalar((table.customer_id.isnull() | (table.customer_id == "")).sum())
        return int(value or 0)

    def result(self) -> dict[str, Any]:
        assert self.counted is not None, "count() first"
        if self.counted.customers == 0:
            orders = self.grading.inputs.orders
            raise InputError(
                f"{orders.path}: no order on or before the as-of date {self.grading.as_of}: nobody to grade"
            )
        summary = summary_of(self.shape, self.counted)
        if self.profit is not None:
            self.profit.apply(summary, self.grading.loaded.policy, self.grading.lang)
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
