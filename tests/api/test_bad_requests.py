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


def test_control_characters_do_not_make_a_reason(client: TestClient, shop: Served) -> None:
    cid = "00000002"
    for reason in ("\x00\x00\x00", "ab\x00", "\x07\x08\x1b", "   ", "ok\x00reason"):
        body = {"tier": "vip", "reason": reason, "expires": "2099-01-01T00:00:00Z"}
        answer = client.post(f"/customers/{cid}/override", json=body, headers=shop.headers("analyst"))
        assert answer.status_code == 422, (repr(reason), answer.text)
    for channel in ("\x00", "phone\n", "\u0085x"):
        answer = client.post(f"/customers/{cid}/contacts", json={"channel": channel}, headers=shop.headers("agent"))
        assert answer.status_code == 422, (repr(channel), answer.text)
    assert "control character" in _detail(answer)
    others = (
        ("post", f"/customers/{cid}/tags", {"tag": "vip_friend", "reason": "\x00\x00\x00"}),
        ("post", f"/customers/{cid}/complaints", {"topic": "\x00"}),
        ("post", f"/customers/{cid}/contacts", {"channel": "phone", "note": "\x1b[2J cleared"}),
        ("put", f"/customers/{cid}/owner", {"owner": "王芳", "reason": "\x00"}),
        ("put", f"/customers/{cid}/owner", {"owner": "王\x00芳", "reason": "moved"}),
    )
    for method, path, body in others:
        answer = client.request(method, path, json=body, headers=shop.headers("analyst"))
        assert answer.status_code == 422, (path, body, answer.text)
    card = client.get(f"/customers/{cid}", headers=shop.headers("analyst")).json()
    assert card["override"] is None and card["contacts"] == [] and not [t for t in card["tags"] if t["manual"]]
    # a reason over several lines is still one, and surrounding blanks are not kept
    body = {"tier": "vip", "reason": "  line one\nline two\t(tab)  ", "expires": "2099-01-01T00:00:00Z"}
    made = client.post(f"/customers/{cid}/override", json=body, headers=shop.headers("analyst"))
    assert made.status_code == 201, made.text
    assert made.json()["override"]["reason"] == "line one\nline two\t(tab)"


def test_a_chunked_body_over_the_limit_is_a_413(client: TestClient, shop: Served) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"channel": "phone", "note": "'
        for _ in range(80):
            yield b"x" * 1024
        yield b'"}'

    answer = client.post("/customers/00000003/contacts", content=chunks(), headers={**shop.headers("agent"), **JSON})
    assert answer.status_code == 413, answer.text
    assert answer.json() == {"detail": "request body over 65536 bytes"}


def test_an_impossible_as_of_date_is_a_422_with_the_reason(client: TestClient, shop: Served) -> None:
    for as_of, words in (("2026-02-30", "not a date"), ("0001-01-01", "between"), ("2026-13-01", "not a date")):
        answer = client.post("/runs", json={"as_of": as_of}, headers=shop.headers("analyst"))
        assert answer.status_code == 422, (as_of, answer.text)
        assert words in _detail(answer) and as_of in _detail(answer), answer.text
    jobs = client.get("/audit?limit=1000", headers=shop.headers("admin")).json()
    assert not [e for e in jobs if e["action"] == "grade"]  # nothing was started


def test_an_agent_sorting_by_a_personal_field_is_refused(client: TestClient, shop: Served) -> None:
    for field in ("phone", "name", "id_number", "email"):
        agent = client.get(f"/customers?sort={field}", headers=shop.headers("agent"))
        assert agent.status_code == 403, (field, agent.text)
        assert _detail(agent) == "agents cannot sort by personal data"
        staff = client.get(f"/customers?sort={field}", headers=shop.headers("analyst"))
        assert staff.status_code == 422, (field, staff.text)
    assert client.get("/customers?sort=bogus", headers=shop.headers("agent")).status_code == 422
    assert client.get("/customers?sort=tier", headers=shop.headers("agent")).status_code == 200
