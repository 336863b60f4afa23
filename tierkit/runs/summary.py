"""The run summary: customers and value per tier and per score class, as plain data.

Built in one pass over the graded result as it streams out (batch by batch), so a summary
never needs the whole result in memory. Value sums are exact decimals; shares are rounded for
display only.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from tierkit.engine.scores import score_labels, score_levels
from tierkit.errors import InputError
from tierkit.tables.readers import missing_id_error

if TYPE_CHECKING:
    from tierkit.engine.grade import Grading


class Tally:
    """Customers and value per class of one column, added up batch by batch."""

    def __init__(self, column: str, value: str | None) -> None:
        self.column, self.value = column, value
        self.customers: dict[str | None, int] = defaultdict(int)
        self.values: dict[str | None, Decimal] = defaultdict(Decimal)

    def add(self, batch: pa.RecordBatch) -> None:
        keys = pc.cast(batch.column(self.column), pa.string())
        ones = pa.array([1] * batch.num_rows, pa.int64())
        work = pa.table({"k": keys, "n": ones, "v": batch.column(self.value) if self.value else ones})
        for row in work.group_by("k").aggregate([("n", "sum"), ("v", "sum")]).to_pylist():
            self.customers[row["k"]] += row["n_sum"]  # count("k") would skip the missing class
            self.values[row["k"]] += Decimal(str(row["v_sum"] or 0))

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
    """Feed it the graded batches; `result()` is the summary printed and kept in the manifest."""

    def __init__(self, grading: Grading) -> None:
        self.grading = grading
        value = grading.value_metric
        self.tiers = Tally("tier", value)
        self.scores = {name: Tally(result.primary, value) for name, result in grading.scores.items()}
        self.tags: dict[str, int] = dict.fromkeys(grading.tag_names, 0)
        self.customers = 0

    def columns(self) -> list[str]:
        needed = ["customer_id", "tier", *(t.column for t in self.scores.values()), *(f"tag_{t}" for t in self.tags)]
        if self.tiers.value:
            needed.append(self.tiers.value)
        return list(dict.fromkeys(needed))

    def add(self, batch: pa.RecordBatch) -> None:
        ids = batch.column("customer_id")
        missing = pc.sum(pc.fill_null(pc.equal(ids, ""), True).cast(pa.int64())).as_py() or 0
        if missing:  # checked here, on one row per customer, not on every order row
            orders = self.grading.inputs.orders
            raise missing_id_error(orders.source, orders.id_header, self._count_missing(orders))
        self.customers += batch.num_rows
        self.tiers.add(batch)
        for tally in self.scores.values():
            tally.add(batch)
        for tag in self.tags:
            self.tags[tag] += int(pc.sum(pc.cast(batch.column(f"tag_{tag}"), pa.int64())).as_py() or 0)

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
        from tierkit.engine.grade import tier_labels

        grading, policy = self.grading, self.grading.loaded.policy
        scores: dict[str, Any] = {}
        for name, tally in self.scores.items():
            spec = policy.scores[name]
            rows = tally.rows(score_levels(spec), score_labels(spec, grading.lang))
            scores[name] = {"column": tally.column, "primary": name == policy.primary, "classes": rows}
        labels = tier_labels(grading.loaded.policy, grading.tier_names, grading.lang)
        return {
            "policy": policy.name,
            "policy_hash": grading.loaded.short_hash,
            "as_of": grading.as_of.isoformat(),
            "engine": grading.engine.name,
            "customers": self.customers,
            "value_metric": grading.value_metric,
            "tiers": self.tiers.rows(grading.tier_names, labels),
            "scores": scores,
            "tags": self.tags,
            "tag_labels": {t.name: t.label.text(grading.lang, t.name) for t in policy.tags if t.label},
        }


def summarize(grading: Grading, table: pa.Table) -> dict[str, Any]:
    builder = SummaryBuilder(grading)
    for batch in table.to_batches():
        builder.add(batch)
    return builder.result()


def summarize_file(grading: Grading, path: Path) -> dict[str, Any]:
    """The summary of a written result, reading back only the columns it counts."""
    import pyarrow.parquet as pq

    builder = SummaryBuilder(grading)
    for batch in pq.ParquetFile(path).iter_batches(batch_size=262_144, columns=builder.columns()):
        builder.add(batch)
    return builder.result()
