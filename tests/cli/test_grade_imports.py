"""`tierkit grade` of a Parquet file on DuckDB imports what grading uses, and no more.

Start-up is most of what tierkit adds to a 10M-order grading beyond its SQL (issue 16,
docs/benchmarks.md): pyarrow with numpy is 0.1 s that DuckDB does not need to read Parquet,
write Parquet or count a summary, and Ibis's SQL compilers are not needed once a plan is
cached. Whole processes, as a user runs the command; the first grading compiles the plan.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tierkit.backends import connect
from tierkit.tables.readers import open_mapped, source_instants

NOT_FOR_GRADING = ("pyarrow", "numpy", "pandas", "sqlalchemy", "scipy", "sklearn", "splink", "pyspark")


def grade(orders: Path, out: Path, plans: Path) -> tuple[dict[str, object], set[str]]:
    """The summary `tierkit grade --json` prints, and the modules loaded by then."""
    args = ["grade", "--orders", str(orders), "--policy", "retail", "--as-of", "2024-06-30", "--output", str(out)]
    script = (
        "import sys, json\n"
        f"sys.argv = ['tierkit', *{args!r}, '--json']\n"
        "from tierkit.cli.app import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    env = {"TIERKIT_PLAN_CACHE": str(plans), "PATH": "/usr/bin:/bin", "HOME": str(plans.parent)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env)
    assert done.stdout.strip(), done.stderr[-2000:]
    return json.loads(done.stdout), set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_a_cached_grading_of_parquet_loads_no_arrow_and_no_compiler(tmp_path: Path) -> None:
    orders = tmp_path / "orders.parquet"
    duckdb.sql(
        "COPY (SELECT lpad((i % 300)::VARCHAR, 4, '0') AS customer_id,"
        " DATE '2024-06-30' - (i % 700)::INT AS ordered_at, ((i * 37) % 5000 + 0.5)::DECIMAL(18, 2) AS amount"
        f" FROM range(6000) r(i)) TO '{orders}' (FORMAT parquet)"
    )
    plans = tmp_path / "plans"
    first, _ = grade(orders, tmp_path / "first.parquet", plans)
    summary, loaded = grade(orders, tmp_path / "second.parquet", plans)
    assert summary["customers"] == first["customers"] == 300
    assert (tmp_path / "first.parquet").read_bytes() == (tmp_path / "second.parquet").read_bytes()
    assert {"duckdb", "ibis", "typer", "pydantic"} <= {m.split(".")[0] for m in loaded}  # the check sees imports
    assert sorted(m for m in NOT_FOR_GRADING if m in loaded) == []
    assert not any(m.startswith("ibis.backends.sql.compilers") for m in loaded)


@pytest.mark.parametrize("int96", [False, True])
def test_instants_are_the_columns_parquet_stores_adjusted_to_utc(tmp_path: Path, int96: bool) -> None:
    """DuckDB's view types say which columns are instants, as the Parquet schema does (pyarrow's
    reading of it is the oracle); INT96 timestamps carry no zone in either."""
    at = dt.datetime(2024, 1, 5, 10, 30)
    path = tmp_path / "orders.parquet"
    table = pa.table(
        {
            "customer_id": ["1"],
            "下单时间": pa.array([at], pa.timestamp("us", tz="Asia/Shanghai")),
            "paid_at": pa.array([at], pa.timestamp("us")),
            "due_at": pa.array([at], pa.timestamp("ms", tz="UTC")),
            "amount": [1.5],
        }
    )
    pq.write_table(table, path, use_deprecated_int96_timestamps=int96)
    mapped = open_mapped(connect("duckdb"), "orders", path)
    by_schema = mapped.source.instants()
    assert by_schema == (frozenset() if int96 else frozenset({"下单时间", "due_at"}))
    assert source_instants(connect("duckdb"), mapped) == by_schema
