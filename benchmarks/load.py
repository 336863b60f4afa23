"""The service under an open-model load: card lookups at a fixed arrival rate, while a grading
publishes and an import runs, against a bare FastAPI app on the same machine in the same run.

    python benchmarks/load.py [--customers 1000000] [--seconds 60] [--soak 0] [--nice 0]

Closed-loop load tests hide slowness (a slow answer delays the next request: coordinated
omission). Here requests arrive on a fixed schedule whatever the answers do, each latency is
measured from the instant its request was due, so queueing counts, and a phase is bounded: what
is unanswered 5 s after its end is given up and counted as an error. Absolute rates do not carry
between machines, so the rates are set in the same run from closed-loop ceilings (16
connections, 10 s) of three apps: a bare FastAPI + uvicorn app returning a fixed card-sized JSON
(the floor), the card-only app of api_lookup.py (tierkit's card code, no authentication or
middleware) and `tierkit serve` (one worker, agent key, random ids of N graded customers). Then,
`--seconds` each:

1. at half the floor's ceiling (the issue's rate): the floor, then tierkit while `tierkit grade`
   publishes a new run and `tierkit import orders` adds a file (both started with the phase);
2. at half tierkit's own ceiling (a rate it can sustain): the floor, the card-only app, then
   tierkit while a second grading publishes and a second file is imported.

The target (issue 15): tierkit's p99 within 3x the floor's p99 at the same rate, 0 errors.
`--nice 19` starts the phases' grading and import at the lowest CPU priority (how to run them
beside a server on one machine). Each phase reports its latencies by 5-second window (`by_5s`):
a stall shows as a plateau, a server starved of CPU as a hump while the grading runs.
`--soak SECONDS` adds a last phase: tierkit alone at the second rate for that long, sampling the
server's resident and private memory and open files every 10 s (target: memory grows < 10%).
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
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
# the closed-loop client, the apps and the shop
from api_lookup import (
    CARD_ONLY_APP,
    FLOOR_APP,
    ORDERS,
    free_port,
    load,
    serve,
    settle,
    shop,
    start_uvicorn,
    wait_for_port,
)

GRACE = 5.0  # seconds an open-model phase waits for its last answers


async def _ask(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], path: str, key: str) -> int:
    reader, writer = conn
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(int(v.split(b":", 1)[1]) for v in head.split(b"\r\n") if v.lower().startswith(b"content-length"))
    await reader.readexactly(length)
    return int(head.split(b" ", 2)[1])


async def open_model(port: int, key: str, ids: list[str], rate: float, seconds: float) -> dict[str, Any]:
    """Requests due every 1/rate s over a pool of keep-alive connections; latency from the due time.
    Bounded: what is not answered GRACE seconds after the last request was due is given up and
    counted (`unanswered`, also in `errors`), so a server slower than the rate ends the phase too."""
    loop = asyncio.get_running_loop()
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(64):
        pool.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    latencies: list[float] = []
    windows: dict[int, list[float]] = {}  # latencies by the 5-second window their request was due in
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
        windows.setdefault(int((due - start) // 5), []).append(latencies[-1])

    start = loop.time() + 0.1
    pending: set[asyncio.Task[None]] = set()
    for i in range(int(rate * seconds)):
        due = start + i / rate
        pause = due - loop.time()
        if pause > 0:
            await asyncio.sleep(pause)
        task = asyncio.create_task(fire(due, f"/customers/{ids[rng.randrange(len(ids))]}"))
        pending.add(task)
        task.add_done_callback(pending.discard)
    unanswered = 0
    if pending:
        _done, late = await asyncio.wait(set(pending), timeout=GRACE)
        unanswered = len(late)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
    while not pool.empty():
        pool.get_nowait()[1].close()
    ordered = sorted(latencies)

    def at(q: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2) if ordered else 0.0

    return {
        "rate_per_second": rate,
        "requests": len(ordered) + unanswered,
        "p50_ms": at(0.5),
        "p99_ms": at(0.99),
        "p999_ms": at(0.999),
        "errors": len(errors) + unanswered,
        "unanswered": unanswered,
        "error_kinds": dict(Counter(errors)),
        "by_5s": [  # [seconds into the phase, p50 ms, max ms]: a stall is a plateau, starved CPU a hump
            [5 * w, round(1000 * sorted(v)[len(v) // 2], 1), round(1000 * max(v), 1)]
            for w, v in sorted(windows.items())
        ],
    }


def soak(server: subprocess.Popen[bytes], port: int, key: str, ids: list[str], rate: float, seconds: float) -> Any:
    """The server's memory and open files every 10 s while it serves at `rate`. Resident memory
    counts the pages of the memory-mapped lookup files a random id touches for the first time
    (shared with the page cache, given back under pressure), so the private part (resident minus
    shared) is reported beside it: that is where a leak would show."""
    proc = psutil.Process(server.pid)
    samples: list[tuple[float, int, int, int]] = []

    async def sample() -> None:
        while True:
            memory = proc.memory_info()
            samples.append((time.monotonic(), memory.rss, memory.rss - memory.shared, proc.num_fds()))
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
        "private_mb": [round(s[2] / 2**20, 1) for s in samples],
        "fds": [s[3] for s in samples],
        "rss_growth": round(last[1] / first[1] - 1, 3),
        "private_growth": round(last[2] / first[2] - 1, 3),
    }


def ceiling(port: int, key: str, ids: list[str]) -> float:
    """Requests/s sustained in a closed loop (16 connections, 10 s)."""
    return float(asyncio.run(load(port, key, ids, 10.0, 16))["per_second"])


def while_busy(ws: Path, extra: Path, phase: Any, nice: int) -> tuple[Any, dict[str, bool]]:
    """`phase()` while `tierkit grade` publishes a new run and `tierkit import orders` adds `extra`
    (both at niceness `nice`: 0 as started by hand, 19 when they yield the cores to the server)."""
    tk = ["nice", "-n", str(nice), sys.executable, "-m", "tierkit.cli"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    grading = subprocess.Popen([*tk, "grade", "-w", str(ws), "--as-of", "2026-09-30", "--json"], **quiet)  # type: ignore[call-overload]
    importing = subprocess.Popen([*tk, "import", "orders", str(extra), "-w", str(ws), "--json"], **quiet)  # type: ignore[call-overload]
    found = phase()
    finished = {"grading": grading.poll() is not None, "import": importing.poll() is not None}
    grading.wait()
    importing.wait()
    return found, finished


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--soak", type=float, default=0.0)
    parser.add_argument("--nice", type=int, default=0, help="niceness of the phases' grading and import (19: lowest)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="tierkit-bench-load-"))
    ws, key = shop(folder, args.customers)
    base = folder / "orders.parquet"  # imported, so that the phases' imports add to the shop's orders
    (ws / "data" / "orders.parquet").rename(base)  # (imported parts take the place of data/orders.parquet)
    subprocess.run([sys.executable, "-m", "tierkit.cli", "import", "orders", str(base), "-w", str(ws), "--json"],
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    extras = [folder / f"more-orders-{n}.csv" for n in (1, 2)]
    for n, extra in enumerate(extras, 1):
        more = folder / f"more-{n}.parquet"
        duckdb.sql(ORDERS.format(customers=args.customers, rows=100_000, path=more))
        duckdb.sql(f"COPY (SELECT * REPLACE ('X{n}' || order_id AS order_id) FROM '{more}') TO '{extra}'")
    ids = [f"{i:08d}" for i in random.Random(7).sample(range(args.customers), min(50_000, args.customers))]
    ports = {"tierkit": free_port(), "floor": free_port(), "card_only": free_port()}
    server = serve(ws, ports["tierkit"])
    others = []
    try:
        wait_for_port(ports["tierkit"])
        asyncio.run(load(ports["tierkit"], key, ids[:2000], 5.0, 4))  # warm: the lookup file is built on first use
        sample = subprocess.run(
            ["curl", "-sf", "-H", f"Authorization: Bearer {key}", f"http://127.0.0.1:{ports['tierkit']}/customers/{ids[0]}"],
            capture_output=True, check=True).stdout  # fmt: skip
        (folder / "card.json").write_bytes(sample)
        env = {"TIERKIT_BENCH_BODY": str(folder / "card.json"), "TIERKIT_BENCH_WORKSPACE": str(ws)}
        others = [start_uvicorn(folder, name, app, ports[name], 1, env)
                  for name, app in (("floor", FLOOR_APP), ("card_only", CARD_ONLY_APP))]  # fmt: skip
        for port in ports.values():
            wait_for_port(port)
        asyncio.run(load(ports["card_only"], key, ids[:1000], 3.0, 4))
        for name, process in zip(("tierkit", "floor", "card_only"), (server, *others), strict=True):
            print(f"{name} settled after {settle(process.pid)} s", file=sys.stderr)  # lookups read, history joined
        ceilings = {name: ceiling(port, key, ids) for name, port in ports.items()}
        rate = round(ceilings["floor"] / 2)  # the rate: half of what the floor sustains
        own = round(ceilings["tierkit"] / 2)  # a rate tierkit sustains: half its own ceiling
        floor = {r: asyncio.run(open_model(ports["floor"], key, ids, r, args.seconds)) for r in (rate, own)}
        card_only = asyncio.run(open_model(ports["card_only"], key, ids, own, args.seconds))
        at_rate, finished = while_busy(
            ws, extras[0], lambda: asyncio.run(open_model(ports["tierkit"], key, ids, rate, args.seconds)), args.nice
        )
        at_own, finished_own = while_busy(
            ws, extras[1], lambda: asyncio.run(open_model(ports["tierkit"], key, ids, own, args.seconds)), args.nice
        )
        soaked = soak(server, ports["tierkit"], key, ids, own, args.soak) if args.soak else None
    finally:
        for process in [server, *others]:
            process.terminate()
            process.wait(timeout=60)
    report = {
        "customers": args.customers,
        "nice": args.nice,
        "closed_loop_ceilings_per_second": ceilings,
        "half_the_floor": {
            "floor": floor[rate],
            "tierkit_while_grading_and_importing": at_rate,
            "finished_within_the_phase": finished,
            "p99_ratio": round(at_rate["p99_ms"] / floor[rate]["p99_ms"], 2) if floor[rate]["p99_ms"] else None,
        },
        "half_tierkit_ceiling": {
            "floor": floor[own],
            "card_only": card_only,
            "tierkit_while_grading_and_importing": at_own,
            "finished_within_the_phase": finished_own,
            "p99_ratio": round(at_own["p99_ms"] / floor[own]["p99_ms"], 2) if floor[own]["p99_ms"] else None,
        },
        "soak": soaked,
    }
    print(json.dumps(report, indent=2))
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
