"""The run summary: customers and value per tier and per score class, as plain data.

Computed from the graded result (one row per customer, already in Arrow), so it costs nothing
on the engine. Value shares use exact decimal sums; shares are rounded for display only.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from tierkit.engine.scores import score_labels, score_levels

if TYPE_CHECKING:
    from tierkit.engine.grade import Grading


def breakdown(table: pa.Table, column: str, value: str | None, order: list[str]) -> list[dict[str, Any]]:
    """Rows of {class, customers, customer_share, value, value_share}, in `order`, missing last."""
    keys = pc.cast(table[column], pa.string())
    ones = pa.array([1] * len(table), pa.int64())
    work = pa.table({"k": keys, "n": ones, "v": table[value] if value else ones})
    grouped = work.group_by("k").aggregate([("n", "sum"), ("v", "sum")]).to_pylist()
    by_key = {row["k"]: row for row in grouped}  # count("k") would skip the missing class; sum(n) does not
    total_n = len(table) or 1
    total_v = sum((Decimal(str(r["v_sum"] or 0)) for r in grouped), Decimal(0))
    known = [k for k in order if k in by_key]
    ordered: list[str | None] = [*known, *sorted(k for k in by_key if k not in order and k is not None)]
    if None in by_key:
        ordered.append(None)
    rows = []
    for key in ordered:
        row = by_key[key]
        v = Decimal(str(row["v_sum"] or 0))
        rows.append(
            {
                "class": key,
                "customers": row["n_sum"],
                "customer_share": round(row["n_sum"] / total_n, 4),
                "value": str(v) if value else None,
                "value_share": float(round(v / total_v, 4)) if value and total_v else None,
            }
        )
    return rows


def summarize(grading: Grading) -> dict[str, Any]:
    from tierkit.engine.grade import tier_labels

    table = grading.table
    value = grading.value_metric
    policy = grading.loaded.policy
    scores: dict[str, Any] = {}
    for name, result in grading.scores.items():
        spec = policy.scores[name]
        labels = score_labels(spec, grading.lang)
        rows = breakdown(table, result.primary, value, score_levels(spec))
        for row in rows:
            row["label"] = labels.get(row["class"], row["class"])
        scores[name] = {"column": result.primary, "primary": name == policy.primary, "classes": rows}
    tiers = breakdown(table, "tier", value, grading.tier_names)
    tier_label = tier_labels(grading.loaded, grading.tier_names, grading.lang)
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
