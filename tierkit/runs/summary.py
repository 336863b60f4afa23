"""The run summary: customers and value per tier and per score class, as plain data.

Computed from the graded result (one row per customer, already in Arrow), so it costs nothing
on the engine. Value shares use exact decimal sums; shares are rounded for display only.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from tierkit.engine.scores import score_levels

if TYPE_CHECKING:
    from tierkit.engine.grade import Grading


def breakdown(table: pa.Table, column: str, value: str | None, order: list[str]) -> list[dict[str, Any]]:
    """Rows of {class, customers, customer_share, value, value_share}, in `order`."""
    keys = pc.cast(table[column], pa.string())
    work = pa.table({"k": keys, "v": table[value] if value else pa.array([0] * len(table))})
    grouped = work.group_by("k").aggregate([("k", "count"), ("v", "sum")]).to_pylist()
    by_key = {row["k"]: row for row in grouped}
    total_n = len(table) or 1
    total_v = sum((Decimal(str(r["v_sum"] or 0)) for r in grouped), Decimal(0))
    ordered = [k for k in order if k in by_key] + sorted(k for k in by_key if k not in order and k is not None)
    if None in by_key:
        ordered.append(None)  # type: ignore[arg-type]
    rows = []
    for key in ordered:
        row = by_key[key]
        v = Decimal(str(row["v_sum"] or 0))
        rows.append(
            {
                "class": key,
                "customers": row["k_count"]
                if key is not None
                else len(table) - sum(r["k_count"] for r in grouped if r["k"] is not None),
                "customer_share": round(row["k_count"] / total_n, 4),
                "value": str(v) if value else None,
                "value_share": float(round(v / total_v, 4)) if value and total_v else None,
            }
        )
    return rows


def summarize(grading: Grading) -> dict[str, Any]:
    table = grading.table
    value = grading.value_metric
    policy = grading.loaded.policy
    scores: dict[str, Any] = {}
    for name, result in grading.scores.items():
        scores[name] = {
            "column": result.primary,
            "classes": breakdown(table, result.primary, value, score_levels(policy.scores[name])),
        }
    tiers = breakdown(table, "tier", value, grading.tier_names)
    tier_label = {}
    if len(table):
        pairs = pa.table({"t": table["tier"], "l": table["tier_label"]}).group_by(["t", "l"]).aggregate([])
        tier_label = dict(zip(pairs["t"].to_pylist(), pairs["l"].to_pylist(), strict=False))
    for row in tiers:
        row["label"] = tier_label.get(row["class"], row["class"])
    tags = {}
    for tag in grading.tag_names:
        tags[tag] = int(pc.sum(pc.cast(table[f"tag_{tag}"], pa.int64())).as_py() or 0)
    return {
        "policy": policy.name,
        "policy_hash": grading.loaded.short_hash,
        "as_of": grading.as_of.isoformat(),
        "engine": grading.engine.name,
        "customers": len(table),
        "value_metric": value,
        "tiers": tiers,
        "scores": scores,
        "tags": tags,
    }
