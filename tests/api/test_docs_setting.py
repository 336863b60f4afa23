"""The API's own documentation (/openapi.json, /docs, /redoc) is a setting: open (the default),
behind a key of any role, or not served (TIERKIT_SERVE_DOCS, docs/settings.md)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Served, make_workspace
from tierkit.api.app import create_app, settings_from_env
from tierkit.app.serving import Settings
from tierkit.errors import WorkspaceError

DOCS = ("/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Served:
    return make_workspace(tmp_path_factory.mktemp("docs-setting") / "ws", "sqlite", customers=40)


def _client(shop: Served, docs: str) -> TestClient:
    return TestClient(create_app(shop.workspace.root, Settings(rate_per_second=0, docs=docs)))


def test_open_serves_the_documentation_without_a_key(shop: Served) -> None:
    client = _client(shop, "open")
    for path in DOCS:
        assert client.get(path).status_code == 200, path
    assert "/customers/{customer_id}" in client.get("/openapi.json").json()["paths"]


def test_off_serves_no_documentation_and_the_api_still(shop: Served) -> None:
    client = _client(shop, "off")
    for path in DOCS:
        assert client.get(path).status_code == 404, path
        assert client.get(path, headers=shop.headers("admin")).status_code == 404, path
    assert client.get("/customers?limit=1", headers=shop.headers("agent")).status_code == 200


def test_key_serves_the_schema_to_any_role_and_nothing_without_a_key(shop: Served) -> None:
    client = _client(shop, "key")
    refused = client.get("/openapi.json")
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    assert client.get("/openapi.json", headers={"Authorization": "Bearer tk_made_up"}).status_code == 401
    for role in ("admin", "analyst", "agent"):
        schema = client.get("/openapi.json", headers=shop.headers(role))
        assert schema.status_code == 200, role
        assert "/customers/{customer_id}" in schema.json()["paths"]
        assert "/openapi.json" not in schema.json()["paths"]
    for path in DOCS[1:]:  # a browser page cannot send the key: not served
        assert client.get(path, headers=shop.headers("admin")).status_code == 404, path


def test_the_setting_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, shop: Served) -> None:
    monkeypatch.setenv("TIERKIT_SERVE_WORKSPACE", str(shop.workspace.root))
    assert settings_from_env()[1].docs == "open"
    monkeypatch.setenv("TIERKIT_SERVE_DOCS", "off")
    assert settings_from_env()[1].docs == "off"
    monkeypatch.setenv("TIERKIT_SERVE_DOCS", "public")
    with pytest.raises(WorkspaceError, match="TIERKIT_SERVE_DOCS: 'public' is not one of open, key, off"):
        settings_from_env()
