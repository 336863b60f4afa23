"""A card built on the event loop when it waits on nothing, else again in a thread (api/answering.py).

Each card attempt is recorded with where it ran (the event loop, or a worker thread) and how it
ended; the oracle for what the card shows is what the test itself logged through the API.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Served
from tierkit.api.app import create_app
from tierkit.api.routes import customers as routes
from tierkit.app.serving import ServedWorkspace, Settings
from tierkit.app.waits import WouldWait, blocking, refused


def _on_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@pytest.fixture
def attempts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every card attempt: (where: loop | thread, outcome: card | waited)."""
    seen: list[tuple[str, str]] = []
    original = routes.full_card

    def recorded(*args: Any, **kwargs: Any) -> Any:
        where = "loop" if _on_loop() else "thread"
        try:
            card = original(*args, **kwargs)
        except WouldWait:
            seen.append((where, "waited"))
            raise
        seen.append((where, "card"))
        return card

    monkeypatch.setattr(routes, "full_card", recorded)
    return seen


@pytest.fixture
def client(served: Served) -> Iterator[TestClient]:
    # a pointer and caches trusted for a minute: no refresh falls due between two requests
    settings = Settings(rate_per_second=0, lang="zh", pointer_ttl=60.0)
    with TestClient(create_app(served.workspace.root, settings)) as test_client:
        yield test_client


def test_blocking_refuses_only_where_waits_are_refused(served: Served) -> None:
    blocking("anything")  # outside: nothing happens
    service = ServedWorkspace.open(served.workspace.root)
    try:
        with refused(), pytest.raises(WouldWait, match="the store"):
            _ = service.store
        assert service.store is service.engine  # and after, the store again
    finally:
        service.close()


def test_a_warm_card_is_built_on_the_event_loop(client: TestClient, served: Served, attempts: list[Any]) -> None:
    cid = "00000021"
    first = client.get(f"/customers/{cid}", headers=served.headers("agent"))
    assert first.status_code == 200
    attempts.clear()
    again = client.get(f"/customers/{cid}", headers=served.headers("agent"))
    assert again.status_code == 200 and again.json() == first.json()
    assert attempts == [("loop", "card")]


def test_a_card_that_queries_the_store_is_built_again_in_a_thread(
    client: TestClient, served: Served, attempts: list[Any]
) -> None:
    cid = "00000022"
    note = "asked about the autumn catalogue"
    logged = client.post(
        f"/customers/{cid}/contacts", headers=served.headers("agent"), json={"channel": "phone", "note": note}
    )
    assert logged.status_code == 201
    attempts.clear()
    card = client.get(f"/customers/{cid}", headers=served.headers("agent"))
    assert card.status_code == 200
    # the customer's contacts are a store query: refused on the loop, then built in a thread
    assert attempts == [("loop", "waited"), ("thread", "card")]
    shown = card.json()
    assert shown["contacts"][0]["channel"] == "phone" and shown["contacts"][0]["note"] == note
    assert shown["last_contacted"] is not None
    audit = client.get(f"/audit?target={cid}", headers=served.headers("admin")).json()
    views = [e for e in audit if e["action"] == "view_card"]
    assert len(views) == 1  # the refused attempt kept nothing: one view, one entry


def test_an_unknown_customer_is_a_404_from_the_loop(client: TestClient, served: Served, attempts: list[Any]) -> None:
    client.get("/customers/00000001", headers=served.headers("agent"))  # warm
    attempts.clear()
    got = client.get("/customers/nobody-here", headers=served.headers("agent"))
    assert got.status_code == 404 and "nobody-here" in got.json()["detail"]


def test_cards_from_loop_and_thread_agree_under_concurrency(served: Served) -> None:
    """Many cards at once, with caches that fall due all the time (pointer_ttl 0): every answer
    is the card of the customer asked for, whichever way it was built."""
    settings = Settings(rate_per_second=0, lang="zh", pointer_ttl=0.0)
    ids = [f"{i:08d}" for i in range(1, 41)]
    with TestClient(create_app(served.workspace.root, settings)) as test_client:
        results: dict[str, Any] = {}

        def ask(cid: str) -> None:
            results[cid] = test_client.get(f"/customers/{cid}", headers=served.headers("agent"))

        threads = [threading.Thread(target=ask, args=(cid,)) for cid in ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert all(results[cid].status_code == 200 for cid in ids)
    assert [results[cid].json()["customer_id"] for cid in ids] == ids
