"""Rate limits per API key (429) and request size limits (413), as ASGI middleware.

A token bucket per key: `rate` requests a second on average, `burst` at once. The limit is per
process; with several workers each keeps its own buckets.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

Scope = dict[str, Any]


class RequestLimits:
    def __init__(self, app: Any, rate: float, burst: int, max_body: int) -> None:
        self.app, self.rate, self.burst, self.max_body = app, rate, burst, max_body
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def _allowed(self, key: str) -> bool:
        if self.rate <= 0:
            return True
        now = time.monotonic()
        with self._lock:
            if key not in self._buckets and len(self._buckets) >= 10_000:
                # many keys at once (most of them guessed): they share one bucket from now on
                key = "*"
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                return False
            self._buckets[key] = (tokens - 1, now)
            return True

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _reply(send, 413, f"request body over {self.max_body} bytes")
            return
        key = headers.get("authorization", "")
        if key and not self._allowed(key):
            await _reply(send, 429, "too many requests for this API key; slow down", {"retry-after": "1"})
            return
        seen = 0

        async def limited_receive() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except BodyTooLarge:
            await _reply(send, 413, f"request body over {self.max_body} bytes")


class BodyTooLarge(Exception):
    """Raised from inside `receive` when a streamed body passes the limit."""


async def _reply(send: Any, code: int, detail: str, extra: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": code, "headers": headers})
    await send({"type": "http.response.body", "body": body})
