"""`tierkit grade --engine spark` (local mode) against `--engine duckdb` on one big orders file.

    python benchmarks/spark_scale.py [--orders 100000000] [--keep FOLDER] [--spark-conf "spark.driver.memory=6g"]

Generates N orders as Parquet (benchmarks/grade.py's generator: about N/20 customer ids, three
years), then runs whole `tierkit grade --policy retail` processes in turns, DuckDB, Spark,
DuckDB, so that a busy machine hits both engines alike: the ratio is Spark's time over the mean
of the two DuckDB runs around it. Peak memory is the whole process tree's resident memory
(the JVM that PySpark starts is a child of the tierkit process, and getrusage does not see it
when it is not waited for), sampled every 0.2 s. Both results must hold the same rows: the two
Parquet files are compared with EXCEPT ALL both ways, every column, and by schema.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pyarrow.parquet as pq
from grade import AS_OF, orders_file


def tree_rss(root: psutil.Process) -> int:
    """Resident bytes of a process and all its descendants now."""
    total = 0
    for proc in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):  # ended between the listing and the reading
            total += proc.memory_info().rss
    return total


def run(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Seconds and peak process-tree MB of one process."""
    start = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    proc, peak = psutil.Process(child.pid), 0
    while child.poll() is None:
        peak = max(peak, tree_rss(proc))
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    if child.returncode != 0:
        assert child.stderr is not None
        raise SystemExit(f"failed: {' '.join(command)}\n{child.stderr.read().decode()[-4000:]}")
    return seconds, peak / 2**20


def same_results(a: Path, b: Path) -> bool:
    """The same schema, the same rows (every column, EXCEPT ALL both ways) in the same order."""
    import duckdb

    if pq.read_schema(a) != pq.read_schema(b):
        return False
    con = duckdb.connect()
    con.execute("SET memory_limit = '3GB'")
    for left, right in ((a, b), (b, a)):
        (differing,) = con.execute(
            f"SELECT count(*) FROM (SELECT * FROM '{left}' EXCEPT ALL SELECT * FROM '{right}')"
        ).fetchone() or (None,)
        if differing != 0:
            return False
    if pq.ParquetFile(a).metadata.num_rows != pq.ParquetFile(b).metadata.num_rows:
        return False
    # and in the same order: customer_id, row by row
    return bool(pq.read_table(a, columns=["customer_id"]).equals(pq.read_table(b, columns=["customer_id"])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=100_000_000)
    parser.add_argument("--keep", type=Path, help="folder to keep the generated file in")
    parser.add_argument(
        "--spark-conf",
        default="spark.driver.memory=6g",
        help="TIERKIT_SPARK_CONF for the Spark run (local mode runs in the driver's JVM: its heap)",
    )
    parser.add_argument("--partitions", default="16", help="TIERKIT_SPARK_PARTITIONS for the Spark run")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="tierkit-spark-scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    orders = orders_file(folder, args.orders)

    def grade(engine: str, output: Path) -> list[str]:
        command = [sys.executable, "-m", "tierkit", "grade", "--orders", str(orders), "--policy", "retail"]
        return [*command, "--as-of", AS_OF, "--engine", engine, "--output", str(output)]

    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
    spark_env = {**env, "TIERKIT_SPARK_CONF": args.spark_conf, "TIERKIT_SPARK_PARTITIONS": args.partitions}
    runs: dict[str, list[tuple[float, float]]] = {"duckdb": [], "spark": []}
    for engine in ("duckdb", "spark", "duckdb"):  # DuckDB on either side of the one Spark run
        output = folder / f"{engine}.parquet"
        seconds, peak = run(grade(engine, output), spark_env if engine == "spark" else env)
        runs[engine].append((seconds, peak))
        print(f"{engine}: {seconds:.1f} s, peak {peak:,.0f} MB", file=sys.stderr)
    duckdb_s = sum(s for s, _ in runs["duckdb"]) / len(runs["duckdb"])
    spark_s = runs["spark"][0][0]
    summary = {
        "orders": args.orders,
        "customers": pq.ParquetFile(folder / "duckdb.parquet").metadata.num_rows,
        "duckdb_s": [round(s, 1) for s, _ in runs["duckdb"]],
        "spark_s": round(spark_s, 1),
        "spark_over_duckdb": round(spark_s / duckdb_s, 2),
        "duckdb_peak_mb": round(max(p for _, p in runs["duckdb"])),
        "spark_peak_mb": round(runs["spark"][0][1]),
        "spark_conf": args.spark_conf,
        "spark_partitions": args.partitions,
        "same_results": same_results(folder / "duckdb.parquet", folder / "spark.parquet"),
        "load_average_after": os.getloadavg(),
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
