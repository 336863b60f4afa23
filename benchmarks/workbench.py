"""How long the workbench's pages take over 1M graded customers, against the floor of their work.

    python benchmarks/workbench.py [--customers 1000000] [--repeat 5]

Builds a workspace of N customers (four orders each over two years, the retail policy, two runs:
the quarter before and the published one), signs in as an analyst, and times each page in this
process (Starlette's test client: the page's own work, without a network): the first view in a
cold process (lookup files and per-run figures not yet made), the first view once the warm-up
that `tierkit serve` starts in the background is done, and the median of `--repeat` later views. In the same run it
measures the floor of the overview's work, a hand-written DuckDB query that counts customers and
value per tier over the same result file, and prints each page's ratio to it; the target is
under one second per page.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
from fastapi.testclient import TestClient

from tierkit.app.serving import Settings
from tierkit.server import create_app

ORDERS = """
COPY (
  SELECT 'O' || i AS order_id,
         lpad((i % {customers})::VARCHAR, 8, '0') AS customer_id,
         DATE '2026-09-30' - ((i * 7919) % 730)::INT AS ordered_at,
         (((i * 104729) % 500000) / 100.0 * (1 + (i % {customers}) % 97))::DECIMAL(18, 2) AS amount
  FROM range({rows}) r(i)
) TO '{path}' (FORMAT parquet)
"""
FLOOR = "SELECT tier, count(*), sum(spend_12m) FROM read_parquet('{path}') GROUP BY tier"


def tierkit(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "tierkit.cli", *args], capture_output=True, text=True, check=True)
    return done.stdout


def build(customers: int) -> tuple[Path, str]:
    ws = Path(tempfile.mkdtemp(prefix="tierkit-bench-web-")) / "ws"
    tierkit("init", str(ws))
    started = time.perf_counter()
    duckdb.sql(ORDERS.format(customers=customers, rows=4 * customers, path=ws / "data" / "orders.parquet"))
    tierkit("grade", "-w", str(ws), "--as-of", "2026-06-30", "--no-publish", "--json")
    tierkit("grade", "-w", str(ws), "--as-of", "2026-09-30", "--json")
    print(f"graded {customers:,} customers twice in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    key = json.loads(tierkit("users", "add", "bench", "--role", "analyst", "-w", str(ws), "--json"))["key"]
    return ws, key


def timed(client: TestClient, path: str) -> float:
    started = time.perf_counter()
    answer = client.get(path)
    seconds = time.perf_counter() - started
    if answer.status_code != 200:
        raise SystemExit(f"{path}: {answer.status_code}\n{answer.text[:2000]}")
    return seconds


def views(ws: Path, key: str, pages: list[str], repeat: int, warm: bool) -> dict[str, Any]:
    """(first view, median later view) of each page in a new process state: the lookup files a
    previous pass built are removed first, so that 'first' includes building them."""
    for lookup in ws.glob("runs/*/lookup.arrow"):
        lookup.unlink()
    started = time.perf_counter()
    app = create_app(ws, Settings(rate_per_second=0), warm=warm)
    for thread in threading.enumerate():
        if thread.name == "warm-up":
            thread.join()
    warm_up_s = time.perf_counter() - started
    timings = []
    with TestClient(app) as client:
        form = client.get("/app/login").text
        token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
        client.post("/app/login", data={"key": key, "csrf": token})
        for path in pages:
            first = timed(client, path)
            later = statistics.median(timed(client, path) for _ in range(repeat))
            timings.append((round(first, 3), round(later, 3)))
    return {"warm_up_s": round(warm_up_s, 2), "pages": timings}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    ws, key = build(args.customers)
    result = ws / "runs" / (ws / "runs" / "CURRENT").read_text().strip() / "result.parquet"
    floor = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        duckdb.connect().sql(FLOOR.format(path=result)).fetchall()
        floor.append(time.perf_counter() - started)
    floor_s = statistics.median(floor)
    pages = [
        "/app/",
        "/app/customers?tier=vip",
        "/app/customers?tag=slowing_down&offset=500",
        "/app/customers/00000042",
        "/app/watchlists?list=moved_down",
        "/app/migration",
        "/app/cohorts",
    ]
    cold = views(ws, key, pages, args.repeat, warm=False)
    warmed = views(ws, key, pages, args.repeat, warm=True)
    rows = [
        {"page": p, "cold_first_s": c[0], "warm_first_s": w[0], "later_s": c[1]}
        for p, c, w in zip(pages, cold["pages"], warmed["pages"], strict=True)
    ]
    print(f"{args.customers:,} customers; floor (tier GROUP BY by hand): {floor_s:.3f}s")
    print(f"warm-up at start (tierkit serve does it in the background): {warmed['warm_up_s']:.1f}s")
    print(f"{'page':<44} {'cold first':>11} {'after warm-up':>14} {'later':>8} {'later/floor':>12}")
    for row in rows:
        ratio = row["later_s"] / floor_s
        print(
            f"{row['page']:<44} {row['cold_first_s']:>10.3f}s {row['warm_first_s']:>13.3f}s "
            f"{row['later_s']:>7.3f}s {ratio:>11.1f}x"
        )
    result = {"customers": args.customers, "floor_s": round(floor_s, 4), "warm_up_s": warmed["warm_up_s"]}
    print(json.dumps({**result, "pages": rows}))


if __name__ == "__main__":
    main()
