"""Slow, idle and oversized connections against a real uvicorn server (in a thread, on loopback)
running tierkit's guarded protocol, with its time-outs shortened so the test is quick.

Each case is a raw socket doing what an adversarial pass did: connect and say nothing, trickle
the headers, trickle the body, send 8 MB of headers, stay idle after a response. The oracle is
what comes back (408 or 431, then the connection closed) and how soon.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from tests.api.conftest import Served, make_workspace
from tierkit.api.app import create_app
from tierkit.app import connections as guard
from tierkit.app.serving import Settings
from tierkit.cli.app import app as cli

HEAD, BODY, KEEP = 0.5, 0.5, 1


class Quick(guard.GuardedHttpTools):
    head_timeout = HEAD
    body_timeout = BODY


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Served:
    return make_workspace(tmp_path_factory.mktemp("connections") / "ws", "sqlite", customers=40)


@pytest.fixture(scope="module")
def port(shop: Served) -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = int(probe.getsockname()[1])
    app = create_app(shop.workspace.root, Settings(rate_per_second=0))
    options = {**guard.uvicorn_options(), "http": Quick, "timeout_keep_alive": KEEP}
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free, log_level="error", **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield free
    server.should_exit = True
    thread.join(10)


def _connect(port: int) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    return conn


def _until_closed(conn: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and how long that took."""
    started, got = time.monotonic(), b""
    while True:
        try:
            chunk = conn.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        got += chunk
    return got, time.monotonic() - started


def test_a_connection_that_says_nothing_is_closed(port: int) -> None:
    with _connect(port) as conn:
        got, took = _until_closed(conn)
    assert got.startswith(b"HTTP/1.1 408 ") and took < HEAD + 1.5, (got[:80], took)


def test_trickled_headers_are_cut_off(port: int) -> None:
    with _connect(port) as conn:
        conn.sendall(b"GET /health HTTP/1.1\r\nHost: tierkit\r\n")
        started = time.monotonic()
        closed = False
        for i in range(40):  # a header every 0.1 s: four seconds' worth, never ending the head
            try:
                conn.sendall(b"X-Slow-%d: a\r\n" % i)
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            time.sleep(0.1)
            conn.setblocking(False)
            try:
                if conn.recv(65536, socket.MSG_PEEK):
                    closed = True
                    break
            except BlockingIOError:
                pass
            finally:
                conn.setblocking(True)
        took = time.monotonic() - started
        got, _ = _until_closed(conn)
    assert closed and took < HEAD + 1.0, took
    assert got.startswith(b"HTTP/1.1 408 "), got[:80]


def test_a_trickled_body_is_cut_off(port: int, shop: Served) -> None:
    key = shop.keys["agent"]
    head = (
        f"POST /customers/00000001/contacts HTTP/1.1\r\nHost: tierkit\r\nAuthorization: Bearer {key}\r\n"
        "content-type: application/json\r\ncontent-length: 100\r\n\r\n"
    )
    with _connect(port) as conn:
        conn.sendall(head.encode() + b'{"channel": ')
        got, took = _until_closed(conn)
    assert got.startswith(b"HTTP/1.1 408 ") and took < BODY + 1.5, (got[:80], took)


def test_eight_megabytes_of_headers_are_refused(port: int) -> None:
    with _connect(port) as conn:
        started = time.monotonic()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # refused before it was all sent
            conn.sendall(b"GET /health HTTP/1.1\r\nHost: tierkit\r\nX-Big: " + b"a" * (8 * 1024 * 1024) + b"\r\n\r\n")
        got, _ = _until_closed(conn)
    assert got.startswith(b"HTTP/1.1 431 "), got[:80]
    assert time.monotonic() - started < 10


def test_an_idle_kept_alive_connection_is_closed_and_good_requests_pass(port: int) -> None:
    with _connect(port) as conn:
        conn.sendall(b"GET /health HTTP/1.1\r\nHost: tierkit\r\n\r\n")
        first = conn.recv(65536)
        assert first.startswith(b"HTTP/1.1 200 ") and b'"status":"ok"' in first, first[:200]
        got, took = _until_closed(conn)  # nothing more asked: closed after the keep-alive time-out
    assert got == b"" and KEEP - 0.5 < took < KEEP + 1.5, took


def test_tierkit_serve_hands_uvicorn_the_guarded_protocol(shop: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: seen.update(kwargs))
    result = CliRunner().invoke(cli, ["serve", "-w", str(shop.workspace.root)])
    assert result.exit_code == 0, result.output
    assert seen["http"] is guard.GuardedHttpTools
    assert seen["timeout_keep_alive"] == guard.KEEP_ALIVE == 5
    assert seen["limit_concurrency"] == guard.MAX_CONNECTIONS
    assert guard.GuardedHttpTools.head_timeout == guard.HEAD_TIMEOUT == 10.0
    assert guard.GuardedHttpTools.body_timeout == guard.BODY_TIMEOUT == 30.0
    assert guard.GuardedHttpTools.max_head == guard.MAX_HEAD == 32 * 1024
