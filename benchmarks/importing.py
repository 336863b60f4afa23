"""Whole-process `tierkit import orders` of a Chinese CRM export against a bare DuckDB CSV copy.

    python benchmarks/importing.py [--rows 10000000] [--repeat 3] [--keep]

Generates N order rows as a CSV the way a Chinese shop system exports it (headers 订单号, 会员号,
下单时间, 实付金额, 渠道; dates like 2024/1/5; amounts like ¥1,234.50), then times, in the same run
and in turns, (a) a process that copies the CSV to Parquet with DuckDB's own reader (auto-detected
types, no checks), (b) the floor of the import's own work written by hand (`BY_HAND`: one DuckDB
script that reads every cell as text, parses this export's dates and amounts, checks every row,
numbers the rows, looks for repeated ids and writes the Parquet part) and (c) `tierkit import
orders` into a fresh workspace (mapped, parsed, every row checked, numbered and judged,
duplicates settled, Parquet part written, registry and journal). Prints median wall and CPU
times, each process's peak memory, the ratio of each round and their range, and whether the
by-hand part holds the same rows and values as tierkit's (`by_hand_agrees`). `--keep` leaves
the CSV and prints its path (for benchmarks/import_stages.py).
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
from typing import Any

import duckdb
from timing import measure

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


# The import's work for this export, by hand: the same short paths as tierkit.tables.parsing
# (and its checks: blank ids, bad dates and amounts, dates after today), row numbers from the
# kept table's rowid, one GROUP BY for repeated ids, and the part written by COPY.
SPACE = "' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)"  # what str.strip() removes
EDGE = r"'^[ \t\n\r\x0b\x0c]|[ \t\n\r\x0b\x0c]$'"
PLAIN_DATE = r"'^[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}$'"
PLAIN_MONEY = r"'^[¥￥$]?-?([0-9]{1,12}|[0-9]{1,3}(,[0-9]{3}){1,3})([.][0-9]{0,6})?$'"
TODAY = "2026-11-29"
# the file's columns, in its order (read_csv maps columns by position)
HEADERS = {"订单号": "order_id", "会员号": "customer_id", "下单时间": "day", "实付金额": "money", "渠道": "channel"}


def _text(column: str) -> str:
    """A kept text cell: stripped, CRLF as LF; a regex first leaves clean cells alone."""
    strip = f"replace(trim({column}, {SPACE}), chr(13) || chr(10), chr(10))"
    return f"CASE WHEN regexp_matches({column}, {EDGE[:-1]}|\\r') THEN {strip} ELSE {column} END"


def _value(column: str) -> str:
    """A cell to parse: stripped, blank as NULL."""
    return f"nullif(CASE WHEN regexp_matches({column}, {EDGE}) THEN trim({column}, {SPACE}) ELSE {column} END, '')"


def by_hand_sql(path: Path, out: Path) -> str:
    cells = ", ".join(
        f"{_text(h) if name not in ('day', 'money') else _value(h)} AS {name}" for h, name in HEADERS.items()
    )
    digits = "replace(replace(replace(replace(money, '¥', ''), '￥', ''), '$', ''), ',', '')"
    columns = ", ".join(f"'{h}': 'VARCHAR'" for h in HEADERS)
    read = (
        f"read_csv('{path}', header = true, delim = ',', quote = '\"', escape = '\"', auto_detect = false, "
        f"columns = {{{columns}}})"
    )
    typed = (
        f"SELECT *, CASE WHEN regexp_matches(day, {PLAIN_DATE}) "
        "THEN try_cast(replace(replace(day, '/', '-'), '.', '-') AS DATE) END AS ordered_at, "
        f"CASE WHEN regexp_matches(money, {PLAIN_MONEY}) "
        f"THEN try_cast(try_cast({digits} AS DECIMAL(18, 6)) AS DECIMAL(18, 2)) END AS amount FROM cells"
    )
    reason = (
        f"CASE WHEN customer_id IS NULL OR trim(customer_id, {SPACE}) = '' THEN 'empty' "
        "WHEN day IS NULL OR ordered_at IS NULL THEN 'date' WHEN money IS NULL OR amount IS NULL THEN 'amount' "
        f"WHEN ordered_at > DATE '{TODAY}' THEN 'future' END AS reason"
    )
    return (
        "SET preserve_insertion_order = true;\n"
        f"CREATE TEMP TABLE t AS WITH cells AS (SELECT {cells} FROM {read}), typed AS ({typed}) "
        f"SELECT order_id, customer_id, ordered_at, amount, channel, {reason} FROM typed;\n"
        "CREATE TEMP TABLE repeats AS SELECT order_id, count(*) AS n, min(rowid) AS first FROM t "
        "WHERE reason IS NULL GROUP BY order_id HAVING count(*) > 1;\n"
        "SELECT count(*), count(reason), (SELECT count(*) FROM repeats) FROM t;\n"
        "COPY (SELECT order_id, customer_id, ordered_at, amount, channel, rowid + 1 AS _row FROM t "
        f"WHERE reason IS NULL) TO '{out}' (FORMAT parquet);\n"
    )


def by_hand_agrees(part: Path, by_hand: Path) -> bool:
    """The by-hand part holds tierkit's rows (ids, row numbers, dates, amounts, channels) exactly."""
    columns = "order_id, customer_id, ordered_at, amount, channel, _row"
    found = duckdb.sql(
        f"SELECT count(*) FROM ((SELECT {columns} FROM '{part}' EXCEPT ALL SELECT {columns} FROM '{by_hand}') "
        f"UNION ALL (SELECT {columns} FROM '{by_hand}' EXCEPT ALL SELECT {columns} FROM '{part}'))"
    ).fetchone()
    return found is not None and found[0] == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the generated CSV")
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

    by_hand_part = folder / "by_hand.parquet"
    by_hand = by_hand_sql(source, by_hand_part)
    quiet = "con.execute('SET enable_progress_bar = false')"  # as tierkit sets it; the copy's left as it was
    commands = {
        "baseline": [sys.executable, "-c", f"import duckdb; duckdb.connect().execute({copy_sql!r})"],
        "by_hand": [sys.executable, "-c", f"import duckdb; con = duckdb.connect(); {quiet}; con.execute({by_hand!r})"],
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
            TODAY,
            "--json",
        ],
    }
    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
    for _ in range(args.repeat):  # in turns, so that the machine's noise hits all alike
        for name, cmd in commands.items():
            if name == "tierkit":
                fresh_workspace()
            runs[name].append(measure(cmd))
    summary: dict[str, Any] = {
        name: {
            "median_s": round(statistics.median(r[0] for r in done), 3),
            "median_cpu_s": round(statistics.median(r[2] for r in done), 3),
            "peak_mb": round(max(r[1] for r in done), 1),
        }
        for name, done in runs.items()
    }
    summary["rows"] = args.rows
    for name in ("tierkit", "by_hand"):  # each round's ratio to the copy of the same round
        ratios = [mine[0] / base[0] for mine, base in zip(runs[name], runs["baseline"], strict=True)]
        cpu = [mine[2] / base[2] for mine, base in zip(runs[name], runs["baseline"], strict=True)]
        summary[f"{name}_ratio"] = round(summary[name]["median_s"] / summary["baseline"]["median_s"], 2)
        summary[f"{name}_ratio_range"] = [round(min(ratios), 2), round(max(ratios), 2)]
        summary[f"{name}_cpu_ratio"] = round(statistics.median(cpu), 2)
    summary["tierkit_over_by_hand"] = round(summary["tierkit"]["median_s"] / summary["by_hand"]["median_s"], 2)
    part = next((workspace / "data" / "orders").glob("*.parquet"))
    summary["by_hand_agrees"] = by_hand_agrees(part, by_hand_part)
    print(json.dumps(summary, indent=2))
    if args.keep:
        print(f"kept {source}", file=sys.stderr)
        shutil.rmtree(workspace, ignore_errors=True)
    else:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
