"""The card at the counter: tags people give, complaints taken and resolved, history, alerts.

Each test drives the service as the front line would and checks what the card then says
against what was entered, and what the next grading counts against a hand count.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.api.conftest import Served, make_workspace
from tierkit.api.app import create_app
from tierkit.app.serving import Settings
from tierkit.cli.app import app as cli_app
from tierkit.runs.files import load_run


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Served:
    return make_workspace(tmp_path_factory.mktemp("front-line") / "ws", "sqlite", customers=300)


@pytest.fixture
def client(shop: Served) -> TestClient:
    return TestClient(create_app(shop.workspace.root, Settings(rate_per_second=0, pointer_ttl=0, lang="zh")))


def _customer(client: TestClient, shop: Served, index: int) -> str:
    items = client.get(f"/customers?limit=1&offset={index}", headers=shop.headers("admin")).json()["items"]
    return str(items[0]["customer_id"])


def test_a_tag_given_by_hand_is_on_the_card_until_removed(client: TestClient, shop: Served) -> None:
    cid = _customer(client, shop, 10)
    body = {"tag": "集团关键人", "reason": "on the group's contact list", "expires": "2099-01-01T00:00:00+08:00"}
    given = client.post(f"/customers/{cid}/tags", headers=shop.headers("analyst"), json=body)
    assert given.status_code == 201, given.text
    assert given.json()["expires"].startswith("2098-12-31T16:00:00")  # stored as the same instant, in UTC
    card = client.get(f"/customers/{cid}", headers=shop.headers("agent")).json()
    tag = next(t for t in card["tags"] if t["label"] == "集团关键人")  # given by its label: the policy's key_person
    assert tag["name"] == "key_person" and tag["group_label"] == "客户身份"
    assert tag["manual"]["by"] == "analyst-user" and tag["manual"]["reason"] == body["reason"]
    assert client.post(f"/customers/{cid}/tags", headers=shop.headers("agent"), json=body).status_code == 403
    assert client.delete(f"/customers/{cid}/tags/集团关键人", headers=shop.headers("analyst")).status_code == 204
    card = client.get(f"/customers/{cid}", headers=shop.headers("agent")).json()
    assert "key_person" not in [t["name"] for t in card["tags"] if t["manual"]]
    assert client.delete(f"/customers/{cid}/tags/集团关键人", headers=shop.headers("analyst")).status_code == 404
    audit = client.get(f"/audit?target={cid}", headers=shop.headers("admin")).json()
    assert {"tag", "untag"} <= {e["action"] for e in audit}


def test_a_serial_complainer_is_flagged_before_the_agent_answers(client: TestClient, shop: Served) -> None:
    cid = _customer(client, shop, 11)
    body = {"tag": "serial_complainer", "reason": "12 complaints in 2025, on the blacklist"}
    assert client.post(f"/customers/{cid}/tags", headers=shop.headers("analyst"), json=body).status_code == 201
    card = client.get(f"/customers/{cid}", headers=shop.headers("agent")).json()
    assert card["alerts"] and "投诉专业户" in card["alerts"][0]
    tag = next(t for t in card["tags"] if t["name"] == "serial_complainer")
    assert tag["label"] == "投诉专业户" and tag["action"]  # the policy's label and action, in zh


def test_a_complaint_taken_at_the_counter_is_shown_then_resolved(client: TestClient, shop: Served) -> None:
    cid = _customer(client, shop, 12)
    taken = client.post(
        f"/customers/{cid}/complaints", headers=shop.headers("agent"), json={"topic": "账单多扣费", "channel": "门店"}
    )
    assert taken.status_code == 201, taken.text
    complaint = taken.json()
    assert complaint["status"] == "open" and complaint["created_by"] == "agent-user"
    card = client.get(f"/customers/{cid}", headers=shop.headers("agent")).json()
    first = card["complaints"][0]
    assert (first["topic"], first["status"], first["source"]) == ("账单多扣费", "open", "store")
    assert any("未解决" in a for a in card["alerts"])
    url = f"/customers/{cid}/complaints/{complaint['id']}/resolve"
    done = client.post(url, headers=shop.headers("agent"), json={"resolution": "已退还多扣的 30 元"})
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    card = client.get(f"/customers/{cid}", headers=shop.headers("agent")).json()
    assert card["complaints"][0]["resolution"] == "已退还多扣的 30 元"
    assert not any("未解决" in a for a in card["alerts"])
    other = _customer(client, shop, 13)
    wrong = client.post(
        f"/customers/{other}/complaints/{complaint['id']}/resolve",
        headers=shop.headers("agent"),
        json={"resolution": "x" * 3},
    )
    assert wrong.status_code == 404  # not that customer's complaint


def test_orders_interactions_contacts_and_tier_history_on_the_card(client: TestClient, shop: Served) -> None:
    cid = _customer(client, shop, 14)
    orders = pq.read_table(next((shop.workspace.root / "data").glob("orders*"))).to_pylist()
    mine = sorted((o for o in orders if o["customer_id"] == cid), key=lambda o: (o["ordered_at"], o["order_id"]))
    page = client.get(f"/customers/{cid}/orders?limit=3", headers=shop.headers("agent")).json()
    assert page["total"] == len(mine)
    assert [o["order_id"] for o in page["items"]] == [o["order_id"] for o in mine[::-1][:3]]  # newest first
    logged = {"channel": "phone", "note": "回访满意度", "outcome": "reached"}
    assert client.post(f"/customers/{cid}/contacts", headers=shop.headers("agent"), json=logged).status_code == 201
    card = client.get(f"/customers/{cid}", headers=shop.headers("agent")).json()
    assert card["contacts"][0]["outcome"] == "reached" and card["contacts"][0]["by"] == "agent-user"
    run = load_run(shop.workspace, None)
    assert [(m["run_id"], m["current"]) for m in card["tier_history"]] == [(run.run_id, True)]
    assert card["tier_history"][0]["tier"] == card["automatic_tier"]


def test_complaints_taken_feed_the_next_grading(client: TestClient, shop: Served) -> None:
    from tierkit.app.grading import grade_workspace

    # a complaint counts on its local date (the policy's offset, China time): after 16:00 UTC that
    # is tomorrow's, so "today" is the workspace's, not the machine's
    offset = dt.timedelta(minutes=shop.workspace.policy().policy.inputs.offset)
    today = dt.datetime.now(dt.timezone(offset)).date().isoformat()
    grade_workspace(shop.workspace.root, as_of=today, publish=False)
    before = _complaints_90d(shop.workspace.root)
    cid = _customer(client, shop, 20)
    for topic in ("信号差", "乱收费", "服务态度"):
        taken = client.post(f"/customers/{cid}/complaints", headers=shop.headers("agent"), json={"topic": topic})
        assert taken.status_code == 201, taken.text
    grade_workspace(shop.workspace.root, as_of=today, publish=False)
    after = _complaints_90d(shop.workspace.root)
    assert after[cid] == before[cid] + 3  # the three just taken, on top of what the run counted
    assert {k: v for k, v in after.items() if k != cid} == {k: v for k, v in before.items() if k != cid}


def _complaints_90d(root: Path) -> dict[str, int]:
    newest = sorted((root / "runs").glob("2*/manifest.json"), key=lambda p: json.loads(p.read_text())["created_at"])[-1]
    rows = pq.read_table(newest.parent / "result.parquet", columns=["customer_id", "complaints_90d"]).to_pylist()
    return {r["customer_id"]: r["complaints_90d"] for r in rows}


def test_tags_on_the_command_line(shop: Served, client: TestClient) -> None:
    cid = _customer(client, shop, 30)
    runner = CliRunner()
    root = str(shop.workspace.root)
    done = runner.invoke(cli_app, ["tags", "set", cid, "代发工资客户", "--reason", "campus list 2026", "-w", root])
    assert done.exit_code == 0, done.output
    card = client.get(f"/customers/{cid}", headers=shop.headers("agent")).json()
    assert "代发工资客户" in [t["name"] for t in card["tags"]]
    assert runner.invoke(cli_app, ["tags", "remove", cid, "代发工资客户", "-w", root]).exit_code == 0
    card = client.get(f"/customers/{cid}", headers=shop.headers("agent")).json()
    assert "代发工资客户" not in [t["name"] for t in card["tags"]]


def test_an_override_expiry_with_an_offset_is_the_same_instant(client: TestClient, shop: Served) -> None:
    cid = _customer(client, shop, 40)
    body = {"tier": "regular", "reason": "signed for three years", "expires": "2099-01-01T08:00:00+08:00"}
    card = client.post(f"/customers/{cid}/override", headers=shop.headers("analyst"), json=body).json()
    assert card["override"]["expires"] == "2099-01-01T00:00:00Z"  # 08:00 in Beijing is midnight UTC


def test_lists_and_exports_include_tags_people_gave(client: TestClient, shop: Served) -> None:
    cid = _customer(client, shop, 50)
    body = {"tag": "代发工资客户", "reason": "payroll list from the bank"}
    assert client.post(f"/customers/{cid}/tags", headers=shop.headers("analyst"), json=body).status_code == 201
    listed = client.get("/customers?tag=代发工资客户&limit=50", headers=shop.headers("agent")).json()
    assert [i["customer_id"] for i in listed["items"]] == [cid] and listed["total"] == 1
    exported = client.get("/customers/export/csv?tag=代发工资客户", headers=shop.headers("analyst")).text
    assert exported.count("\n") == 2 and cid in exported  # the header and the one customer


def test_a_linked_source_id_finds_the_persons_card(client: TestClient, shop: Served) -> None:
    import pyarrow as pa

    cid = _customer(client, shop, 60)
    links = shop.workspace.data_dir / "identity" / "links.parquet"
    links.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"customer_id": ["W00001", cid], "person_id": [cid, cid]}), links)
    try:
        card = client.get("/customers/W00001", headers=shop.headers("agent")).json()
        assert card["customer_id"] == cid and card["looked_up"]["id"] == "W00001"
        assert cid in card["looked_up"]["note"]
        assert client.get("/customers/W99999", headers=shop.headers("agent")).status_code == 404
    finally:
        links.unlink()


def test_an_agent_finds_a_caller_by_the_full_number_only_and_not_too_often(client: TestClient, shop: Served) -> None:
    cid = _customer(client, shop, 70)
    phone = client.get(f"/customers/{cid}", headers=shop.headers("admin")).json()["person"]["phone"]
    found = client.get(f"/customers?phone={phone}", headers=shop.headers("agent"))
    assert found.status_code == 200 and [i["customer_id"] for i in found.json()["items"]] == [cid]
    assert client.get(f"/customers?phone={phone[:7]}", headers=shop.headers("agent")).status_code == 403
    assert client.get("/customers?name=张三", headers=shop.headers("agent")).status_code == 403
    codes = [client.get(f"/customers?phone={phone}", headers=shop.headers("agent")).status_code for _ in range(30)]
    assert codes.count(429) >= 1 and codes[0] == 200  # 30 a minute, and the first was spent above
    audit = client.get("/audit?action=search", headers=shop.headers("admin")).json()
    assert any(e["actor"] == "agent-user" and phone not in str(e) for e in audit)  # audited, masked
