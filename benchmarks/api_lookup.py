"""Card lookups per second and p99 latency of `tierkit serve` on 1M graded customers, while grading.

    python benchmarks/api_lookup.py [--customers 1000000] [--seconds 20] [--connections 16] [--workers 1]

Builds a workspace whose run grades N customers (3 orders each), creates an agent key, starts
`tierkit serve` as its own process, and then, in the same run, drives GET /customers/{id} for
random ids over keep-alive connections (an asyncio client in this process) for `--seconds`, while
another process grades the workspace again (`tierkit grade --no-publish`), as a busy day would.
Prints requests per second, p50/p99 latency and errors; a baseline without the concurrent
grading is measured first, for the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ORDERS = """
COPY (
  SELECT 'O' || i AS order_id,
         lpad((i % {customers})::VARCHAR, 8, '0') AS customer_id,
         DATE '2026-09-30' - ((i * 7919) % 1000)::INT AS ordered_at,
         (((i * 104729) % 500000) / 100.0)::DECIMAL(18, 2) AS amount
  FROM range({rows}) r(i)
) TO '{path}' (FORMAT parquet)
"""


def tierkit(*args: str, capture: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tierkit.cli", *args], capture_output=capture, text=True, check=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def one_connection(
    port: int, key: str, ids: list[str], until: float, latencies: list[float], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    rng = random.Random(id(latencies) ^ port)
    try:
        while time.perf_counter() < until:
            cid = ids[rng.randrange(len(ids))]
            request = f"GET /customers/{cid} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\r\n"
            started = time.perf_counter()
            writer.write(request.encode())
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                errors.append(status)
    finally:
        writer.close()


async def load(port: int, key: str, ids: list[str], seconds: float, connections: int) -> dict[str, float]:
    latencies: list[float] = []
    errors: list[int] = []
    until = time.perf_counter() + seconds
    await asyncio.gather(*(one_connection(port, key, ids, until, latencies, errors) for _ in range(connections)))
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "per_second": round(len(ordered) / seconds, 1),
        "p50_ms": round(1000 * statistics.median(ordered), 2) if ordered else 0.0,
        "p99_ms": round(1000 * ordered[int(0.99 * (len(ordered) - 1))], 2) if ordered else 0.0,
        "errors": len(errors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="tierkit-bench-api-"))
    ws = folder / "ws"
    tierkit("init", str(ws))
    started = time.perf_counter()
    duckdb.sql(ORDERS.format(customers=args.customers, rows=3 * args.customers, path=ws / "data" / "orders.parquet"))
    tierkit("grade", "-w", str(ws), "--as-of", "2026-09-30", "--json")
    print(f"graded {args.customers:,} customers in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    key = json.loads(tierkit("users", "add", "bench", "--role", "agent", "-w", str(ws), "--json").stdout)["key"]
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tierkit.cli",
            "serve",
            "-w",
            str(ws),
            "--port",
            str(port),
            "--rate-limit",
            "0",
            "--workers",
            str(args.workers),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        for _ in range(300):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        ids = [f"{i:08d}" for i in random.Random(7).sample(range(args.customers), 50_000)]
        asyncio.run(load(port, key, ids[:1000], 3.0, 4))  # warm: the lookup file is built on first use
        quiet = asyncio.run(load(port, key, ids, args.seconds, args.connections))
        grading = subprocess.Popen(
            [sys.executable, "-m", "tierkit.cli", "grade", "-w", str(ws), "--no-publish", "--json"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        busy = asyncio.run(load(port, key, ids, args.seconds, args.connections))
        grading_done = grading.poll() is not None
        grading.wait()
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(
        json.dumps(
            {
                "customers": args.customers,
                "connections": args.connections,
                "workers": args.workers,
                "alone": quiet,
                "while_grading": busy,
                "grading_finished_within_window": grading_done,
                "ratio_busy_to_alone": round(busy["per_second"] / quiet["per_second"], 2)
                if quiet["per_second"]
                else None,
            },
            indent=2,
        )
    )
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
