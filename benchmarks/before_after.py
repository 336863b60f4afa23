"""Grading, import and card lookups by this checkout against an earlier revision, interleaved.

    python benchmarks/before_after.py --ref b18b7e8 [--orders 10000000] [--rows 2000000] [--repeat 5]

A refactor must not slow the user's commands. The earlier revision is exported from git into a
temporary folder and run with the same Python and the same installed libraries (PYTHONPATH
selects the tierkit package); each command runs in turns with this checkout's and with the bare
DuckDB baseline of benchmarks/grade.py and benchmarks/importing.py, so that machine noise hits
all alike. Prints the median wall times, the ratio after/before, and each one's ratio to the
baseline. Card lookups: the CPU time of building one agent's card as GET /customers/{id} does
(the lookup, overrides, masking, the audit line and the response JSON; no HTTP stack, whose
thread hand-offs would drown it), over a demo workspace of 2,000 customers, the revisions in
turns; benchmarks/api_lookup.py measures throughput over the network.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
from grade import AS_OF, baseline_command, make_orders
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
        grading = {"baseline": baseline_command(orders, folder / "baseline.parquet")}
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
        report["card"] = cards(trees, folder / "cards", max(args.repeat, 9))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(report, indent=2))


CARDS = """
import random, sys, time
from pathlib import Path
ids = [f"{i:08d}" for i in range(1, 2001)]
try:
    from tierkit.api.routes.customers import _response
    from tierkit.app import customers
    from tierkit.app.customers import Caller
    from tierkit.app.serving import ServedWorkspace, Settings

    served = ServedWorkspace.open(Path(sys.argv[1]), Settings(rate_per_second=0))
    agent = Caller("bench", "agent")

    def card(cid):
        return _response(customers.card(served, cid, agent), "agent").model_dump_json()
except ImportError:  # before the application layer: the route's own helper, and its audit line
    from tierkit.api.routes.customers import _card
    from tierkit.api.service import Service, Settings

    served = Service.open(Path(sys.argv[1]), Settings(rate_per_second=0))

    def card(cid):
        snapshot = served.snapshot()
        found = _card(served, snapshot, cid, "agent")
        served.audit.record("bench", "agent", "view_card", cid, snapshot.run.run_id)
        return found.model_dump_json()
random.seed(1)
for cid in ids[:300]:
    card(cid)
started = time.process_time()
for cid in random.sample(ids * 3, 5000):
    card(cid)
print((time.process_time() - started) / 5000 * 1000)
"""


def cards(trees: dict[str, Path], workspace: Path, repeat: int) -> dict[str, object]:
    """CPU milliseconds per agent card (fewest and median over the rounds), each revision
    serving the same workspace in turns."""
    run = [sys.executable, "-m", "tierkit.cli"]
    subprocess.run(
        [*run, "demo", "-w", str(workspace), "--customers", "2000", "--json"], check=True, capture_output=True
    )
    made = subprocess.run([*run, "users", "add", "bench", "--role", "agent", "-w", str(workspace)], capture_output=True)
    key = made.stdout.decode().strip().splitlines()[-1]
    times: dict[str, list[float]] = {name: [] for name in trees}
    for _ in range(repeat):
        for name, tree in trees.items():
            env = {**os.environ, "PYTHONPATH": str(tree)}
            out = subprocess.run(
                [sys.executable, "-c", CARDS, str(workspace), key], check=True, capture_output=True, env=env
            )
            times[name].append(float(out.stdout.decode().strip().splitlines()[-1]))
    low = {k: round(min(v), 3) for k, v in times.items()}  # the least noisy estimate of CPU-bound work
    mid = {k: round(statistics.median(v), 3) for k, v in times.items()}
    return {
        "cpu_ms_per_card_min": low,
        "cpu_ms_per_card_median": mid,
        "after_over_before_min": round(low["after"] / low["before"], 3),
        "after_over_before_median": round(mid["after"] / mid["before"], 3),
    }


def _fresh(tree: Path, workspace: Path) -> object:
    def make() -> None:
        shutil.rmtree(workspace, ignore_errors=True)
        env = {**os.environ, "PYTHONPATH": str(tree)}
        subprocess.run(
            [sys.executable, "-m", "tierkit.cli", "init", str(workspace)], check=True, env=env, capture_output=True
        )

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
