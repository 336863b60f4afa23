"""A store lost in ways its hook cannot see (issue 15, part 5): the pool's own time-out, a
driver error met outside SQLAlchemy. Each is the same 503 with Retry-After and a one-line
reason; any other database error stays a 500. The errors are the libraries' own classes,
raised where the contact is written (the one call the route makes to the store)."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy.exc as sa_exc
from fastapi.testclient import TestClient

from tests.api.conftest import Served, make_workspace
from tierkit.api.app import create_app
from tierkit.app.serving import Settings
from tierkit.errors import StoreUnavailableError
from tierkit.store import contacts


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Served:
    return make_workspace(tmp_path_factory.mktemp("store-lost") / "ws", "sqlite", customers=20)


@pytest.fixture
def client(shop: Served) -> Iterator[TestClient]:
    with TestClient(create_app(shop.workspace.root, Settings(rate_per_second=0)), raise_server_exceptions=False) as c:
        yield c


LOST = {
    "pool": sa_exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30.00"),
    "sqlalchemy": sa_exc.OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly\nmore")),
    "psycopg": psycopg.OperationalError("connection failed: Connection refused\n\tIs the server running?"),
    "disconnect": sa_exc.DisconnectionError("connection invalidated"),
    "ours": StoreUnavailableError("the store is unavailable (postgresql://db:5432/t): refused; try again in a moment"),
}
FIRST_LINE = {
    "pool": "QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30.00",
    "sqlalchemy": "server closed the connection unexpectedly",
    "psycopg": "connection failed: Connection refused",
    "disconnect": "connection invalidated",
    "ours": "(postgresql://db:5432/t): refused",
}


@pytest.mark.parametrize("kind", sorted(LOST))
def test_a_lost_store_is_a_503_with_the_reason(
    kind: str, client: TestClient, shop: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    def lost(*_args: object, **_kwargs: object) -> None:
        raise LOST[kind]

    monkeypatch.setattr(contacts, "log", lost)
    answer = client.post("/customers/00000001/contacts", json={"channel": "phone"}, headers=shop.headers("agent"))
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == "2"
    detail = answer.json()["detail"]
    assert detail.startswith("the store is unavailable") and FIRST_LINE[kind] in detail and "\n" not in detail


def test_another_database_error_is_not_called_an_outage(
    client: TestClient, shop: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise sa_exc.ProgrammingError("SELECT nope", {}, Exception("syntax error"))

    monkeypatch.setattr(contacts, "log", broken)
    answer = client.post("/customers/00000001/contacts", json={"channel": "phone"}, headers=shop.headers("agent"))
    assert answer.status_code == 500
