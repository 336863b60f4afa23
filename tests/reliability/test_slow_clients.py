"""Slow clients against a real `tierkit serve` (issue 15, part 5): they cannot hold the worker.

tests/api/test_connections.py checks each time-out of tierkit.app.connections on a server in a
thread with the limits shortened. Here the limits are the shipped ones (HEAD_TIMEOUT 10 s,
BODY_TIMEOUT 30 s: docs/reliability.md, "Slow clients"), the server is the command users run
(one worker process), and the slow clients come fifty at once from raw sockets:

- 25 trickle their headers, a line every half second, never ending the head: each is answered
  408 and closed HEAD_TIMEOUT after it connected (the trickle does not renew the deadline);
- 25 send whole headers and then trickle the body, a byte every half second: each is answered
  408 and closed BODY_TIMEOUT after its headers ended;
- while they are all connected, card requests from a normal client answer as before: the
  oracle is the same requests timed just before, without the slow ones, in the same run.

The test lasts about BODY_TIMEOUT seconds (the body time-out is what it waits for).
"""

from __future__ import annotations

import os
import select
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from tests.api.conftest import Served, make_workspace
from tierkit.app.connections import BODY_TIMEOUT, HEAD_TIMEOUT
from tierkit.runs.files import store_of
from tierkit.store.schema import contacts

SLOW = 25  # of each kind
TRICKLE = 0.5  # seconds between two pieces
SLACK = 2.0  # seconds a cut may come late on a busy machine
PROMPT = 2.0  # seconds a normal card request takes at most while the slow clients hold on


@dataclass
class Serve:
    shop: Served
    port: int


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    shop = make_workspace(tmp_path_factory.mktemp("slow-clients") / "ws", "sqlite", customers=40)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    log = shop.workspace.root.parent / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "tierkit", "serve", "-w", str(shop.workspace.root), "--port", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"tierkit serve did not start: {log.read_text('utf-8')[-2000:]}") from None
                time.sleep(0.1)
        yield Serve(shop, port)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)


@dataclass(eq=False)  # a thread must stay hashable
class Trickler(threading.Thread):
    """One slow client: `head` at once, then `pieces` one every TRICKLE seconds, until the server
    answers or closes; what it answered, and when (seconds after the deadline's start)."""

    port: int
    head: bytes
    pieces: bytes
    body: bool  # the deadline starts when the headers are sent (else at the connection)
    got: bytes = b""
    took: float = -1.0

    def __post_init__(self) -> None:
        super().__init__(daemon=True)

    def run(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as conn:
            started = time.monotonic()
            conn.sendall(self.head)
            if self.body:
                started = time.monotonic()
            for piece in self.pieces * 10:
                readable, _, _ = select.select([conn], [], [], TRICKLE)
                if readable:
                    break
                try:
                    conn.sendall(bytes([piece]))
                except OSError:
                    break
                if time.monotonic() - started > BODY_TIMEOUT + 10:
                    return
            self.took = time.monotonic() - started
            conn.settimeout(5)
            try:
                while chunk := conn.recv(65536):
                    self.got += chunk
            except OSError:
                pass


def _card_times(serve: Serve, count: int = 20) -> list[float]:
    times = []
    for i in range(count):
        request = urllib.request.Request(f"http://127.0.0.1:{serve.port}/customers/{i % 40 + 1:08d}")
        request.add_header("Authorization", f"Bearer {serve.shop.keys['agent']}")
        started = time.monotonic()
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.status == 200
            answer.read()
        times.append(time.monotonic() - started)
    return times


def _contacts(serve: Serve) -> int:
    with store_of(serve.shop.workspace).connect() as con:
        return int(con.execute(sa.select(sa.func.count()).select_from(contacts)).scalar() or 0)


def test_fifty_slow_clients_are_cut_at_the_limits_and_cards_stay_prompt(serve: Serve) -> None:
    _card_times(serve)  # warm: the lookup file, the caches, these very cards
    logged = _contacts(serve)
    alone = _card_times(serve)
    key = serve.shop.keys["agent"]
    headers = [
        Trickler(serve.port, b"GET /health HTTP/1.1\r\nHost: tierkit\r\n", b"X-Slow: a\r\n" * 20, body=False)
        for _ in range(SLOW)
    ]
    body_head = (
        f"POST /customers/00000001/contacts HTTP/1.1\r\nHost: tierkit\r\nAuthorization: Bearer {key}\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    ).encode()
    bodies = [
        Trickler(serve.port, body_head, b'{"channel": "phone", "note": "' + b"x" * 200, body=True) for _ in range(SLOW)
    ]
    for client in headers + bodies:
        client.start()
    time.sleep(2 * TRICKLE)  # all connected and trickling
    held = _card_times(serve)
    assert all(c.is_alive() for c in headers + bodies), "a slow client was cut before its limit"
    for client in headers + bodies:
        client.join(BODY_TIMEOUT + 20)

    assert max(held) < PROMPT, held
    assert _contacts(serve) == logged  # no cut body was taken as a contact
    head_cuts = sorted(c.took for c in headers)
    body_cuts = sorted(c.took for c in bodies)
    assert all(c.got.startswith(b"HTTP/1.1 408 ") for c in headers + bodies), {c.got[:40] for c in headers + bodies}
    assert head_cuts[0] > HEAD_TIMEOUT - 0.5 and head_cuts[-1] < HEAD_TIMEOUT + SLACK, head_cuts
    assert body_cuts[0] > BODY_TIMEOUT - 0.5 and body_cuts[-1] < BODY_TIMEOUT + SLACK, body_cuts
    ratio = statistics.median(held) / statistics.median(alone)
    print(
        f"\ncard median {statistics.median(alone) * 1000:.1f} ms alone, {statistics.median(held) * 1000:.1f} ms "
        f"with {2 * SLOW} slow clients (x{ratio:.2f}); headers cut at {head_cuts[0]:.2f}-{head_cuts[-1]:.2f} s, "
        f"bodies at {body_cuts[0]:.2f}-{body_cuts[-1]:.2f} s"
    )
