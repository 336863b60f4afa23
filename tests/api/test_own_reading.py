"""The card route reads its own request (tierkit/api/own_reading.py): to a client and to the
schema it must be the route it was when FastAPI resolved its parameters. The oracle is FastAPI
itself: a route declared the usual way, with the same path, types and words."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pytest
from fastapi import FastAPI, Query
from fastapi.testclient import TestClient

from tests.api.conftest import Served
from tierkit.api.routes.customers import LANG

CARD = "/customers/{customer_id}"


def declared_the_usual_way() -> FastAPI:
    app = FastAPI()

    @app.get(CARD)
    def card(
        customer_id: str,
        lang: Annotated[Literal["zh", "en"] | None, Query(description=LANG.description)] = None,
    ) -> dict[str, Any]:
        return {"customer_id": customer_id, "lang": lang}

    return app


def _untitled(value: Any) -> Any:
    """A schema without `title`s (FastAPI titles a parameter after its Python name; nobody reads it)."""
    if isinstance(value, dict):
        return {k: _untitled(v) for k, v in value.items() if k != "title"}
    if isinstance(value, list):
        return [_untitled(v) for v in value]
    return value


def test_the_schema_says_what_a_declared_route_would(client: TestClient) -> None:
    ours = client.app.openapi()["paths"][CARD]["get"]  # type: ignore[attr-defined]
    theirs = declared_the_usual_way().openapi()["paths"][CARD]["get"]
    assert _untitled(ours["parameters"]) == _untitled(theirs["parameters"])
    assert ours["responses"]["422"] == theirs["responses"]["422"]
    assert ours["x-roles"] == ["admin", "analyst", "agent"]


@pytest.mark.parametrize("query", ["lang=fr", "lang=", "lang=ZH", "lang=zh&lang=xx"])
def test_a_bad_query_value_gets_fastapis_own_422(client: TestClient, served: Served, query: str) -> None:
    ours = client.get(f"/customers/00000001?{query}", headers=served.headers("agent"))
    theirs = TestClient(declared_the_usual_way()).get(f"/customers/00000001?{query}")
    assert theirs.status_code == 422  # the last of two values is the one read
    assert (ours.status_code, ours.json()) == (theirs.status_code, theirs.json())


def test_repeated_lang_takes_the_value_fastapi_takes(client: TestClient, served: Served) -> None:
    """Two `lang` values: FastAPI reads the last one; so does the card."""
    theirs = TestClient(declared_the_usual_way()).get("/customers/00000001?lang=xx&lang=en").json()
    ours = client.get("/customers/00000001?lang=xx&lang=en", headers=served.headers("agent"))
    assert ours.status_code == 200, ours.text
    assert ours.json()["lang"] == theirs["lang"] == "en"


def test_the_key_is_checked_before_anything_is_read(client: TestClient) -> None:
    """No key and a bad query value: 401 (the key first, as the dependencies did), nothing else."""
    answer = client.get("/customers/00000001?lang=fr")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert client.get("/customers/00000001", headers={"Authorization": "Bearer tk_made_up"}).status_code == 401


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_lang_is_read(client: TestClient, served: Served, lang: str) -> None:
    card = client.get(f"/customers/00000001?lang={lang}", headers=served.headers("analyst")).json()
    assert card["lang"] == lang
    assert client.get("/customers/00000001", headers=served.headers("analyst")).json()["lang"] == "zh"
