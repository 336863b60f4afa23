"""Whole-process `tierkit grade --policy retail` against a bare DuckDB GROUP BY, same file.

    python benchmarks/grade.py [--orders 10000000] [--repeat 3]

Generates N orders as Parquet (about N/20 customers, three years), then times, in the same run,
(a) a process that runs DuckDB's `GROUP BY customer_id` (max date, count, sum) over the file and
writes the result to Parquet, and (b) a process running `tierkit grade --policy retail` on the
same file writing its graded output to Parquet. Prints the median wall times, their ratio and
each process's peak memory (max RSS). Ratios, not absolute times, are what compare across
machines.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from timing import compare

AS_OF = "2026-09-30"


def make_orders(path: Path, n: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    customers = max(n // 20, 1)
    end = np.datetime64(AS_OF).astype("datetime64[D]").astype(np.int64)
    writer = None
    chunk = 2_000_000
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        owner = np.minimum((rng.pareto(1.2, size=m) * customers / 20).astype(np.int64), customers - 1)
        days = end - rng.integers(0, 365 * 3, size=m)
        amount = np.round(np.exp(rng.normal(5.5, 1.0, size=m)), 2)
        batch = pa.table(
            {
                "customer_id": pc.cast(pa.array(owner), pa.string()),
                "ordered_at": pa.array(days.astype("int32"), pa.date32()),
                "amount": pc.cast(pa.array(amount), pa.decimal128(18, 2)),
            }
        )
        writer = writer or pq.ParquetWriter(path, batch.schema)
        writer.write_table(batch)
    assert writer is not None
    writer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="folder to keep the generated file in")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="tierkit-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    orders = folder / f"orders-{args.orders}.parquet"
    if not orders.exists():
        started = time.perf_counter()
        make_orders(orders, args.orders)
        print(f"generated {args.orders:,} orders in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    baseline_sql = (
        f"COPY (SELECT customer_id, max(ordered_at), count(*), sum(amount) FROM read_parquet('{orders}') "
        f"GROUP BY customer_id) TO '{folder / 'baseline.parquet'}' (FORMAT parquet)"
    )
    baseline = [sys.executable, "-c", f"import duckdb; duckdb.connect().execute({baseline_sql!r})"]
    tierkit = [
        sys.executable,
        "-m",
        "tierkit.cli",
        "grade",
        "--orders",
        str(orders),
        "--policy",
        "retail",
        "--as-of",
        AS_OF,
        "--output",
        str(folder / "graded.parquet"),
        "--json",
    ]
    summary = compare({"baseline": baseline, "tierkit": tierkit}, args.repeat)
    summary["orders"] = args.orders
    summary["ratio"] = round(summary["tierkit"]["median_s"] / summary["baseline"]["median_s"], 2)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
