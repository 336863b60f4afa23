"""`tierkit plan` and `tierkit plan report` for 1M customers and 10M contacts, against their floor.

    python benchmarks/plans.py [--customers 1000000] [--contacts 10000000] [--repeat 3]

Builds a workspace of N customers (three orders each, the retail policy, owners among 200 reps
in the customers file) with M imported contacts over two years, grades it, then times whole
processes: `tierkit plan --month` (a fresh plan each time) and `tierkit plan report`, beside a
floor measured in the same run: one hand-written DuckDB query that reads the same contacts
file and counts each customer's contacts before and in the month. The target is under 30 s each.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ORDERS = """
COPY (
  SELECT 'O' || i AS order_id, lpad((i % {customers})::VARCHAR, 8, '0') AS customer_id,
         DATE '2026-09-30' - ((i * 7919) % 365)::INT AS ordered_at,
         (((i * 104729) % 500000) / 100.0 * (1 + (i % {customers}) % 97))::DECIMAL(18, 2) AS amount
  FROM range({rows}) r(i)
) TO '{path}' (FORMAT parquet)
"""
CUSTOMERS = """
COPY (
  SELECT lpad(i::VARCHAR, 8, '0') AS customer_id, 'rep' || (i % 200) AS owner, 'R' || (i % 30) AS region
  FROM range({customers}) r(i)
) TO '{path}' (FORMAT parquet)
"""
CONTACTS = """
COPY (
  SELECT 'C' || i AS contact_id, lpad(((i * 7) % {customers})::VARCHAR, 8, '0') AS customer_id,
         'rep' || (i % 200) AS rep_id, DATE '2026-10-31' - ((i * 13) % 730)::INT AS "at", 'visit' AS kind
  FROM range({rows}) r(i)
) TO '{path}' (FORMAT parquet)
"""
FLOOR = """
SELECT customer_id, max("at") FILTER (WHERE "at" < DATE '2026-10-01') AS last_contacted,
       count(*) FILTER (WHERE "at" >= DATE '2026-10-01' AND "at" < DATE '2026-11-01') AS logged
FROM read_parquet('{path}') GROUP BY customer_id
"""


def tierkit(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "tierkit.cli", *args], capture_output=True, text=True, check=True)
    return done.stdout


def timed(*args: str) -> float:
    started = time.perf_counter()
    tierkit(*args)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    ws = Path(tempfile.mkdtemp(prefix="tierkit-bench-plans-")) / "ws"
    tierkit("init", str(ws))
    data = ws / "data"
    duckdb.sql(ORDERS.format(customers=args.customers, rows=3 * args.customers, path=data / "orders.parquet"))
    duckdb.sql(CUSTOMERS.format(customers=args.customers, path=data / "customers.parquet"))
    duckdb.sql(CONTACTS.format(customers=args.customers, rows=args.contacts, path=data / "contacts.parquet"))
    tierkit("grade", "-w", str(ws), "--as-of", "2026-09-30", "--json")
    plan, made, floor = [], [], []
    for _ in range(args.repeat):
        shutil.rmtree(ws / "plans", ignore_errors=True)
        plan.append(timed("plan", "-w", str(ws), "--month", "2026-10", "--output", str(ws / "plan.csv")))
        made.append(timed("plan", "report", "-w", str(ws), "--month", "2026-10", "--json"))
        started = time.perf_counter()
        duckdb.connect().sql(FLOOR.format(path=data / "contacts.parquet")).fetchall()
        floor.append(time.perf_counter() - started)
    found = json.loads(tierkit("plan", "report", "-w", str(ws), "--month", "2026-10", "--json"))
    rows = {
        "plan_s": round(statistics.median(plan), 2),
        "report_s": round(statistics.median(made), 2),
        "floor_s": round(statistics.median(floor), 2),
    }
    planned = sum(o["customers"] for o in found["by_owner"])
    print(f"{args.customers:,} customers, {args.contacts:,} contacts; planned {planned:,}")
    print(
        f"tierkit plan (whole process, CSV out): {rows['plan_s']:.2f}s  ({rows['plan_s'] / rows['floor_s']:.1f}x floor)"
    )
    print(
        f"tierkit plan report (whole process):   {rows['report_s']:.2f}s "
        f"({rows['report_s'] / rows['floor_s']:.1f}x floor)"
    )
    print(f"floor (one hand-written query over the contacts): {rows['floor_s']:.2f}s")
    print(json.dumps({"customers": args.customers, "contacts": args.contacts, **rows}))


if __name__ == "__main__":
    main()
