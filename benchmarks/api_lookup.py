"""Card lookups of `tierkit serve` against the HTTP stack's own floor, same client, same run.

    python benchmarks/api_lookup.py [--customers 1000000] [--runs 12] [--seconds 10] [--rounds 3]
                                    [--connections 16] [--workers 1]

Absolute requests/s do not carry between machines (the same script gave 1,739/s on one and
425-498/s on another of the same kind), so every figure here is a ratio against apps measured
by the same client in the same run, phases interleaved (floor, tierkit, card-only, floor, ...):

- **floor**: a bare FastAPI + uvicorn app whose one route (a plain `def`, as tierkit's card
  route was until it was built on the event loop) returns a fixed card-sized JSON (a real agent
  card, fetched from tierkit first): FastAPI hands a `def` route to a worker thread and back;
- **floor_async**: the same with an `async def` route, on the event loop: the HTTP stack alone,
  the lowest floor there is (tierkit's card route is `async def` now, and hands a card to a
  thread only when it must wait: tierkit/api/answering.py);
- **tierkit**: `tierkit serve`, GET /customers/{id} with an agent key (authentication, rate
  limits (on: the limit is set above the load), audit, masking, the card, serialisation);
- **card-only**: a bare FastAPI app whose route builds the same agent card with tierkit's code
  (`full_card` + the response model, on the event loop as tierkit's route does) with no
  authentication, rate limit or middleware: the floor of the card's own work.

After a warm-up, every server is left until it is idle (`settle`: a server just started reads
its lookups and joins the tier history in the background), then each phase drives
GET /customers/{id} for random ids over `--connections` keep-alive
connections (an asyncio client in this process) for `--seconds`. The rounds run twice: alone,
then while `tierkit grade --no-publish` grades the workspace again and again in another process.
`--workers N` starts every app with N worker processes. Prints requests/s, p50/p99 and errors of
each phase (and the server's CPU per request, its processes' from /proc: whether a server is
the limit, and what a request costs it), and the medians' ratios tierkit/floor and
tierkit/floor_async (requests/s and p99). The issue-16 target: requests/s ratio >= 0.60 and
p99 ratio <= 2.0. `--alone` skips the rounds while grading.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

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

# the floor: FastAPI + uvicorn returning fixed bytes (TIERKIT_BENCH_BODY), as `python -m uvicorn floor:app`
FLOOR_APP = """
import os
from fastapi import FastAPI
from fastapi.responses import Response
body = open(os.environ["TIERKIT_BENCH_BODY"], "rb").read()
app = FastAPI()
@app.get("/customers/{customer_id}")
def card(customer_id: str) -> Response:
    return Response(body, media_type="application/json")
"""

# the floor without the thread: the same route as `async def`
FLOOR_ASYNC_APP = FLOOR_APP.replace("def card(", "async def card(")

# the card's own work: tierkit's agent card with no authentication, limits or middleware
CARD_ONLY_APP = """
import os
from pathlib import Path
from fastapi import FastAPI
from fastapi.responses import Response
from tierkit.api.answering import answered
from tierkit.api.schemas import AgentCard
from tierkit.app.card import full_card
from tierkit.app.customers import Caller
from tierkit.app.serving import ServedWorkspace
served = ServedWorkspace.open(Path(os.environ["TIERKIT_BENCH_WORKSPACE"]))
served.histories.start()  # a serving process, as tierkit.api.app makes it: the tier history joined
caller = Caller("bench", "agent")
app = FastAPI()
@app.get("/customers/{customer_id}")
async def card(customer_id: str) -> Response:
    work = lambda: AgentCard(**full_card(served, customer_id, caller)).model_dump_json()
    return Response(await answered(work), media_type="application/json")
"""


def tierkit(*args: str, capture: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tierkit.cli", *args], capture_output=capture, text=True, check=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int) -> None:
    for _ in range(600):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


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
    """Closed loop: each connection sends its next request when the last one is answered."""
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
        # the stalls: one request in a thousand, and the slowest (a card waiting for a new run)
        "p999_ms": round(1000 * ordered[int(0.999 * (len(ordered) - 1))], 2) if ordered else 0.0,
        "max_ms": round(1000 * ordered[-1], 2) if ordered else 0.0,
        "errors": len(errors),
    }


def start_uvicorn(folder: Path, module: str, source: str, port: int, workers: int, env: dict[str, str]) -> Any:
    (folder / f"{module}.py").write_text(source)
    command = [sys.executable, "-m", "uvicorn", f"{module}:app", "--app-dir", str(folder), "--port", str(port)]
    command += ["--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    return subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def serve(ws: Path, port: int, workers: int = 1) -> subprocess.Popen[bytes]:
    """`tierkit serve` with its rate limits on, set above what one client can send."""
    command = ["serve", "-w", str(ws), "--port", str(port), "--rate-limit", "1000000", "--burst", "1000000"]
    return subprocess.Popen(
        [sys.executable, "-m", "tierkit.cli", *command, "--workers", str(workers)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def shop(folder: Path, customers: int, runs: int = 12) -> tuple[Path, str]:
    """A workspace whose published run grades `customers` (3 orders each), after `runs - 1`
    monthly gradings before it (a year of runs: a card's tier history reads twelve, and a shop
    with one run would time a card lighter than any shop has), and an agent key."""
    ws = folder / "ws"
    tierkit("init", str(ws))
    duckdb.sql(ORDERS.format(customers=customers, rows=3 * customers, path=ws / "data" / "orders.parquet"))
    for months in range(runs - 1, 0, -1):
        as_of = (dt.date(2026, 10, 1) - dt.timedelta(days=30 * months + 1)).isoformat()
        tierkit("grade", "-w", str(ws), "--as-of", as_of, "--no-publish", "--json")
    tierkit("grade", "-w", str(ws), "--as-of", "2026-09-30", "--json")
    key = json.loads(tierkit("users", "add", "bench", "--role", "agent", "-w", str(ws), "--json").stdout)["key"]
    return ws, key


class Gradings:
    """`tierkit grade --no-publish` of the workspace, one after the other, until stopped."""

    def __init__(self, ws: Path) -> None:
        self.ws, self.count, self._stop = ws, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "tierkit.cli",
                    "grade",
                    "-w",
                    str(self.ws),
                    "--as-of",
                    "2026-09-30",
                    "--no-publish",
                    "--json",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            self.count += 1

    def __enter__(self) -> Gradings:
        self._thread.start()
        time.sleep(2.0)  # the first grading past its start-up
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) of a process and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    family, total = {pid}, 0.0
    while True:
        more = {child for child, parent in parents.items() if parent in family} - family
        if not more:
            break
        family |= more
    for member in family:
        try:
            with open(f"/proc/{member}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            continue
    return total


def settle(pid: int, quiet: float = 0.05, longest: float = 120.0) -> float:
    """Seconds waited until a server's processes are idle (under `quiet` CPU seconds in one
    second): a server just started reads its lookups and joins the tier history of a year of
    runs in the background for some seconds after its first cards, and a phase measured then
    times that start, not the cards."""
    started = time.monotonic()
    before = cpu_seconds(pid)
    while time.monotonic() - started < longest:
        time.sleep(1.0)
        now = cpu_seconds(pid)
        if now - before < quiet:
            break
        before = now
    return round(time.monotonic() - started, 1)


MEASURES = ("per_second", "p50_ms", "p99_ms", "p999_ms", "max_ms", "server_cpu_us")


def rounds(
    ports: dict[str, int], pids: dict[str, int], key: str, ids: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    """`--rounds` rounds of one phase per app, interleaved; each app's phases and medians, with
    the server's CPU per request (its processes', from /proc): what each request costs it."""
    phases: dict[str, list[dict[str, float]]] = {name: [] for name in ports}
    for _ in range(args.rounds):
        for name, port in ports.items():
            before = cpu_seconds(pids[name])
            phase = asyncio.run(load(port, key, ids, args.seconds, args.connections))
            used = cpu_seconds(pids[name]) - before
            phase["server_cpu_us"] = round(1e6 * used / phase["requests"]) if phase["requests"] else 0.0
            phases[name].append(phase)
    median = {
        name: {m: statistics.median(p[m] for p in runs) for m in MEASURES} | {"errors": sum(p["errors"] for p in runs)}
        for name, runs in phases.items()
    }
    floor, own, card = median["floor"], median["tierkit"], median["card_only"]
    bare = median["floor_async"]
    return {
        "phases": phases,
        "median": median,
        "tierkit_to_floor_rps": round(own["per_second"] / floor["per_second"], 3),
        "tierkit_to_floor_p99": round(own["p99_ms"] / floor["p99_ms"], 2),
        "tierkit_to_floor_p999": round(own["p999_ms"] / floor["p999_ms"], 2),
        "tierkit_to_floor_async_rps": round(own["per_second"] / bare["per_second"], 3),
        "tierkit_to_floor_async_p99": round(own["p99_ms"] / bare["p99_ms"], 2),
        "card_only_to_floor_rps": round(card["per_second"] / floor["per_second"], 3),
        "tierkit_to_card_only_rps": round(own["per_second"] / card["per_second"], 3),
        "server_cpu_us": {name: m["server_cpu_us"] for name, m in median.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=12, help="runs graded in the shop (the tier history reads 12)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--alone", action="store_true", help="no rounds while grading")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="tierkit-bench-api-"))
    started = time.perf_counter()
    ws, key = shop(folder, args.customers, args.runs)
    print(f"graded {args.customers:,} customers in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    ports = {"floor": free_port(), "floor_async": free_port(), "tierkit": free_port(), "card_only": free_port()}
    servers = [serve(ws, ports["tierkit"], args.workers)]
    try:
        wait_for_port(ports["tierkit"])
        ids = [f"{i:08d}" for i in random.Random(7).sample(range(args.customers), min(50_000, args.customers))]
        asyncio.run(load(ports["tierkit"], key, ids[:1000], 5.0, 4))  # warm: the lookup file is built on first use
        body = folder / "card.json"
        body.write_bytes(subprocess.run(
            ["curl", "-sf", "-H", f"Authorization: Bearer {key}", f"http://127.0.0.1:{ports['tierkit']}/customers/{ids[0]}"],
            capture_output=True, check=True).stdout)  # fmt: skip
        env = {"TIERKIT_BENCH_BODY": str(body), "TIERKIT_BENCH_WORKSPACE": str(ws)}
        servers.append(start_uvicorn(folder, "floor", FLOOR_APP, ports["floor"], args.workers, env))
        servers.append(start_uvicorn(folder, "floor_async", FLOOR_ASYNC_APP, ports["floor_async"], args.workers, env))
        servers.append(start_uvicorn(folder, "card_only", CARD_ONLY_APP, ports["card_only"], args.workers, env))
        for port in ports.values():
            wait_for_port(port)
            asyncio.run(load(port, key, ids[:1000], 2.0, 4))
        pids = dict(zip(("tierkit", "floor", "floor_async", "card_only"), (s.pid for s in servers), strict=True))
        for name, pid in pids.items():  # their lookups read and the tier history joined
            print(f"{name} settled after {settle(pid)} s", file=sys.stderr)
        alone = rounds(ports, pids, key, ids, args)
        busy: dict[str, Any] = {}
        if not args.alone:
            with Gradings(ws) as gradings:
                busy = rounds(ports, pids, key, ids, args) | {"gradings_run": gradings.count}
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=60)
    report = {
        "customers": args.customers,
        "connections": args.connections,
        "workers": args.workers,
        "card_bytes": body.stat().st_size,
        "alone": alone,
        "while_grading": busy,
    }
    print(json.dumps(report, indent=2))
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
