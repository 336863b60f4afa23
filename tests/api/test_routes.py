"""Every endpoint x every role, from the role table of docs/api.md; cards, lists, overrides,
exports, runs."""

from __future__ import annotations

import csv
import io
import json
import re
import time
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
}
PARAMS = {"customer_id": CUSTOMER, "ref": "current", "run_a": "current", "run_b": "current", "fmt": "csv"}


DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def documented() -> dict[tuple[str, str], list[str]]:
    """(method, path) -> the roles admitted, read from the role table of docs/api.md (the oracle:
    written for users, not generated from the code)."""
    text = DOCS.read_text("utf-8")
    table = text[text.index("| operation | admin | analyst | agent |") :].split("\n\n")[0]
    found = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        method, path = re.match(r"`(\w+) (\S+)`", cells[0]).groups()  # type: ignore[union-attr]
        found[(method, path)] = [role for role, cell in zip(ROLES, cells[1:], strict=True) if cell.startswith("yes")]
    return found


def operations(client: TestClient) -> list[tuple[str, str, list[str]]]:
    """(method, path, roles) for every operation the service exposes behind a key, with the roles
    the docs' table gives it; an operation missing from the table fails here."""
    table = documented()
    found = []
    for path, item in client.app.openapi()["paths"].items():  # type: ignore[attr-defined]
        for method in item:
            key = (method.upper(), path)
            assert key in table, f"{method.upper()} {path} is not in the role table of docs/api.md"
            if path != "/health":
                found.append((*key, table[key]))
    return found


def test_the_schema_roles_agree_with_the_docs(client: TestClient) -> None:
    table = documented()
    for path, item in client.app.openapi()["paths"].items():  # type: ignore[attr-defined]
        for method, operation in item.items():
            assert operation.get("x-roles", list(ROLES)) == table[(method.upper(), path)], (method, path)
    assert len(table) == sum(len(item) for item in client.app.openapi()["paths"].values())  # type: ignore[attr-defined]


def call(client: TestClient, method: str, path: str, headers: dict[str, str] | None) -> Any:
    url = re.sub(r"\{(\w+)\}", lambda m: PARAMS[m.group(1)], path)
    return client.request(method, url, headers=headers or {}, json=BODIES.get(path) if method == "POST" else None)


def test_every_operation_admits_exactly_its_roles(client: TestClient, served: Served) -> None:
    ops = operations(client)
    assert len(ops) >= 10
    for method, path, roles in ops:
        assert call(client, method, path, None).status_code == 401, (method, path)
        assert call(client, method, path, {"Authorization": "Bearer tk_wrong"}).status_code == 401
        for role in ROLES:
            code = call(client, method, path, served.headers(role)).status_code
            if role in roles:
                assert code not in (401, 403) and code < 500, (method, path, role, code)
            else:
                assert code == 403, (method, path, role, code)


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
    assert client.get("/customers?sort=phone", headers=served.headers("agent")).status_code == 422  # not offered
    assert client.get(f"/customers?phone={clear['phone']}", headers=served.headers("agent")).status_code == 403


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
    started = client.post("/runs", headers=served.headers("analyst"), json={"publish": False})
    assert started.status_code == 202
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
