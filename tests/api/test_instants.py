"""Instants the API accepts (an override's and a manual tag's `expires`) are the instant the
client meant, kept in UTC, and within a sane bound.

The oracle is arithmetic on the offset written in the request: 05:37 at -05:00 is 10:37 UTC,
midnight at +08:00 is 16:00 UTC the day before. Runs on both stores (the session's workspace;
customers from the end of its list, which no other test moves).
"""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from tests.api.conftest import Served
from tierkit.app.instants import MAX_YEARS_AHEAD


def _customer(client: TestClient, served: Served, from_end: int) -> str:
    total = client.get("/customers?limit=1", headers=served.headers("admin")).json()["total"]
    page = client.get(f"/customers?limit=1&offset={total - from_end}", headers=served.headers("admin")).json()
    return str(page["items"][0]["customer_id"])


def _zulu(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_an_override_expiring_in_two_hours_at_minus_five_takes_effect(client: TestClient, served: Served) -> None:
    cid = _customer(client, served, 1)
    before = client.get(f"/customers/{cid}", headers=served.headers("analyst")).json()
    target = "regular" if before["automatic_tier"] != "regular" else "potential"
    # two hours from now, written as New York's wall clock: read as UTC it would be 3 hours past
    at = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).replace(microsecond=0)
    local = at.astimezone(dt.timezone(dt.timedelta(hours=-5)))
    body = {"tier": target, "reason": "two hours only", "expires": local.isoformat()}
    made = client.post(f"/customers/{cid}/override", headers=served.headers("analyst"), json=body)
    assert made.status_code == 201, made.text
    assert made.json()["override"]["expires"] == _zulu(at)
    card = client.get(f"/customers/{cid}", headers=served.headers("agent")).json()
    assert card["manual"] is True and card["tier"] == target
    assert card["override"]["expires"] == _zulu(at)


def test_midnight_in_beijing_comes_back_as_four_pm_utc_the_day_before(client: TestClient, served: Served) -> None:
    cid = _customer(client, served, 2)
    year = dt.date.today().year + 1
    body = {"tier": "regular", "reason": "until new year", "expires": f"{year}-01-01T00:00:00+08:00"}
    made = client.post(f"/customers/{cid}/override", headers=served.headers("analyst"), json=body)
    assert made.status_code == 201, made.text
    assert made.json()["override"]["expires"] == f"{year - 1}-12-31T16:00:00Z"
    card = client.get(f"/customers/{cid}", headers=served.headers("analyst")).json()
    assert card["override"]["expires"] == f"{year - 1}-12-31T16:00:00Z"
    tag = {"tag": "新年客户", "reason": "until new year", "expires": f"{year}-01-01T00:00:00+08:00"}
    given = client.post(f"/customers/{cid}/tags", headers=served.headers("analyst"), json=tag)
    assert given.status_code == 201, given.text
    assert given.json()["expires"] == f"{year - 1}-12-31T16:00:00Z"
    card = client.get(f"/customers/{cid}", headers=served.headers("analyst")).json()
    shown = next(t for t in card["tags"] if t["name"] == "新年客户")
    assert shown["manual"]["expires"] == f"{year - 1}-12-31T16:00:00Z"


def test_an_expiry_past_the_bound_is_refused_with_the_reason(client: TestClient, served: Served) -> None:
    cid = _customer(client, served, 3)
    now = dt.datetime.now(dt.UTC)
    too_far = (now + dt.timedelta(days=366 * MAX_YEARS_AHEAD + 2)).replace(microsecond=0)
    for expires in ("9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59Z", too_far.isoformat()):
        for path, body in (
            (f"/customers/{cid}/override", {"tier": "vip", "reason": "for ever", "expires": expires}),
            (f"/customers/{cid}/tags", {"tag": "永久客户", "reason": "for ever", "expires": expires}),
        ):
            answer = client.post(path, headers=served.headers("analyst"), json=body)
            assert answer.status_code == 422, (expires, path, answer.text)
            assert f"at most {MAX_YEARS_AHEAD} years ahead" in answer.json()["detail"], answer.text
    card = client.get(f"/customers/{cid}", headers=served.headers("analyst")).json()
    assert card["override"] is None and "永久客户" not in [t["name"] for t in card["tags"]]
    within = (now + dt.timedelta(days=365 * (MAX_YEARS_AHEAD - 1))).replace(microsecond=0)
    body = {"tier": "vip", "reason": "long contract", "expires": within.isoformat()}
    made = client.post(f"/customers/{cid}/override", headers=served.headers("analyst"), json=body)
    assert made.status_code == 201, made.text
    assert made.json()["override"]["expires"] == _zulu(within)
