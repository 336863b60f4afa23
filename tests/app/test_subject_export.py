"""`tierkit subject-export`: everything tierkit holds on a person (PIPL art. 45), checked against
the files and store rows it came from; after `tierkit forget`, the same document without the
erased values."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tests.app.privacy_shop import CUSTOMER, Shop, make_shop
from tierkit.cli.app import app
from tierkit.errors import NotFoundError
from tierkit.runs.card import run_policy
from tierkit.runs.files import list_runs, store_of
from tierkit.runs.reasons_full import full_reasons
from tierkit.store import schema
from tierkit.workspace import Workspace

runner = CliRunner()
KEYS = {
    "format",
    "customer_id",
    "records",
    "generated_at",
    "workspace",
    "erased",
    "data",
    "runs",
    "current",
    "tier_history",
    "overrides",
    "manual_tags",
    "complaints",
    "contacts_logged",
    "entitlement_uses",
    "alerts",
    "owners",
    "audit",
}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    """The privacy shop, with an alert about the person and an owner assignment (hand-made rows)."""
    made = make_shop(tmp_path_factory.mktemp("subject"))
    store = store_of(Workspace.open(made.root))
    now = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    run_id = list_runs(Workspace.open(made.root))[-1].run_id
    alert = {"event_id": "e1", "run_id": run_id, "event": "tier_down", "customer_id": CUSTOMER, "owner": "胡佳"}
    with store.begin() as con:
        con.execute(
            schema.alerts.insert(), [{**alert, "old": "vip", "new": "regular", "reasons": "[]", "created_at": now}]
        )
        con.execute(schema.alerts.insert(), [{**alert, "event_id": "e2", "customer_id": "00000002", "created_at": now}])
    owners = pa.table(
        {
            "customer_id": [CUSTOMER, "00000002"],
            "owner": ["胡佳", "黄强"],
            "method": ["manual", "rule"],
            "by": ["admin", "admin"],
            "at": pa.array([now, now], pa.timestamp("us", tz="UTC")),
            "reason": ["客户要求换经理", None],
        }
    )
    pq.write_table(owners, made.root / "data" / "owners.parquet")
    return made


def export_of(root: Path, *more: str) -> dict[str, Any]:
    said = runner.invoke(app, ["subject-export", CUSTOMER, "-w", str(root), *more])
    assert said.exit_code == 0, said.output
    return json.loads(said.stdout)  # type: ignore[no-any-return]


def test_the_document_holds_every_place_tierkit_keeps_the_person(shop: Shop, tmp_path: Path) -> None:
    out = tmp_path / "subject.json"
    said = runner.invoke(app, ["subject-export", CUSTOMER, "-w", str(shop.root), "-o", str(out)])
    assert said.exit_code == 0, said.output
    raw = out.read_bytes()
    assert str(shop.customer["name"]).encode("utf-8") in raw  # UTF-8, not \\u escapes
    document = json.loads(raw.decode("utf-8"))
    assert set(document) == KEYS and document["format"] == "tierkit-subject-export/1"
    assert document["customer_id"] == CUSTOMER and document["records"] == [CUSTOMER, "M" + CUSTOMER]
    assert document["erased"] is False
    # imported rows, as stored: both systems' records, with the CRM's own columns
    customers = {r["customer_id"]: r for r in document["data"]["customers"]}
    assert set(customers) == {CUSTOMER, "M" + CUSTOMER}
    crm = customers[CUSTOMER]
    assert (crm["name"], crm["phone"], crm["id_number"]) == (shop.customer["name"], shop.phone, shop.id_number)
    assert crm["birth_date"] == str(shop.customer["birth_date"]) and crm["_file"].startswith("data/customers/")
    assert crm["attributes"]["家庭住址"] == "湖北省武汉市洪山区珞喻路001号" and crm["attributes"]["集团关键人"] == "否"
    orders = pq.read_table(shop.sources / "orders.parquet", filters=[("customer_id", "=", CUSTOMER)]).to_pylist()
    assert sorted(o["order_id"] for o in document["data"]["orders"]) == sorted(o["order_id"] for o in orders)
    assert sum(o["amount"] for o in document["data"]["orders"]) == pytest.approx(
        float(sum(o["amount"] for o in orders))
    )
    assert document["data"]["interactions"] == [] and document["data"]["contacts"] == []
    # every run, its graded row and the reasons in words
    runs = list_runs(Workspace.open(shop.root))
    assert [r["run_id"] for r in document["runs"]] == [r.run_id for r in runs]
    for entry, run in zip(document["runs"], runs, strict=True):
        (row,) = pq.read_table(run.result, filters=[("customer_id", "=", CUSTOMER)]).to_pylist()
        assert entry["row"]["tier"] == row["tier"] and entry["row"]["spend_12m"] == pytest.approx(
            float(row["spend_12m"])
        )
        assert entry["reasons_json"] == full_reasons(row["reasons"], row, run_policy(run))
        assert entry["reasons_json"]["values"]["spend_12m"] == pytest.approx(float(row["spend_12m"]))
        assert entry["reasons"][0].startswith("定为") and any("依据的数值" in s for s in entry["reasons"])
    assert [r["current"] for r in document["runs"]] == [False, True]
    assert document["current"]["run_id"] == runs[-1].run_id
    assert document["current"]["tier_in_effect"] == "vip"  # the override in force wins
    assert [(h["as_of"], h["tier"]) for h in document["tier_history"]] == [
        (r.manifest["as_of"], e["row"]["tier"]) for r, e in zip(runs, document["runs"], strict=True)
    ]
    # the store's rows about them, and only theirs
    assert [o["reason"] for o in document["overrides"]] == [f"行长特批，身份证 {shop.id_number}"]
    assert [t["tag"] for t in document["manual_tags"]] == ["集团关键人"]
    assert [(c["topic"], c["status"]) for c in document["complaints"]] == [("账单有误", "resolved")]
    assert [c["note"] for c in document["contacts_logged"]] == [f"客户换了新号码 {shop.phone}，已回电"]
    assert [u["code"] for u in document["entitlement_uses"]] == ["free_sim"]
    assert [(a["event_id"], a["old"], a["new"]) for a in document["alerts"]] == [("e1", "vip", "regular")]
    assert [(o["owner"], o["reason"]) for o in document["owners"]] == [("胡佳", "客户要求换经理")]
    assert [a["action"] for a in document["audit"]] == ["override", "view_card"]
    assert all(a["at"].endswith("+00:00") for a in document["audit"])
    # taking it is audited, without its content
    again = export_of(shop.root)
    assert [a["action"] for a in again["audit"]][-1] == "subject_export"
    assert json.loads(again["audit"][-1]["detail"]) == {"records": 2, "output": True}


def test_the_reasons_come_in_the_language_asked(shop: Shop) -> None:
    document = export_of(shop.root, "--lang", "en")
    assert not any("定为" in s for s in document["current"]["reasons"])
    assert any("Values" in s or "values" in s for s in document["current"]["reasons"])


def test_after_forget_the_document_holds_no_erased_value(shop: Shop, tmp_path: Path) -> None:
    root = tmp_path / "shop"
    shutil.copytree(shop.root, root)
    before = export_of(root)
    said = runner.invoke(app, ["forget", CUSTOMER, "-w", str(root), "--reason", "本人要求"])
    assert said.exit_code == 0, said.output
    document = export_of(root)
    text = json.dumps(document, ensure_ascii=False)
    for value in (shop.phone, shop.id_number, str(shop.customer["name"]), "洪山区珞喻路001号", "客户要求换经理"):
        assert value not in text, value
    assert document["erased"] is True
    assert len(document["data"]["orders"]) == len(before["data"]["orders"])  # the history stays
    assert [h["tier"] for h in document["tier_history"]] == [h["tier"] for h in before["tier_history"]]
    assert [a["action"] for a in document["audit"]][-1] == "forget"


def test_a_customer_tierkit_holds_nothing_on_is_one_line(shop: Shop) -> None:
    said = runner.invoke(app, ["subject-export", "99999999", "-w", str(shop.root)])
    assert isinstance(said.exception, NotFoundError) and said.exception.exit_code == 2
    assert "'99999999': tierkit holds nothing on them" in str(said.exception)
