"""Run-to-run migration: who moved between tiers, and how much value moved with them.

Both runs are Parquet files of one row per customer; DuckDB joins them in place. Customers in
only one run appear as coming from '(new)' or going to '(gone)'.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from tierkit.runs.files import Run
from tierkit.runs.output import parquet_source

NEW, GONE = "(new)", "(gone)"


@dataclass
class Migration:
    run_a: str
    run_b: str
    value_metric: str | None
    matrix: list[dict[str, Any]]  # from, to, customers, value
    movers: list[dict[str, Any]]
    movers_total: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_a": self.run_a,
            "run_b": self.run_b,
            "value_metric": self.value_metric,
            "matrix": self.matrix,
            "movers_total": self.movers_total,
            "movers": self.movers,
        }


def _value(run: Run, alias: str) -> str:
    metric = run.manifest.get("value_metric")
    if not metric:
        return "NULL"
    columns = duckdb.connect().execute(f"DESCRIBE SELECT * FROM {parquet_source(run.result)}").fetchall()
    return f'{alias}."{metric}"' if metric in {c[0] for c in columns} else "NULL"


def migrate(a: Run, b: Run, limit: int = 50) -> Migration:
    con = duckdb.connect()
    va, vb = _value(a, "a"), _value(b, "b")
    con.execute(f"""
        CREATE TEMP VIEW moves AS
        SELECT coalesce(a.customer_id, b.customer_id) AS customer_id,
               CASE WHEN a.customer_id IS NULL THEN '{NEW}' ELSE coalesce(a.tier, '(none)') END AS from_tier,
               CASE WHEN b.customer_id IS NULL THEN '{GONE}' ELSE coalesce(b.tier, '(none)') END AS to_tier,
               CAST({va} AS DECIMAL(38, 2)) AS value_a, CAST({vb} AS DECIMAL(38, 2)) AS value_b
        FROM {parquet_source(a.result)} a
        FULL OUTER JOIN {parquet_source(b.result)} b ON a.customer_id = b.customer_id
    """)
    matrix_rows = con.execute("""
        SELECT from_tier, to_tier, count(*) AS customers,
               coalesce(sum(value_b), 0) AS value_b, coalesce(sum(value_a), 0) AS value_a
        FROM moves GROUP BY ALL ORDER BY from_tier, to_tier
    """).fetchall()
    matrix = [
        {"from": f, "to": t, "customers": n, "value_a": str(v_a), "value_b": str(v_b)}
        for f, t, n, v_b, v_a in matrix_rows
    ]
    total = con.execute("SELECT count(*) FROM moves WHERE from_tier <> to_tier").fetchone()
    mover_rows = con.execute(f"""
        SELECT customer_id, from_tier, to_tier, value_a, value_b FROM moves
        WHERE from_tier <> to_tier
        ORDER BY coalesce(value_a, 0) + coalesce(value_b, 0) DESC, customer_id LIMIT {int(limit)}
    """).fetchall()
    movers = [
        {
            "customer_id": c,
            "from": f,
            "to": t,
            "value_a": None if x is None else str(x),
            "value_b": None if y is None else str(y),
        }
        for c, f, t, x, y in mover_rows
    ]
    metric = b.manifest.get("value_metric") or a.manifest.get("value_metric")
    return Migration(a.run_id, b.run_id, metric, matrix, movers, int(total[0]) if total else 0)
