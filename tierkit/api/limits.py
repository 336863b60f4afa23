"""Rate limits (429) and request size limits (400, 413), as ASGI middleware.

Token buckets: `rate` requests a second on average, `burst` at once. What they are keyed by is
what a client cannot choose freely (an earlier version keyed them by the raw Authorization
header, so `bearer` in another case, a second header or 10,000 made-up keys each got a fresh
bucket):

- per **verified identity**: the user a valid key belongs to (`rate`, `burst`);
- per **client address**, every request (`ADDRESS_FACTOR` times the rate and burst: a call
  centre behind one NAT address is many agents);
- per client address, requests whose key is not valid (unknown, disabled, another scheme) at
  `rate` and `burst`: guessing keys is slow, and costs no state.

Buckets live in a `Buckets` table with a hard cap (least recently used out first) that forgets a
bucket as soon as it would be full again, so memory is bounded whatever clients send. Two
Authorization headers are a 400: which one would count is ambiguous. The limits are per process;
with several workers each keeps its own buckets.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.exceptions import HTTPException

Scope = dict[str, Any]
Identify = Callable[[str], Awaitable[str | None]]  # an API key -> the user it belongs to, or None

ADDRESS_FACTOR = 10  # an address may send this many times what one key may
MAX_BUCKETS = 100_000  # per table: a few MB at most


class Buckets:
    """Token buckets by key, at most `cap` of them (the least recently used go first); a bucket
    idle long enough to have refilled is dropped, since a fresh one is the same."""

    def __init__(self, rate: float, burst: int, cap: int = MAX_BUCKETS) -> None:
        self.rate, self.burst, self.cap = rate, float(burst), cap
        self.full_after = self.burst / rate if rate > 0 else 0.0
        self._table: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._table)

    def take(self, key: str, now: float | None = None) -> bool:
        """Spend one token of `key`'s bucket; False when it has none left."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._table.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            allowed = tokens >= 1
            self._table[key] = (tokens - 1 if allowed else tokens, now)  # now the most recent
            while self._table:
                oldest = next(iter(self._table.values()))
                if len(self._table) <= self.cap and now - oldest[1] < self.full_after:
                    break
                self._table.popitem(last=False)
            return allowed


class RequestLimits:
    def __init__(self, app: Any, rate: float, burst: int, max_body: int, identify: Identify) -> None:
        self.app, self.rate, self.max_body, self.identify = app, rate, max_body, identify
        self.users = Buckets(rate, burst)
        self.addresses = Buckets(rate * ADDRESS_FACTOR, burst * ADDRESS_FACTOR)
        self.unverified = Buckets(rate, burst)

    async def _over(self, scope: Scope, authorization: str | None) -> str | None:
        """Which limit this request is over, in words, or None."""
        if self.rate <= 0:
            return None
        client = scope.get("client")
        address = str(client[0]) if client else "?"
        if not self.addresses.take(address):
            return "too many requests from this address; slow down"
        if authorization is None:
            return None
        scheme, _, key = authorization.partition(" ")
        user = await self.identify(key.strip()) if scheme.lower() == "bearer" and key.strip() else None
        if user is None:
            return None if self.unverified.take(address) else "too many requests with a bad key; slow down"
        return None if self.users.take(user) else "too many requests for this API key; slow down"

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length: str | None = None
        authorization: list[str] = []
        for name, value in scope.get("headers", []):
            lowered = name.lower()
            if lowered == b"content-length":
                length = value.decode("latin-1")
            elif lowered == b"authorization":
                authorization.append(value.decode("latin-1"))
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _reply(send, 413, f"request body over {self.max_body} bytes")
            return
        if len(authorization) > 1:
            await _reply(send, 400, f"send one Authorization header, not {len(authorization)}")
            return
        over = await self._over(scope, authorization[0] if authorization else None)
        if over is not None:
            await _reply(send, 429, over, {"retry-after": "1"})
            return
        seen = 0

        async def limited_receive() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise BodyTooLarge(self.max_body)
            return message

        started = False

        async def watched_send(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge:  # where the app did not answer it itself
            if not started:
                await _reply(send, 413, f"request body over {self.max_body} bytes")


class BodyTooLarge(HTTPException):
    """Raised from inside `receive` when a streamed (chunked) body passes the limit. An
    HTTPException, so that FastAPI answers it as a 413 rather than wrap it as "There was an
    error parsing the body" (400) as it does any other error while reading a body."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over {limit} bytes")


async def _reply(send: Any, code: int, detail: str, extra: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": code, "headers": headers})
    await send({"type": "http.response.body", "body": body})
