"""The service under an open-model load: card lookups at a fixed arrival rate, while a grading
publishes and an import runs, against a bare FastAPI app on the same machine in the same run.

    python benchmarks/load.py [--customers 1000000] [--seconds 60] [--soak 0]

Closed-loop load tests hide slowness (a slow answer delays the next request: coordinated
omission). Here requests arrive on a fixed schedule whatever the answers do, and each latency is
measured from the instant its request was due, so queueing counts. Absolute rates do not carry
between machines, so the rate is set in the same run: half of what a bare FastAPI + uvicorn app
that returns a fixed card-sized JSON sustains here (closed loop, 16 connections). Then, at that
rate for `--seconds` each:

1. the bare app: its p50, p99, p99.9 (the floor of the HTTP stack on this machine);
2. `tierkit serve` on N graded customers, agent key, random customer ids, while `tierkit grade`
   publishes a new run and `tierkit import orders` adds a file (both started at the phase's start).

The target (issue 15): tierkit's p99 within 3x the bare app's p99 at the same rate, 0 errors.
`--soak SECONDS` adds a third phase: tierkit alone at the rate for that long, sampling the
server's resident memory and open files every 10 s (the target: memory grows less than 10%).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
# the closed-loop client, the apps and the shop
from api_lookup import FLOOR_APP, ORDERS, free_port, load, serve, shop, start_uvicorn, wait_for_port


async def _ask(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], path: str, key: str) -> int:
    reader, writer = conn
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(int(v.split(b":", 1)[1]) for v in head.split(b"\r\n") if v.lower().startswith(b"content-length"))
    await reader.readexactly(length)
    return int(head.split(b" ", 2)[1])


async def open_model(port: int, key: str, ids: list[str], rate: float, seconds: float) -> dict[str, Any]:
    """Requests due every 1/rate s over a pool of keep-alive connections; latency from the due time."""
    loop = asyncio.get_running_loop()
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(64):
        pool.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    latencies: list[float] = []
    errors: list[str] = []
    rng = random.Random(port)

    async def fire(due: float, path: str) -> None:
        conn = await pool.get()
        try:
            status = await _ask(conn, path, key)
            if status != 200:
                errors.append(str(status))
        except (OSError, asyncio.IncompleteReadError, ValueError) as err:
            errors.append(type(err).__name__)
            conn = await asyncio.open_connection("127.0.0.1", port)
        finally:
            pool.put_nowait(conn)
        latencies.append(loop.time() - due)

    start = loop.time() + 0.1
    tasks = []
    for i in range(int(rate * seconds)):
        due = start + i / rate
        pause = due - loop.time()
        if pause > 0:
            await asyncio.sleep(pause)
        tasks.append(asyncio.create_task(fire(due, f"/customers/{ids[rng.randrange(len(ids))]}")))
    await asyncio.gather(*tasks)
    while not pool.empty():
        pool.get_nowait()[1].close()
    ordered = sorted(latencies)

    def at(q: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {
        "requests": len(ordered),
        "p50_ms": at(0.5),
        "p99_ms": at(0.99),
        "p999_ms": at(0.999),
        "errors": len(errors),
    }


def soak(server: subprocess.Popen[bytes], port: int, key: str, ids: list[str], rate: float, seconds: float) -> Any:
    """The server's memory and open files every 10 s while it serves at `rate`."""
    proc = psutil.Process(server.pid)
    samples: list[tuple[float, int, int]] = []

    async def sample() -> None:
        while True:
            samples.append((time.monotonic(), proc.memory_info().rss, proc.num_fds()))
            await asyncio.sleep(10)

    async def run() -> dict[str, Any]:
        watcher = asyncio.create_task(sample())
        found = await open_model(port, key, ids, rate, seconds)
        watcher.cancel()
        return found

    found = asyncio.run(run())
    first, last = samples[1] if len(samples) > 1 else samples[0], samples[-1]  # after the first 10 s
    return {
        **found,
        "rss_mb": [round(s[1] / 2**20, 1) for s in samples],
        "fds": [s[2] for s in samples],
        "rss_growth": round(last[1] / first[1] - 1, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--soak", type=float, default=0.0)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="tierkit-bench-load-"))
    ws, key = shop(folder, args.customers)
    extra = folder / "more-orders.csv"
    duckdb.sql(ORDERS.format(customers=args.customers, rows=200_000, path=folder / "more.parquet"))
    duckdb.sql(f"COPY (SELECT * REPLACE ('X' || order_id AS order_id) FROM '{folder / 'more.parquet'}') TO '{extra}'")
    ids = [f"{i:08d}" for i in random.Random(7).sample(range(args.customers), 50_000)]
    port = free_port()
    server = serve(ws, port)
    try:
        wait_for_port(port)
        asyncio.run(load(port, key, ids[:2000], 5.0, 4))  # warm: the lookup file is built on first use
        sample = subprocess.run(
            ["curl", "-s", "-H", f"Authorization: Bearer {key}", f"http://127.0.0.1:{port}/customers/{ids[0]}"],
            capture_output=True,
            check=True,
        ).stdout
        (folder / "card.json").write_bytes(sample)
        bare_port = free_port()
        bare = start_uvicorn(
            folder, "floor", FLOOR_APP, bare_port, 1, {"TIERKIT_BENCH_BODY": str(folder / "card.json")}
        )
        try:
            wait_for_port(bare_port)
            ceiling = asyncio.run(load(bare_port, key, ids, 10.0, 16))["per_second"]
            rate = round(ceiling / 2)
            floor = asyncio.run(open_model(bare_port, key, ids, rate, args.seconds))
        finally:
            bare.terminate()
            bare.wait(timeout=30)
        own_ceiling = asyncio.run(load(port, key, ids, 10.0, 16))["per_second"]  # tierkit alone, closed loop
        grading = subprocess.Popen([sys.executable, "-m", "tierkit.cli", "grade", "-w", str(ws), "--json"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        importing = subprocess.Popen(
            [sys.executable, "-m", "tierkit.cli", "import", "orders", str(extra), "-w", str(ws), "--json"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        busy = asyncio.run(open_model(port, key, ids, rate, args.seconds))
        finished = {"grading": grading.poll() is not None, "import": importing.poll() is not None}
        grading.wait()
        importing.wait()
        soaked = soak(server, port, key, ids, rate, args.soak) if args.soak else None
    finally:
        server.terminate()
        server.wait(timeout=60)
    report = {
        "customers": args.customers,
        "bare_app_ceiling_per_second": ceiling,
        "tierkit_ceiling_per_second": own_ceiling,
        "rate_per_second": rate,
        "bare_app": floor,
        "tierkit_while_grading_and_importing": busy,
        "finished_within_the_phase": finished,
        "p99_ratio": round(busy["p99_ms"] / floor["p99_ms"], 2) if floor["p99_ms"] else None,
        "soak": soaked,
    }
    print(json.dumps(report, indent=2))
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
