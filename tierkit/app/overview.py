"""The published run at a glance, as the workbench's overview draws it: aggregates only.

Each figure is a GROUP BY (or one ranked scan, for the Pareto curve) that DuckDB runs over the
run's result file, so a million graded customers never pass through Python. What depends only
on the run (Pareto, RFM, grid, score classes) is kept per run and process; what overrides
change (customers and value per tier in effect) is counted on every view. A chart is built
only from what the policy has: a policy without an RFM score gets no RFM heatmap.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.types as ir

from tierkit.app.serving import ServedWorkspace, Snapshot
from tierkit.backends import Backend, connect
from tierkit.policy import model as m
from tierkit.policy.labels import score_labels, score_levels, tag_labels, tier_labels
from tierkit.policy.segments import load_segments
from tierkit.runs.effect import tier_in_effect, with_manual

MONEY = "decimal(38, 2)"
PARETO_POINTS = 100  # the curve is drawn through the value of each percentile of customers


def _value(table: ir.Table, metric: str | None) -> ir.Value:
    if not metric or metric not in table.columns:
        return ibis.literal(Decimal(0)).cast(MONEY)
    return table[metric].cast(MONEY).fill_null(Decimal(0))


def orders_metric(policy: m.Policy, value_metric: str | None) -> str | None:
    """The metric counting orders over the value metric's window (orders_12m beside spend_12m),
    so that average order value is value / orders of one period; None when the policy has none."""
    spec = policy.metrics.get(value_metric or "")
    if spec is None or spec.kind != "sum":
        return None
    for name, other in policy.metrics.items():
        same_period = other.kind == "count" and other.count == "orders" and other.window == spec.window
        if same_period and other.where is None and other.per is None and spec.where is None:
            return name
    return None


def tier_table(served: ServedWorkspace, snapshot: Snapshot, lang: str) -> list[dict[str, Any]]:
    """Customers, value and orders per tier in effect (overrides applied), best tier first."""
    backend = connect("duckdb")
    manifest = snapshot.run.manifest
    rows = with_manual(backend.read_parquet(snapshot.run.result), {k: o.tier for k, o in served.overrides().items()})
    metric = manifest.get("value_metric")
    orders = orders_metric(snapshot.policy, metric)
    counted = rows.mutate(__tier=tier_in_effect(rows), __value=_value(rows, metric))
    aggregates: dict[str, Any] = {"customers": counted.count(), "value": counted["__value"].sum()}
    if orders and orders in rows.columns:
        aggregates["orders"] = counted[orders].cast("int64").fill_null(0).sum()
    found = {r["__tier"]: r for r in backend.to_pyarrow(counted.group_by("__tier").aggregate(**aggregates)).to_pylist()}
    total_n = sum(int(r["customers"]) for r in found.values()) or 1
    total_v = sum((Decimal(r["value"] or 0) for r in found.values()), Decimal(0))
    names = [str(t) for t in manifest.get("tiers") or []]
    labels = tier_labels(snapshot.policy, names, lang)
    table = []
    for tier in [*names, *sorted(str(k) for k in found if str(k) not in names)]:
        row = found.get(tier)
        if row is None:
            continue
        n, value = int(row["customers"]), Decimal(row["value"] or 0)
        count = int(row["orders"]) if "orders" in row and row["orders"] is not None else None
        table.append(
            {
                "tier": tier,
                "label": labels.get(tier, tier),
                "customers": n,
                "customer_share": n / total_n,
                "value": value if metric else None,
                "value_share": float(value / total_v) if metric and total_v else None,
                "orders": count,
                "average_order_value": (value / count).quantize(Decimal("0.01")) if count else None,
                "orders_per_customer": count / n if count is not None and n else None,
            }
        )
    return table


def _classes(backend: Backend, table: ir.Table, column: str, value: ir.Value) -> dict[str, tuple[int, Decimal]]:
    counted = (
        table.mutate(__value=value).group_by(column).aggregate(customers=ibis._.count(), v=ibis._["__value"].sum())
    )
    return {
        str(r[column]): (int(r["customers"]), Decimal(r["v"] or 0)) for r in backend.to_pyarrow(counted).to_pylist()
    }


def pyramid(backend: Backend, table: ir.Table, snapshot: Snapshot, lang: str, value: ir.Value) -> dict[str, Any] | None:
    """The customer pyramid, top level first: the policy's pyramid score when it has one (客户金字塔),
    else its tiers when they are ranked (rules, ABC, stars); RFM segments and nine-grid cells are
    no levels of one pyramid, so such a policy without a pyramid score has none."""
    policy = snapshot.policy
    named = next((n for n, s in policy.scores.items() if isinstance(s, m.PyramidScore)), None)
    primary = policy.scores.get(policy.primary or "")
    if named is None and isinstance(primary, m.RfmScore | m.GridScore | m.BandsScore):
        return None
    if named is not None:
        spec = policy.scores[named]
        order, labels, column = score_levels(spec), score_labels(spec, lang), named
    else:
        order = [str(t) for t in snapshot.run.manifest.get("tiers") or []]
        labels, column = tier_labels(policy, order, lang), "tier"
    found = _classes(backend, table, column, value)
    levels = [
        {"class": k, "label": labels.get(k, k), "customers": found[k][0], "value": found[k][1]}
        for k in order
        if k in found
    ]
    return {"score": named, "levels": levels}


def pareto(backend: Backend, table: ir.Table, snapshot: Snapshot, value: ir.Value, lang: str) -> dict[str, Any]:
    """The cumulative value curve: customers ranked by value (customer id breaks ties), the value
    of each percentile added up; with the ABC score's class boundaries where the policy has one."""
    ranked = table.mutate(__value=value, __rank=ibis.row_number().over(order_by=[value.desc(), table.customer_id]))
    total = ranked.count().as_scalar()
    bucket = (ranked["__rank"] * PARETO_POINTS / total).floor().cast("int64")
    per = ranked.mutate(__bucket=bucket).group_by("__bucket").aggregate(v=ibis._["__value"].sum(), n=ibis._.count())
    rows = sorted(backend.to_pyarrow(per).to_pylist(), key=lambda r: r["__bucket"])
    grand = sum((Decimal(r["v"] or 0) for r in rows), Decimal(0))
    customers = sum(int(r["n"]) for r in rows) or 1
    points, seen_n, seen_v = [[0.0, 0.0]], 0, Decimal(0)
    for r in rows:
        seen_n, seen_v = seen_n + int(r["n"]), seen_v + Decimal(r["v"] or 0)
        points.append([seen_n / customers, float(seen_v / grand) if grand else 0.0])
    cuts = []
    named = next((n for n, s in snapshot.policy.scores.items() if isinstance(s, m.AbcScore)), None)
    if named is not None:
        spec = snapshot.policy.scores[named]
        found = _classes(backend, table, named, value)
        labels, n_run, v_run = score_labels(spec, lang), 0, Decimal(0)
        for cls in score_levels(spec)[:-1]:  # the boundary below each class but the last
            n_run, v_run = n_run + found.get(cls, (0, Decimal(0)))[0], v_run + found.get(cls, (0, Decimal(0)))[1]
            share = float(v_run / grand) if grand else 0.0
            cuts.append(
                {"class": cls, "label": labels.get(cls, cls), "customer_share": n_run / customers}
                | {"value_share": share}
            )
    return {"points": points, "score": named, "cuts": cuts, "total_value": grand}


def rfm_heatmap(backend: Backend, table: ir.Table, snapshot: Snapshot, lang: str) -> dict[str, Any] | None:
    """R x F: customers per cell and the segment the policy's map gives it; None without RFM."""
    named = next((n for n, s in snapshot.policy.scores.items() if isinstance(s, m.RfmScore)), None)
    if named is None:
        return None
    spec = snapshot.policy.scores[named]
    assert isinstance(spec, m.RfmScore)
    r, f, seg = f"{named}_r", f"{named}_f", f"{named}_segment"
    per = table.group_by([r, f, seg]).aggregate(customers=ibis._.count())
    labels = score_labels(spec, lang)
    cells = [
        {"r": int(row[r]), "f": int(row[f]), "customers": int(row["customers"]), "segment": row[seg]}
        | {"label": labels.get(str(row[seg]), str(row[seg]))}
        for row in backend.to_pyarrow(per).to_pylist()
        if row[r] is not None and row[f] is not None
    ]
    segments = [s.name for s in load_segments(spec.segments, spec.bins, "")]
    return {
        "score": named,
        "bins": spec.bins,
        "cells": sorted(cells, key=lambda c: (c["r"], c["f"])),
        "segments": segments,
    }


def grid(backend: Backend, table: ir.Table, snapshot: Snapshot, lang: str, value: ir.Value) -> dict[str, Any] | None:
    """The nine-grid: value letter (A best) down, potential digit (1 best) across; None without one."""
    named = next((n for n, s in snapshot.policy.scores.items() if isinstance(s, m.GridScore)), None)
    if named is None:
        return None
    spec = snapshot.policy.scores[named]
    assert isinstance(spec, m.GridScore)
    found = _classes(backend, table, f"{named}_cell", value)
    labels = score_labels(spec, lang)
    cells = [
        {"cell": c, "label": labels.get(c, c), "customers": found.get(c, (0, Decimal(0)))[0]}
        | {"value": found.get(c, (0, Decimal(0)))[1]}
        for c in score_levels(spec)
    ]
    axes = {"letter": spec.letter.label.text(lang, "value") if spec.letter.label else "value"}
    axes["digit"] = spec.digit.label.text(lang, "potential") if spec.digit.label else "potential"
    return {"score": named, "cells": cells, "axes": axes}


def stars(backend: Backend, table: ir.Table, snapshot: Snapshot, lang: str, value: ir.Value) -> dict[str, Any] | None:
    """Customers and value per number of stars, most first; None when the policy gives no stars."""
    named = next((n for n, s in snapshot.policy.scores.items() if isinstance(s, m.StarsScore)), None)
    if named is None:
        return None
    spec = snapshot.policy.scores[named]
    found = _classes(backend, table, named, value)
    labels = score_labels(spec, lang)
    levels = [
        {"class": k, "label": labels.get(k, k), "customers": found.get(k, (0, Decimal(0)))[0]}
        | {"value": found.get(k, (0, Decimal(0)))[1]}
        for k in score_levels(spec)
    ]
    return {"score": named, "levels": levels}


def _by_run(backend: Backend, snapshot: Snapshot, lang: str) -> dict[str, Any]:
    table = backend.read_parquet(snapshot.run.result)
    value = _value(table, snapshot.run.manifest.get("value_metric"))
    summary = snapshot.run.manifest.get("summary") or {}
    labels = tag_labels(snapshot.policy, lang)
    tags = sorted(((k, int(v)) for k, v in (summary.get("tags") or {}).items()), key=lambda kv: (-kv[1], kv[0]))
    return {
        "pyramid": pyramid(backend, table, snapshot, lang, value),
        "pareto": pareto(backend, table, snapshot, value, lang) if snapshot.run.manifest.get("value_metric") else None,
        "rfm": rfm_heatmap(backend, table, snapshot, lang),
        "grid": grid(backend, table, snapshot, lang, value),
        "stars": stars(backend, table, snapshot, lang, value),
        "tags": [{"name": k, "label": labels.get(k, k), "customers": n} for k, n in tags],
    }


def overview(served: ServedWorkspace, lang: str) -> dict[str, Any]:
    """Everything the overview page draws for the published run, in a language."""
    snapshot = served.snapshot()
    manifest = snapshot.run.manifest
    key = f"overview:{snapshot.run.run_id}:{lang}"
    by_run = served.kept(key, lambda: _by_run(connect("duckdb"), snapshot, lang))
    return {
        "run": {
            "run_id": snapshot.run.run_id,
            "as_of": manifest["as_of"],
            "policy": manifest["policy"]["name"],
            "customers": manifest["rows"],
            "value_metric": manifest.get("value_metric"),
            "orders_metric": orders_metric(snapshot.policy, manifest.get("value_metric")),
        },
        "tiers": tier_table(served, snapshot, lang),
        **by_run,
    }
