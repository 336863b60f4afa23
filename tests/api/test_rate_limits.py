"""The rate limiter holds whatever the client sends: per verified identity and per client address.

Each test counts the answers over HTTP (TestClient) against what the token buckets allow: at
most `burst` requests, plus what the rate refills while the test runs. A small ASGI shim sets
the client address from a test header, so that one test can come from many addresses.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Served, make_workspace
from tierkit.api.app import create_app
from tierkit.api.limits import ADDRESS_FACTOR, Buckets
from tierkit.app.serving import Settings
from tierkit.runs.files import store_of
from tierkit.store.users import add_user

RATE, BURST = 2.0, 5


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Served:
    return make_workspace(tmp_path_factory.mktemp("limits") / "ws", "sqlite", customers=60)


def _addressed(app: Any) -> Any:
    """The app, with the client's address taken from `x-test-address` (a test's many clients)."""

    async def shim(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name == b"x-test-address":
                    scope = {**scope, "client": (value.decode(), 50000)}
        await app(scope, receive, send)

    return shim


@pytest.fixture
def client(shop: Served) -> Iterator[TestClient]:
    app = create_app(shop.workspace.root, Settings(rate_per_second=RATE, burst=BURST, lang="zh"))
    with TestClient(_addressed(app)) as test_client:
        yield test_client


def _allowed(started: float, rate: float = RATE, burst: int = BURST) -> int:
    """The most a bucket lets through since `started`: its burst and what the rate refilled."""
    return burst + int((time.monotonic() - started) * rate) + 1


def test_the_case_of_bearer_does_not_make_a_new_bucket(client: TestClient, shop: Served) -> None:
    key = shop.keys["agent"]
    started = time.monotonic()
    schemes = ("Bearer", "bearer", "BEARER", "BeArEr", "bEARER")
    codes = [
        client.get("/customers/00000001", headers={"Authorization": f"{schemes[i % 5]} {key}"}).status_code
        for i in range(40)
    ]
    passed = sum(code != 429 for code in codes)
    assert codes[:BURST] == [200] * BURST and passed <= _allowed(started), codes
    assert codes.count(429) >= 40 - _allowed(started)


def test_two_authorization_headers_are_a_bad_request(client: TestClient, shop: Served) -> None:
    headers = [("Authorization", f"Bearer {shop.keys['agent']}"), ("Authorization", f"Bearer {shop.keys['admin']}")]
    for _ in range(3):
        answer = client.get("/customers/00000001", headers=headers)
        assert answer.status_code == 400
        assert answer.json() == {"detail": "send one Authorization header, not 2"}


def test_requests_without_a_valid_key_are_limited_per_address(client: TestClient, shop: Served) -> None:
    started = time.monotonic()
    address = {"x-test-address": "10.0.0.1"}
    made_up = [
        client.get("/customers/00000001", headers={**address, "Authorization": f"Bearer tk_{i}"}).status_code
        for i in range(30)
    ]
    assert made_up.count(401) <= _allowed(started) and made_up.count(429) >= 30 - _allowed(started), made_up
    started = time.monotonic()
    nothing = {"x-test-address": "10.0.0.2"}  # no key at all: only the address's own, wider bucket
    codes = [client.get("/customers/00000001", headers=nothing).status_code for _ in range(ADDRESS_FACTOR * BURST + 20)]
    wide = _allowed(started, RATE * ADDRESS_FACTOR, BURST * ADDRESS_FACTOR)
    assert codes.count(401) <= wide and codes.count(429) >= len(codes) - wide, codes
    # another address, with a valid key, is not held up by either
    other = {"x-test-address": "10.0.0.3", **shop.headers("analyst")}
    assert client.get("/customers/00000001", headers=other).status_code == 200


def test_made_up_keys_fill_nothing_and_new_keys_get_their_own_bucket(client: TestClient, shop: Served) -> None:
    async def guess() -> list[int]:  # 10,050 requests: over ASGI directly, a tenth of TestClient's time
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tierkit") as guesser:
            codes = []
            for i in range(10_050):
                headers = {"x-test-address": "10.0.1.1", "Authorization": f"Bearer tk_made_up_{i}"}
                codes.append((await guesser.get("/health", headers=headers)).status_code)
            return codes

    assert set(asyncio.run(guess())) <= {200, 429}
    store = store_of(shop.workspace)
    fresh = [add_user(store, f"fresh-{secrets.token_hex(3)}", "agent") for _ in range(2)]
    for n, key in enumerate(fresh):  # each from its own address, each with its own full burst
        started = time.monotonic()
        headers = {"x-test-address": f"10.0.2.{n}", "Authorization": f"Bearer {key}"}
        codes = [client.get("/customers/00000001", headers=headers).status_code for _ in range(BURST + 3)]
        assert codes[:BURST] == [200] * BURST, (n, codes)
        assert codes.count(200) <= _allowed(started), (n, codes)


def test_the_bucket_table_is_bounded_and_forgets_idle_buckets() -> None:
    buckets = Buckets(rate=10.0, burst=20, cap=1000)
    now = 1000.0
    for i in range(50_000):
        assert buckets.take(f"client-{i}", now)
    assert len(buckets) <= 1000
    for _ in range(20):
        buckets.take("busy", now)
    assert not buckets.take("busy", now)  # its burst is spent
    assert len(buckets) <= 1000
    later = now + 20 / 10.0  # every bucket is full again by then: none needs remembering
    assert buckets.take("busy", later) and len(buckets) == 1
