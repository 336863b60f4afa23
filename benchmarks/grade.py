"""Whole-process `tierkit grade --policy retail` against a bare DuckDB GROUP BY, same file.

    python benchmarks/grade.py [--orders 10000000] [--repeat 3]

Generates N orders as Parquet (about N/20 customers, three years), then times, in the same run,
(a) a process that runs DuckDB's `GROUP BY customer_id` (max date, count, sum) over the file and
writes the result to Parquet, (b) a process running `tierkit grade --policy retail` on the
same file writing its graded output to Parquet (b') the same command with TIERKIT_REPLAY=off,
graded whole each time (its compiled plan cached), where (b), after a warm-up run, replays the
first grading's transcript (docs/cli.md), and (c) the floor: a process running the
`retail` policy written by hand as one DuckDB query for this file (retail_by_hand.sql), whose
tiers, classes and tags are checked to equal tierkit's. Prints the median wall times, the
ratios to the baseline and to the floor, and each process's peak memory (max RSS). Ratios, not
absolute times, are what compare across machines. Then (unless --no-startup) the start-up of
`tierkit --help` and `tierkit show` against `python -c pass`, in absolute and as ratios.
"""

from __future__ import annotations

import argparse
import json
import subprocess
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


def baseline_command(orders: Path, out: Path) -> list[str]:
    """The baseline process: DuckDB's GROUP BY customer_id (max date, count, sum) to Parquet."""
    sql = (
        f"COPY (SELECT customer_id, max(ordered_at), count(*), sum(amount) FROM read_parquet('{orders}') "
        f"GROUP BY customer_id) TO '{out}' (FORMAT parquet)"
    )
    return [sys.executable, "-c", f"import duckdb; duckdb.connect().execute({sql!r})"]


def orders_file(folder: Path, count: int) -> Path:
    """The benchmark's orders file in `folder`, generated unless a kept folder has it already."""
    orders = folder / f"orders-{count}.parquet"
    if not orders.exists():
        started = time.perf_counter()
        make_orders(orders, count)
        print(f"generated {count:,} orders in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return orders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="folder to keep the generated file in")
    parser.add_argument("--no-startup", action="store_true", help="skip timing `tierkit --help` and `tierkit show`")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="tierkit-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    orders = orders_file(folder, args.orders)
    baseline = baseline_command(orders, folder / "baseline.parquet")
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
    by_hand_sql = by_hand(orders, folder / "by_hand.parquet")
    floor = duckdb_process(by_hand_sql)
    same_file = duckdb_process(by_hand(orders, folder / "same_file.parquet", same_file=True))
    whole = ["env", "TIERKIT_REPLAY=off", *tierkit]
    tierkit[tierkit.index(str(folder / "graded.parquet"))] = str(folder / "replayed.parquet")
    subprocess.run(tierkit, check=True, capture_output=True)  # the warm-up: keeps the transcript
    processes = {
        "baseline": baseline,
        "tierkit": tierkit,
        "tierkit_whole": whole,
        "by_hand": floor,
        "same_file_by_hand": same_file,
    }
    summary = compare(processes, args.repeat)
    summary["orders"] = args.orders
    summary["ratio"] = round(summary["tierkit"]["median_s"] / summary["baseline"]["median_s"], 2)
    summary["by_hand_ratio"] = round(summary["by_hand"]["median_s"] / summary["baseline"]["median_s"], 2)
    summary["tierkit_over_by_hand"] = round(summary["tierkit"]["median_s"] / summary["by_hand"]["median_s"], 2)
    summary["tierkit_over_by_hand_cpu"] = round(
        summary["tierkit"]["median_cpu_s"] / summary["by_hand"]["median_cpu_s"], 2
    )
    summary["whole_over_by_hand"] = round(summary["tierkit_whole"]["median_s"] / summary["by_hand"]["median_s"], 2)
    summary["whole_over_by_hand_cpu"] = round(
        summary["tierkit_whole"]["median_cpu_s"] / summary["by_hand"]["median_cpu_s"], 2
    )
    summary["replayed_same_bytes"] = (folder / "replayed.parquet").read_bytes() == (
        folder / "graded.parquet"
    ).read_bytes()
    summary["by_hand_agrees"] = same_grades(folder / "graded.parquet", folder / "by_hand.parquet")
    same = summary["same_file_by_hand"]
    summary["tierkit_over_same_file"] = round(summary["tierkit"]["median_s"] / same["median_s"], 2)
    summary["tierkit_over_same_file_cpu"] = round(summary["tierkit"]["median_cpu_s"] / same["median_cpu_s"], 2)
    summary["same_file_agrees"] = same_rows(folder / "graded.parquet", folder / "same_file.parquet")
    if not args.no_startup:
        summary["startup"] = startup(folder, max(args.repeat, 5))
    print(json.dumps(summary, indent=2))


def startup(folder: Path, repeat: int) -> dict[str, object]:
    """`tierkit --help` and `tierkit show` (a card of a 2,000-customer demo workspace) against the
    bare interpreter's start-up (`python -c pass`), interleaved: median seconds and the ratios."""
    import subprocess

    workspace = folder / "startup-workspace"
    if not (workspace / "runs").exists():
        made = subprocess.run(
            [sys.executable, "-m", "tierkit.cli", "demo", "-w", str(workspace), "--customers", "2000", "--json"],
            capture_output=True,
            text=True,
            check=True,
        )
        (folder / "startup-customer.txt").write_text(json.loads(made.stdout)["example_customer"])
    customer = (folder / "startup-customer.txt").read_text().strip()
    commands = {
        "python": [sys.executable, "-c", "pass"],
        "help": [sys.executable, "-m", "tierkit.cli", "--help"],
        "show": [sys.executable, "-m", "tierkit.cli", "show", customer, "-w", str(workspace)],
    }
    times = compare(commands, repeat)
    bare = times["python"]["median_s"]
    return {
        **{name: times[name]["median_s"] for name in commands},
        "help_over_python": round(times["help"]["median_s"] / bare, 1),
        "show_over_python": round(times["show"]["median_s"] / bare, 1),
    }


def by_hand(orders: Path, output: Path, same_file: bool = False) -> str:
    """retail_by_hand.sql for this file, with the window starts tierkit's calendar gives; with
    `same_file`, its output replaced by retail_same_file_by_hand.sql (tierkit's whole row)."""
    import datetime as dt

    from tierkit.engine.windows import Window

    as_of = dt.date.fromisoformat(AS_OF)
    starts = {f"m{n}": Window.parse(f"{n}M").start(as_of) for n in (6, 12, 24, 36)}
    text = (Path(__file__).parent / "retail_by_hand.sql").read_text("utf-8")
    if same_file:
        marker = "-- the output"
        text = text[: text.index(marker)] + (Path(__file__).parent / "retail_same_file_by_hand.sql").read_text("utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
    return body.format(as_of=AS_OF, orders=f"'{orders}'", output=f"'{output}'", **starts)


def duckdb_process(sql: str) -> list[str]:
    """A process running one by-hand script on a plain DuckDB connection, as tierkit sets it."""
    return [
        sys.executable,
        "-c",
        f"import duckdb; c = duckdb.connect(); c.execute('SET preserve_insertion_order = false'); c.execute({sql!r})",
    ]


def same_rows(tierkit_file: Path, by_hand_file: Path) -> bool:
    """The two files hold the same columns, in the same order with the same types, and the same
    rows in the same order."""
    import duckdb

    con = duckdb.connect()
    if (
        con.sql(f"DESCRIBE SELECT * FROM '{tierkit_file}'").fetchall()
        != con.sql(f"DESCRIBE SELECT * FROM '{by_hand_file}'").fetchall()
    ):
        return False
    numbered = "SELECT * FROM read_parquet('{}', file_row_number = true)"
    differing = con.sql(
        f"SELECT count(*) FROM (({numbered.format(tierkit_file)}) EXCEPT ALL ({numbered.format(by_hand_file)}))"
    ).fetchone()
    total = con.sql(f"SELECT (SELECT count(*) FROM '{tierkit_file}') = (SELECT count(*) FROM '{by_hand_file}')")
    return bool(differing and differing[0] == 0 and total.fetchone() == (True,))


def same_grades(tierkit_file: Path, by_hand_file: Path) -> bool:
    """Both outputs give every customer the same tier, ABC class, pyramid level, tags and reasons
    (the lean reasons, byte for byte)."""
    import duckdb

    columns = "customer_id, tier, abc, pyramid, tags, reasons"
    differing = duckdb.sql(
        f"SELECT count(*) FROM ((SELECT {columns} FROM '{tierkit_file}') "
        f"EXCEPT ALL (SELECT {columns} FROM '{by_hand_file}'))"
    ).fetchone()
    rows = duckdb.sql(f"SELECT (SELECT count(*) FROM '{tierkit_file}') = (SELECT count(*) FROM '{by_hand_file}')")
    return bool(differing and differing[0] == 0 and rows.fetchone() == (True,))


if __name__ == "__main__":
    main()
