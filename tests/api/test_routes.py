"""Every endpoint x every role, from the role table of docs/api.md; cards, lists, overrides,
exports, runs."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Served

ROLES = ("admin", "analyst", "agent")
CUSTOMER = "00000001"
BODIES: dict[str, dict[str, Any]] = {
    "/customers/{customer_id}/override": {"tier": "vip", "reason": "key account", "expires": "2099-01-01T00:00:00Z"},
    "/customers/{customer_id}/contacts": {"channel": "phone", "note": "called"},
    "/runs": {"publish": False},
    "/customers/{customer_id}/tags": {"tag": "集团关键人", "reason": "on the group's list"},
    "/customers/{customer_id}/complaints": {"topic": "账单", "channel": "电话"},
    "/customers/{customer_id}/complaints/{complaint_id}/resolve": {"resolution": "refunded"},
    "/webhooks": {"url": "http://127.0.0.1:9/hook", "events": ["tier_down"]},
}
PARAMS = {
    "customer_id": CUSTOMER,
    "ref": "current",
    "run_a": "current",
    "run_b": "current",
    "fmt": "csv",
    "tag": "集团关键人",
    "complaint_id": "1",
    "kind": "orders",
    "code": "priority_queue",
    "month": "2026-10",
    "alert_id": "1",
    "hook_id": "wh_none",
}


DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"
HEADER = "| operation | admin | analyst | agent |"


@dataclass(frozen=True)
class Row:
    """One row of the role table: the roles it admits, and whether it needs a key at all."""

    roles: tuple[str, ...]
    key: bool


def documented() -> dict[tuple[str, str], Row]:
    """(method, path) -> its row, read from the role table of docs/api.md: the oracle, written for
    users and not generated from the code. A cell starting with "yes" admits the role, "403" does
    not; "(no key)" after the operation means it answers without a key."""
    text = DOCS.read_text("utf-8")
    assert HEADER in text, f"docs/api.md has no role table starting {HEADER!r}"
    table = text[text.index(HEADER) :].split("\n\n")[0]
    found: dict[tuple[str, str], Row] = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        named = re.match(r"`(GET|POST|PUT|PATCH|DELETE) (/\S*)`", cells[0])
        assert named and len(cells) == 1 + len(ROLES), f"docs/api.md, role table: cannot read {line!r}"
        for cell in cells[1:]:
            assert cell.startswith(("yes", "403")), f"docs/api.md, role table: {cell!r} is neither yes nor 403"
        key = (named.group(1), named.group(2))
        assert key not in found, f"docs/api.md, role table: {key} twice"
        roles = tuple(role for role, cell in zip(ROLES, cells[1:], strict=True) if cell.startswith("yes"))
        found[key] = Row(roles, key="(no key)" not in cells[0])
        assert found[key].key or found[key].roles == ROLES, f"{key}: a route without a key admits everyone"
    return found


ROWS = documented()


def served_routes(app: Any) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves: its routes (included routers opened up; the
    ones left out of the schema too, like /docs) and the operations of its OpenAPI schema."""
    try:
        from fastapi.routing import iter_route_contexts  # FastAPI >= 0.165 nests included routers

        routes: Any = iter_route_contexts(app.routes)
    except ImportError:
        routes = app.routes
    found: set[tuple[str, str]] = set()
    for route in routes:
        methods = getattr(route, "methods", None) or {"*"}  # a mount or a websocket: not in the table
        for method in methods:
            found.add((method, str(route.path)))
    for path, item in app.openapi()["paths"].items():
        found |= {(method.upper(), path) for method in item}
    return {(m, p) for m, p in found if not (m == "HEAD" and ("GET", p) in found)}  # HEAD goes with GET


def test_every_route_the_service_serves_is_in_the_docs_table(client: TestClient) -> None:
    served = served_routes(client.app)
    missing = sorted(served - set(ROWS))
    assert not missing, f"served but not in the role table of docs/api.md: {missing}"
    stale = sorted(set(ROWS) - served)
    assert not stale, f"in the role table of docs/api.md but not served: {stale}"


def test_the_schema_roles_agree_with_the_docs(client: TestClient) -> None:
    """Secondary: the `x-roles` the code writes into the schema say what the docs' table says."""
    for path, item in client.app.openapi()["paths"].items():  # type: ignore[attr-defined]
        for method, operation in item.items():
            row = ROWS[(method.upper(), path)]
            if row.key:
                assert tuple(operation.get("x-roles", ())) == row.roles, (method, path)
            else:
                assert "x-roles" not in operation, (method, path)


def call(client: TestClient, method: str, path: str, headers: dict[str, str] | None) -> Any:
    url = re.sub(r"\{(\w+)\}", lambda m: PARAMS[m.group(1)], path)
    return client.request(method, url, headers=headers or {}, json=BODIES.get(path) if method == "POST" else None)


@pytest.mark.parametrize(("method", "path"), sorted(ROWS), ids=[f"{m} {p}" for m, p in sorted(ROWS)])
def test_each_route_admits_exactly_its_documented_roles(
    client: TestClient, served: Served, method: str, path: str
) -> None:
    row = ROWS[(method, path)]
    if not row.key:
        for headers in (None, *(served.headers(role) for role in ROLES)):
            code = call(client, method, path, headers).status_code
            assert code not in (401, 403) and code < 500, (method, path, headers, code)
        return
    for headers in (None, {"Authorization": f"Basic {served.keys['admin']}"}, {"Authorization": "Bearer tk_wrong"}):
        refused = call(client, method, path, headers)
        assert refused.status_code == 401, (method, path, headers, refused.status_code)
        assert refused.headers.get("www-authenticate") == "Bearer"
    for role in ROLES:
        answer = call(client, method, path, served.headers(role))
        if role in row.roles:
            assert answer.status_code not in (401, 403) and answer.status_code < 500, (role, answer.status_code)
        else:
            assert answer.status_code == 403, (role, answer.status_code, answer.text[:200])
            assert answer.json() == {"detail": f"the {role} role may not do this"}


def test_card_has_everything_the_front_line_needs(client: TestClient, served: Served) -> None:
    card = client.get(f"/customers/{CUSTOMER}", headers=served.headers("analyst")).json()
    for key in ("tier", "tier_label", "scores", "tags", "service", "last_contacted", "reasons", "run_id", "manual"):
        assert key in card
    assert card["reasons"]["tier"]["rule"] == card["automatic_tier"]  # the logic applied, for a contest
    assert set(card["person"]) == {"name", "phone", "email", "id_number"}
    assert card["person"]["phone"].isdigit() and len(card["person"]["phone"]) == 11  # analysts see it clear


def test_agents_see_masked_personal_data_everywhere(client: TestClient, served: Served) -> None:
    clear = client.get(f"/customers/{CUSTOMER}", headers=served.headers("admin")).json()["person"]
    texts = []
    card = client.get(f"/customers/{CUSTOMER}", headers=served.headers("agent"))
    texts.append(card.text)
    person = card.json()["person"]
    assert re.fullmatch(r"1\d\d\*{4}\d{4}", person["phone"])  # 138****5678
    assert re.fullmatch(r"\d{3}\*{11}[\dX]{4}", person["id_number"])
    assert person["name"][0] == clear["name"][0] and set(person["name"][1:]) == {"*"}
    texts.append(client.get("/customers?limit=500", headers=served.headers("agent")).text)
    texts.append(client.get(f"/customers?phone={clear['phone']}", headers=served.headers("agent")).text)
    texts.append(client.get("/customers?sort=phone", headers=served.headers("agent")).text)
    texts.append(client.get("/customers/nobody", headers=served.headers("agent")).text)
    texts.append(
        client.post(
            f"/customers/{CUSTOMER}/override",
            headers=served.headers("agent"),
            json=BODIES["/customers/{customer_id}/override"],
        ).text
    )
    audit = client.get(f"/audit?target={CUSTOMER}", headers=served.headers("admin")).text
    for secret in (clear["phone"], clear["id_number"], clear["name"]):
        assert all(secret not in text for text in texts), secret
        assert secret not in audit
    assert client.get("/customers?sort=phone", headers=served.headers("agent")).status_code == 403  # personal
    assert client.get("/customers?sort=phone", headers=served.headers("analyst")).status_code == 422  # not offered
    # an agent finds a caller by the full number (the answer carries no personal data), never by part of it
    assert client.get(f"/customers?phone={clear['phone']}", headers=served.headers("agent")).status_code == 200
    assert client.get(f"/customers?phone={clear['phone'][:6]}", headers=served.headers("agent")).status_code == 403


def test_lists_filter_and_page(client: TestClient, served: Served) -> None:
    page = client.get("/customers?tier=vip&limit=5", headers=served.headers("analyst")).json()
    assert page["total"] > 5 and len(page["items"]) == 5 and {i["tier"] for i in page["items"]} == {"vip"}
    rest = client.get("/customers?tier=vip&limit=500&offset=5", headers=served.headers("analyst")).json()
    assert len(rest["items"]) == page["total"] - 5
    tagged = client.get("/customers?tag=slowing_down&limit=500", headers=served.headers("agent")).json()
    assert all("slowing_down" in i["tags"] for i in tagged["items"])
    everyone = client.get("/customers?limit=1", headers=served.headers("agent")).json()["total"]
    tiers = client.get("/runs/current", headers=served.headers("admin")).json()["tiers"]
    by_tier = sum(
        client.get(f"/customers?tier={t}&limit=1", headers=served.headers("agent")).json()["total"] for t in tiers
    )
    assert by_tier == everyone > 300
    assert client.get("/customers?segment=x", headers=served.headers("agent")).status_code == 400  # retail: no RFM


def test_override_wins_until_it_expires_and_is_audited(client: TestClient, served: Served) -> None:
    target = client.get("/customers?tier=potential&limit=1", headers=served.headers("admin")).json()["items"][0]
    cid = target["customer_id"]
    body = {"tier": "regular", "reason": "strategic account", "expires": "2099-01-01T00:00:00Z"}
    done = client.post(f"/customers/{cid}/override", headers=served.headers("analyst"), json=body)
    assert done.status_code == 201, done.text
    card = client.get(f"/customers/{cid}", headers=served.headers("agent")).json()
    assert (card["tier"], card["manual"], card["automatic_tier"]) == ("regular", True, "potential")
    assert card["override"]["reason"] == "strategic account"
    listed = client.get("/customers?tier=regular&limit=500", headers=served.headers("agent")).json()["items"]
    assert any(i["customer_id"] == cid and i["manual"] for i in listed)
    bad = client.post(
        f"/customers/{cid}/override", headers=served.headers("analyst"), json={**body, "tier": "platinum"}
    )
    assert bad.status_code == 422
    past = client.post(
        f"/customers/{cid}/override",
        headers=served.headers("analyst"),
        json={**body, "expires": "2001-01-01T00:00:00Z"},
    )
    assert past.status_code == 422
    audit = client.get(f"/audit?target={cid}", headers=served.headers("admin")).json()
    assert any(e["action"] == "override" and e["actor"] == "analyst-user" for e in audit)


def test_export_is_escaped_and_audited(client: TestClient, served: Served) -> None:
    got = client.get("/customers/export/csv?tier=vip", headers=served.headers("analyst"))
    assert got.status_code == 200
    rows = list(csv.DictReader(io.StringIO(got.text)))
    total = client.get("/customers?tier=vip&limit=1", headers=served.headers("analyst")).json()["total"]
    assert len(rows) == total and {r["tier"] for r in rows} == {"vip"}
    audit = client.get("/audit?target=customers.csv", headers=served.headers("admin")).json()
    assert json.loads(audit[0]["detail"])["rows"] == total
    xlsx = client.get("/customers/export/xlsx", headers=served.headers("admin"))
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def test_card_views_are_audited(client: TestClient, served: Served) -> None:
    client.get("/customers/00000003", headers=served.headers("agent"))
    audit = client.get("/audit?target=00000003", headers=served.headers("admin")).json()
    assert any(e["action"] == "view_card" and e["role"] == "agent" for e in audit)


def test_contacts_show_on_the_card(client: TestClient, served: Served) -> None:
    logged = client.post("/customers/00000004/contacts", headers=served.headers("agent"), json={"channel": "visit"})
    assert logged.status_code == 201
    card = client.get("/customers/00000004", headers=served.headers("agent")).json()
    assert card["last_contacted"] is not None


def test_grading_in_the_background_reports_progress(client: TestClient, served: Served) -> None:
    # one grading at a time per workspace: the role table's POST /runs may still be grading
    for _ in range(240):
        started = client.post("/runs", headers=served.headers("analyst"), json={"publish": False})
        if started.status_code != 409:
            break
        assert "a grading is already running" in started.json()["detail"]
        time.sleep(0.25)
    assert started.status_code == 202, started.text
    job = started.json()["job_id"]
    for _ in range(240):
        state = client.get(f"/runs/{job}", headers=served.headers("analyst")).json()
        if state["state"] in ("done", "failed"):
            break
        time.sleep(0.25)
    assert state["state"] == "done", state
    runs = client.get("/runs", headers=served.headers("analyst")).json()
    assert state["run_id"] in [r["run_id"] for r in runs]
    assert [r["current"] for r in runs if r["run_id"] == state["run_id"]] == [False]  # publish: false


@pytest.mark.parametrize("role", ["agent"])
def test_unknown_customer_is_404(client: TestClient, served: Served, role: str) -> None:
    assert client.get("/customers/nobody", headers=served.headers(role)).status_code == 404
