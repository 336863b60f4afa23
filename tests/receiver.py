"""A webhook receiver on 127.0.0.1 for the tests and the alerts benchmark: it checks each POST's
signature as docs/operations.md tells a receiver to (its own HMAC, not tierkit's code), keeps
what arrived, and can be told to fail, to answer late, or to fail the first N POSTs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Behaviour:
    status: int = 200
    delay: float = 0.0  # seconds before answering
    fail_first: int = 0  # POSTs answered 500 before `status` applies


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    signature_ok: bool

    @property
    def payload(self) -> Any:
        return json.loads(self.body)

    @property
    def events(self) -> list[dict[str, Any]]:
        found = self.payload
        return found.get("events", [found])  # type: ignore[no-any-return]


@dataclass
class Receiver:
    secret: str = ""
    behaviour: Behaviour = field(default_factory=Behaviour)
    posts: list[Received] = field(default_factory=list)
    answered: int = 0
    keep: bool = True  # keep each POST (a benchmark only counts events)
    events: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def delivered_ids(self) -> list[str]:
        """Event ids of the POSTs answered 2xx (what tierkit may count as delivered)."""
        return [e["id"] for p in self.posts if p.headers.get("x-answered", "").startswith("2") for e in p.events]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver
            disable_nagle_algorithm = True  # no 40 ms wait for a delayed ACK between headers and body

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                stamp = self.headers.get("X-Tierkit-Timestamp", "")
                given = self.headers.get("X-Tierkit-Signature", "")
                mac = hmac.new(receiver.secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
                with receiver._lock:
                    receiver.answered += 1
                    failing = receiver.answered <= receiver.behaviour.fail_first
                status = 500 if failing else receiver.behaviour.status
                headers = {k.lower(): v for k, v in self.headers.items()} | {"x-answered": str(status)}
                got = Received(headers, body, hmac.compare_digest(given, f"sha256={mac}"))
                if receiver.behaviour.delay:
                    time.sleep(receiver.behaviour.delay)
                with receiver._lock:
                    receiver.events += len(got.events)
                    if receiver.keep:
                        receiver.posts.append(got)
                answer = b"ok" if status < 300 else b"receiver is failing"
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:  # the sender gave up (a timeout): nothing to answer
                    pass

        return Handler
