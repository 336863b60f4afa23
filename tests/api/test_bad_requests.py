"""Bad requests get a 4xx with the reason, never a 500, and store nothing.

Each case is one an adversarial pass found answering 500 (or the wrong 4xx): limits out of
range, a JSON body of NaN, lone surrogates and NUL characters in free text, a chunked body
over the size limit, an impossible as-of date, an agent sorting by a personal field.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Served, make_workspace
from tierkit.api.app import create_app
from tierkit.app.serving import Settings

JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Served:
    return make_workspace(tmp_path_factory.mktemp("bad-requests") / "ws", "sqlite", customers=80)


@pytest.fixture
def client(shop: Served) -> Iterator[TestClient]:
    app = create_app(shop.workspace.root, Settings(rate_per_second=0, pointer_ttl=0, lang="zh"))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _detail(answer: Any) -> str:
    return str(answer.json()["detail"])


def test_a_diff_limit_out_of_range_is_a_422(client: TestClient, shop: Served) -> None:
    for limit in ("-1", "99999999999999999999", "100001"):
        answer = client.get(f"/runs/current/diff/current?limit={limit}", headers=shop.headers("analyst"))
        assert answer.status_code == 422, (limit, answer.text)
        assert answer.json()["detail"][0]["loc"] == ["query", "limit"]
    fine = client.get("/runs/current/diff/current?limit=0", headers=shop.headers("analyst"))
    assert fine.status_code == 200 and fine.json()["movers"] == [] and fine.json()["movers_total"] == 0


def test_a_body_of_nan_is_a_422(client: TestClient, shop: Served) -> None:
    for path, field in (("/customers/00000001/contacts", "channel"), ("/customers/00000001/override", "tier")):
        for body in (b"NaN", b"Infinity", b"-Infinity", b'{"%s": NaN}' % field.encode()):
            answer = client.post(path, content=body, headers={**shop.headers("analyst"), **JSON})
            assert answer.status_code == 422, (path, body, answer.text)
            assert answer.json()["detail"][0]["loc"][0] == "body"
    for body in (b"NaN", b'{"as_of": NaN}', b'{"publish": Infinity}'):
        answer = client.post("/runs", content=body, headers={**shop.headers("analyst"), **JSON})
        assert answer.status_code == 422, (body, answer.text)


def test_lone_surrogates_in_free_text_are_a_422(client: TestClient, shop: Served) -> None:
    cases = {
        "/customers/00000001/override": b'{"tier": "vip", "reason": "abc\\ud800", "expires": "2099-01-01T00:00:00Z"}',
        "/customers/00000001/contacts": b'{"channel": "\\ud800"}',
        "/customers/00000001/tags": b'{"tag": "x\\udfff", "reason": "a reason"}',
        "/customers/00000001/complaints": b'{"topic": "\\ud83d"}',
    }
    for path, body in cases.items():
        answer = client.post(path, content=body, headers={**shop.headers("analyst"), **JSON})
        assert answer.status_code == 422, (path, answer.text)
        assert "unicode" in _detail(answer), answer.text
    card = client.get("/customers/00000001", headers=shop.headers("analyst")).json()
    assert card["override"] is None and not [c for c in card["contacts"] if c["by"] == "analyst-user"]
    assert not [c for c in card["complaints"] if c["source"] == "store"]
