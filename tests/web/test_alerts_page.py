"""/app/alerts over HTTP: the inbox every role opens; an agent sees the customers they own.

The workspace and its events are tests/app/test_alerts.py's, worked out by hand there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.app.test_alerts import EXPECTED, OWNERS, graded
from tests.web.conftest import app_for, csrf_of, sign_in
from tierkit.runs.files import store_of
from tierkit.store.users import add_user
from tierkit.workspace import Workspace


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = graded(tmp_path_factory.mktemp("alerts-page"))[0]
    store = store_of(Workspace.open(root))
    keys = {name: add_user(store, name, role) for name, role in (("ann", "agent"), ("ana", "analyst"))}
    yield {"root": root, "keys": keys}


def _client(shop: dict[str, Any], who: str) -> TestClient:
    client = TestClient(app_for(shop["root"]))
    assert sign_in(client, shop["keys"][who]).status_code == 303
    return client


def _rows(html: str) -> list[tuple[str, str]]:
    """(event, customer id) of each row of the inbox table."""
    return re.findall(r'data-event="(\w+)">.*?href="/app/customers/(\w+)"', html, flags=re.S)


def test_staff_see_every_event_with_its_reasons(shop: dict[str, Any]) -> None:
    html = _client(shop, "ana").get("/app/alerts").text
    assert sorted(_rows(html)) == sorted((event, cid) for event, cid, _, _ in EXPECTED)
    assert re.search(r'id="alerts-total">8<', html) and re.search(r'id="alerts-unread">8<', html)
    assert "等级下降: VIP客户 → 普通客户" in html and "新标签 大额客户: spend_1m &gt;= 1500" in html
    downs = _client(shop, "ana").get("/app/alerts?event=tier_down").text
    assert sorted(cid for _, cid in _rows(downs)) == ["c1", "c2", "c4", "c6"]
    english = _client(shop, "ana").get("/app/alerts?lang=en").text
    assert "Moved down" in english and "Key customer lost" in english


def test_an_agent_sees_only_their_customers_and_marks_one_read(shop: dict[str, Any]) -> None:
    client = _client(shop, "ann")
    first = client.get("/app/alerts")
    assert sorted(cid for _, cid in _rows(first.text)) == sorted(c for c, o in OWNERS.items() if o == "ann")
    assert 'name="owner"' not in first.text  # an agent cannot ask for someone else's inbox
    alert_id = re.search(r'action="/app/alerts/(\d+)/read"', first.text).group(1)  # type: ignore[union-attr]
    assert client.post(f"/app/alerts/{alert_id}/read", data={}).status_code == 403  # no CSRF token
    form = {"csrf": csrf_of(first.text), "back": "/app/alerts"}
    done = client.post(f"/app/alerts/{alert_id}/read", data=form, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/app/alerts"
    after = client.get("/app/alerts").text
    assert "ann 已读" in after and re.search(r'id="alerts-unread">2<', after)
    assert len(_rows(client.get("/app/alerts?unread=true").text)) == 2


def test_an_unknown_event_says_so_and_shows_the_inbox(shop: dict[str, Any]) -> None:
    answer = _client(shop, "ana").get("/app/alerts?event=tier_dwon")
    assert answer.status_code == 200
    assert "unknown event &#39;tier_dwon&#39;" in answer.text and len(_rows(answer.text)) == 8
