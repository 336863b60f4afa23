"""Whole-process grading and import by this checkout against an earlier revision, interleaved.

    python benchmarks/before_after.py --ref b18b7e8 [--orders 10000000] [--rows 2000000] [--repeat 5]

A refactor must not slow the user's commands. The earlier revision is exported from git into a
temporary folder and run with the same Python and the same installed libraries (PYTHONPATH
selects the tierkit package); each command runs in turns with this checkout's and with the bare
DuckDB baseline of benchmarks/grade.py and benchmarks/importing.py, so that machine noise hits
all alike. Prints the median wall times, the ratio after/before, and each one's ratio to the
baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
from grade import AS_OF, make_orders
from importing import EXPORT
from timing import compare

HERE = Path(__file__).resolve().parents[1]


def tree_of(ref: str, folder: Path) -> Path:
    """The package of revision `ref`, exported (not checked out) into `folder`."""
    archive = subprocess.run(["git", "-C", str(HERE), "archive", ref, "tierkit"], check=True, capture_output=True)
    folder.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def cli(tree: Path, *args: str) -> list[str]:
    return ["env", f"PYTHONPATH={tree}", sys.executable, "-m", "tierkit.cli", *args]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ref", required=True, help="the earlier revision (a commit, tag or branch)")
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--rows", type=int, default=2_000_000, help="rows of the import benchmark's CSV")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="tierkit-before-after-"))
    trees = {"before": tree_of(args.ref, folder / "before"), "after": HERE}
    report: dict[str, object] = {"ref": args.ref}
    try:
        orders = folder / "orders.parquet"
        started = time.perf_counter()
        make_orders(orders, args.orders)
        print(f"generated {args.orders:,} orders in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        group_by = (
            f"COPY (SELECT customer_id, max(ordered_at), count(*), sum(amount) FROM read_parquet('{orders}') "
            f"GROUP BY customer_id) TO '{folder / 'baseline.parquet'}' (FORMAT parquet)"
        )
        grading = {"baseline": [sys.executable, "-c", f"import duckdb; duckdb.connect().execute({group_by!r})"]}
        for name, tree in trees.items():
            out = str(folder / f"graded-{name}.parquet")
            grading[name] = cli(tree, "grade", "--orders", str(orders), "--as-of", AS_OF, "--output", out, "--json")
        report["grade"] = summarize(compare(grading, args.repeat), orders=args.orders)

        source = folder / "orders.csv"
        duckdb.sql(EXPORT.format(rows=args.rows, customers=max(args.rows // 20, 1), path=source))
        copy = f"COPY (SELECT * FROM read_csv('{source}')) TO '{folder / 'copy.parquet'}' (FORMAT parquet)"
        importing = {"baseline": [sys.executable, "-c", f"import duckdb; duckdb.connect().execute({copy!r})"]}
        fresh = {}
        for name, tree in trees.items():
            workspace = folder / f"ws-{name}"
            importing[name] = cli(tree, "import", "orders", str(source), "-w", str(workspace), "--today", "2026-11-29")
            fresh[name] = _fresh(tree, workspace)
        report["import"] = summarize(compare(importing, args.repeat, fresh), rows=args.rows)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(report, indent=2))


def _fresh(tree: Path, workspace: Path) -> object:
    def make() -> None:
        shutil.rmtree(workspace, ignore_errors=True)
        env = {**os.environ, "PYTHONPATH": str(tree)}
        subprocess.run([sys.executable, "-m", "tierkit.cli", "init", str(workspace)], check=True, env=env, capture_output=True)

    return make


def summarize(timed: dict[str, dict[str, float]], **size: int) -> dict[str, object]:
    base, before, after = (timed[k]["median_s"] for k in ("baseline", "before", "after"))
    return {
        **size,
        **timed,
        "after_over_before": round(after / before, 3),
        "before_over_baseline": round(before / base, 2),
        "after_over_baseline": round(after / base, 2),
    }


if __name__ == "__main__":
    main()
