"""What a connection may do before the app sees its request: uvicorn's HTTP protocol, with
time-outs and a size cap on the request head.

Why: uvicorn times out only an idle keep-alive connection (`timeout_keep_alive`). A client that
connects and sends nothing, or trickles its headers or its body a byte at a time, held its
connection (and the memory of what it sent) for ever: an adversarial pass held 300 + 300 +
3,000 such connections open, and sent 8 MB of headers that were read whole. `tierkit serve`
runs this protocol (`http=GuardedHttpTools`) with these limits (the application layer holds it,
since the command line may not import the API):

- HEAD_TIMEOUT: from the connection (or the first byte of the next request on a kept-alive
  one) to the end of the request's headers; past it, `408` and the connection is closed;
- BODY_TIMEOUT: from the end of the headers to the end of the body; past it, `408` and closed;
- MAX_HEAD: the request line and headers, in bytes; past it, `431` and closed (the parser's
  buffer never grows past it by more than one read);
- KEEP_ALIVE: seconds an idle kept-alive connection stays open (uvicorn's `timeout_keep_alive`);
- MAX_CONNECTIONS: connections and requests one worker takes at once (uvicorn's
  `limit_concurrency`); past it, `503`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEAD_TIMEOUT = 10.0  # seconds
BODY_TIMEOUT = 30.0  # seconds (a body is at most 64 KiB: RequestLimits)
MAX_HEAD = 32 * 1024  # bytes: browsers send under 8 KiB, with cookies
KEEP_ALIVE = 5  # seconds
MAX_CONNECTIONS = 1000  # per worker process

REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


class GuardedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline for the head and the body of each request
    and a cap on the size of the head (see the module's text)."""

    head_timeout = HEAD_TIMEOUT
    body_timeout = BODY_TIMEOUT
    max_head = MAX_HEAD

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._head_bytes = 0
        self._deadline: asyncio.TimerHandle | None = None

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._refuse, 408, "request too slow")

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _refuse(self, status: int, text: str) -> None:
        """Answer `status` (unless a response has begun) and close the connection."""
        self._disarm()
        if self.transport.is_closing():
            return
        if self.cycle is None or not self.cycle.response_started:
            body = text.encode()
            self.transport.write(
                b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n"
                b"connection: close\r\n\r\n%s" % (status, REASONS[status], len(body), body)
            )
        self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.head_timeout)  # a connection that sends nothing is closed too

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._in_head and self._head_bytes > self.max_head:
            self._refuse(431, f"request headers over {self.max_head} bytes")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._in_head:  # the next request on a kept-alive connection
            self._in_head, self._head_bytes = True, 0
        if self._deadline is None:
            self._arm(self.head_timeout)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._arm(self.body_timeout)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        self._in_head, self._head_bytes = True, 0
        super().on_response_complete()  # arms uvicorn's keep-alive time-out until the next byte


def uvicorn_options() -> dict[str, Any]:
    """The protocol and limits `tierkit serve` hands uvicorn."""
    return {
        "http": GuardedHttpTools,
        "timeout_keep_alive": KEEP_ALIVE,
        "limit_concurrency": MAX_CONNECTIONS,
        "h11_max_incomplete_event_size": MAX_HEAD,
    }
