"""/alerts and /webhooks over HTTP: an agent's inbox is the customers they own; webhooks are the admin's.

The workspace and its expected events are tests/app/test_alerts.py's (worked out by hand there).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.app.test_alerts import EXPECTED, OWNERS, graded
from tierkit.api.app import create_app
from tierkit.app.serving import Settings
from tierkit.runs.files import store_of
from tierkit.store.audit import entries
from tierkit.store.users import add_user
from tierkit.workspace import Workspace


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = graded(tmp_path_factory.mktemp("alerts-api"))[0]
    store = store_of(Workspace.open(root))
    keys = {name: add_user(store, name, role) for name, role in (("ann", "agent"), ("bob", "agent"), ("root", "admin"))}
    with TestClient(create_app(root, Settings(rate_per_second=0))) as client:
        yield {"root": root, "client": client, "as": lambda who: {"Authorization": f"Bearer {keys[who]}"}}


def test_staff_read_every_alert_and_an_agent_only_their_customers(served: dict[str, Any]) -> None:
    client, auth = served["client"], served["as"]
    everyone = client.get("/alerts", params={"limit": 100}, headers=auth("root")).json()
    assert {(a["event"], a["customer_id"], a["old"], a["new"]) for a in everyone["alerts"]} == EXPECTED
    assert everyone["by_event"] == {
        "churn_risk": 1,
        "key_customer_lost": 1,
        "tag_added": 1,
        "tier_down": 4,
        "tier_up": 1,
    }
    anns = client.get("/alerts", params={"owner": "bob"}, headers=auth("ann")).json()  # asking for bob's: still hers
    assert anns["owner"] == "ann"
    assert {a["customer_id"] for a in anns["alerts"]} == {c for c, o in OWNERS.items() if o == "ann"}


def test_an_agent_marks_their_own_alert_read_and_not_another_agents(served: dict[str, Any]) -> None:
    client, auth = served["client"], served["as"]
    bobs = client.get("/alerts", params={"event": "key_customer_lost"}, headers=auth("bob")).json()["alerts"]
    assert [a["customer_id"] for a in bobs] == ["c6"]
    assert client.post(f"/alerts/{bobs[0]['id']}/read", headers=auth("ann")).status_code == 404
    done = client.post(f"/alerts/{bobs[0]['id']}/read", headers=auth("bob"))
    assert done.status_code == 200 and done.json()["read_by"] == "bob"
    unread = client.get("/alerts", params={"unread": "true"}, headers=auth("bob")).json()
    assert bobs[0]["id"] not in {a["id"] for a in unread["alerts"]}


def test_bad_filters_are_400_with_the_reason(served: dict[str, Any]) -> None:
    client, auth = served["client"], served["as"]
    wrong = client.get("/alerts", params={"event": "tier_dwon"}, headers=auth("root"))
    assert wrong.status_code == 400 and "tier_down" in wrong.json()["detail"]
    assert client.get("/alerts", params={"limit": 0}, headers=auth("root")).status_code == 422


def test_an_admin_adds_a_webhook_sees_its_secret_once_and_removes_it(served: dict[str, Any]) -> None:
    client, auth = served["client"], served["as"]
    bad = client.post("/webhooks", json={"url": "file:///etc/passwd"}, headers=auth("root"))
    assert bad.status_code == 400 and "http://" in bad.json()["detail"]
    made = client.post(
        "/webhooks", json={"url": "https://crm.example.com/in", "events": ["tier_down"]}, headers=auth("root")
    )
    assert made.status_code == 201
    hook = made.json()
    assert hook["secret"].startswith("whsec_") and hook["events"] == ["tier_down"]
    listed = client.get("/webhooks", headers=auth("root"))
    assert hook["secret"] not in listed.text and [h["id"] for h in listed.json()] == [hook["id"]]
    assert client.delete(f"/webhooks/{hook['id']}", headers=auth("root")).json() == {"id": hook["id"], "active": False}
    assert client.delete(f"/webhooks/{hook['id']}", headers=auth("root")).status_code == 404
    actions = [e["action"] for e in entries(store_of(Workspace.open(served["root"])), hook["id"], 10)]
    assert sorted(actions) == ["add_webhook", "remove_webhook"]
