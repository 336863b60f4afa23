"""Whole-process `tierkit import orders` of a Chinese CRM export against a bare DuckDB CSV copy.

    python benchmarks/importing.py [--rows 10000000] [--repeat 3]

Generates N order rows as a CSV the way a Chinese shop system exports it (headers 订单号, 会员号,
下单时间, 实付金额, 渠道; dates like 2024/1/5; amounts like ¥1,234.50), then times, in the same run,
(a) a process that copies the CSV to Parquet with DuckDB's own reader (auto-detected types, no
checks) and (b) `tierkit import orders` into a fresh workspace (mapped, parsed, every row checked,
numbered and judged, duplicates settled, Parquet part written). Prints median wall times, their
ratio and each process's peak memory.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
from timing import compare

EXPORT = """
COPY (
  SELECT 'O' || i AS 订单号,
         lpad((i % {customers})::VARCHAR, 8, '0') AS 会员号,
         strftime(DATE '2023-10-01' + (i % 1090)::INT, '%Y/%-m/%-d') AS 下单时间,
         '¥' || format('{{:,.2f}}', ((i * 7919) % 500000) / 100.0) AS 实付金额,
         CASE WHEN i % 3 = 0 THEN '门店' ELSE '线上' END AS 渠道
  FROM range({rows}) r(i)
) TO '{path}' (HEADER)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="tierkit-bench-import-"))
    source = folder / "orders.csv"
    started = time.perf_counter()
    duckdb.sql(EXPORT.format(rows=args.rows, customers=max(args.rows // 20, 1), path=source))
    print(f"generated {args.rows:,} rows in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    workspace = folder / "ws"
    copy_sql = f"COPY (SELECT * FROM read_csv('{source}')) TO '{folder / 'copy.parquet'}' (FORMAT parquet)"

    def fresh_workspace() -> None:
        shutil.rmtree(workspace, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "tierkit.cli", "init", str(workspace)], check=True, capture_output=True)

    commands = {
        "baseline": [sys.executable, "-c", f"import duckdb; duckdb.connect().execute({copy_sql!r})"],
        "tierkit": [
            sys.executable,
            "-m",
            "tierkit.cli",
            "import",
            "orders",
            str(source),
            "-w",
            str(workspace),
            "--today",
            "2026-11-29",
            "--json",
        ],
    }
    summary = compare(commands, args.repeat, {"tierkit": fresh_workspace})
    summary["rows"] = args.rows
    summary["ratio"] = round(summary["tierkit"]["median_s"] / summary["baseline"]["median_s"], 2)
    print(json.dumps(summary, indent=2))
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
