"""Idempotency-Key on the writes a client may have to retry (POST contacts, POST override), on
both stores: the oracle is the store's own rows, counted by SQL, against what was sent.

A retry after a lost answer is the same request again with the same key: it must leave one row,
and answer what the first write answered (the contact's instant). A key reused for a different
request is refused (422), as draft-ietf-httpapi-idempotency-key-header says; a request without a
key is written each time (the old behaviour, kept).
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.api.conftest import Served
from tierkit.runs.files import store_of
from tierkit.store.schema import contacts, overrides

CUSTOMER = "00000007"
EXPIRES = "2027-06-30T00:00:00Z"


def _count(served: Served, table: object, **where: str) -> int:
    engine = store_of(served.workspace)
    query = select(func.count()).select_from(table)  # type: ignore[arg-type]
    for column, value in where.items():
        query = query.where(table.c[column] == value)  # type: ignore[attr-defined]
    with engine.connect() as con:
        return int(con.execute(query).scalar() or 0)


def test_a_contact_sent_three_times_under_one_key_is_logged_once(client: TestClient, served: Served) -> None:
    key = str(uuid.uuid4())
    note = f"retried {key}"  # marks this test's rows: the workspace is shared by the module's tests
    body = {"channel": "phone", "note": note, "outcome": "reached"}
    headers = {**served.headers("agent"), "Idempotency-Key": key}
    answers = [client.post(f"/customers/{CUSTOMER}/contacts", json=body, headers=headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 201], answers[0].text
    assert len({a.json()["at"] for a in answers}) == 1  # each answer is the first write's
    assert _count(served, contacts, note=note) == 1
    assert _count(served, contacts, request_key=key) == 1


def test_without_a_key_each_request_is_a_new_contact(client: TestClient, served: Served) -> None:
    note = f"no key {uuid.uuid4()}"
    for _ in range(2):
        answer = client.post(
            f"/customers/{CUSTOMER}/contacts", json={"channel": "visit", "note": note}, headers=served.headers("agent")
        )
        assert answer.status_code == 201, answer.text
    assert _count(served, contacts, note=note) == 2


def test_an_override_retried_under_its_key_is_set_once(client: TestClient, served: Served) -> None:
    key = str(uuid.uuid4())
    reason = f"retried override {key}"
    body = {"tier": "vip", "reason": reason, "expires": EXPIRES}
    headers = {**served.headers("analyst"), "Idempotency-Key": key}
    answers = [client.post(f"/customers/{CUSTOMER}/override", json=body, headers=headers) for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 201], answers[0].text
    assert all(a.json()["tier"] == "vip" and a.json()["manual"] is True for a in answers)
    assert _count(served, overrides, reason=reason) == 1


def test_one_key_for_another_request_is_refused(client: TestClient, served: Served) -> None:
    key = str(uuid.uuid4())
    headers = {**served.headers("agent"), "Idempotency-Key": key}
    first = client.post(f"/customers/{CUSTOMER}/contacts", json={"channel": "phone", "note": key}, headers=headers)
    again = client.post(f"/customers/{CUSTOMER}/contacts", json={"channel": "wechat", "note": key}, headers=headers)
    elsewhere = client.post("/customers/00000008/contacts", json={"channel": "phone", "note": key}, headers=headers)
    assert first.status_code == 201, first.text
    assert again.status_code == 422, again.text
    assert "Idempotency-Key" in again.json()["detail"] and "channel" in again.json()["detail"]
    assert elsewhere.status_code == 422 and "customer_id" in elsewhere.json()["detail"]
    assert _count(served, contacts, request_key=key) == 1


def test_keys_are_each_users_own(client: TestClient, served: Served) -> None:
    """Two users who happen to pick the same key write two contacts: a key names one author's request."""
    key = f"shared-{uuid.uuid4()}"
    for role in ("agent", "analyst"):
        answer = client.post(
            f"/customers/{CUSTOMER}/contacts",
            json={"channel": "phone", "note": key},
            headers={**served.headers(role), "Idempotency-Key": key},
        )
        assert answer.status_code == 201, answer.text
    assert _count(served, contacts, request_key=key) == 2


def test_a_key_sent_twice_at_the_same_moment_is_written_once(client: TestClient, served: Served) -> None:
    key = str(uuid.uuid4())
    headers = {**served.headers("agent"), "Idempotency-Key": key}

    def send(_: int) -> int:
        body = {"channel": "phone", "note": f"at once {key}"}
        return client.post(f"/customers/{CUSTOMER}/contacts", json=body, headers=headers).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(send, range(8)))
    assert codes == [201] * 8
    assert _count(served, contacts, request_key=key) == 1


def test_a_key_that_is_not_printable_ascii_is_refused(client: TestClient, served: Served) -> None:
    for bad in ("a" * 201, "tab\tinside"):
        answer = client.post(
            f"/customers/{CUSTOMER}/contacts",
            json={"channel": "phone", "note": "bad key"},
            headers={**served.headers("agent"), "Idempotency-Key": bad},
        )
        assert answer.status_code in (400, 422), (bad, answer.status_code)
        assert "Idempotency-Key" in answer.text or "idempotency-key" in answer.text.lower()
