"""Contact plans and their coverage on a hand-made shop whose tiers, owners and contacts are known.

As of 2026-06-30 (retail policy, cadence vip 2-4, regular 0-1, potential 0-0): V1 and V2 are VIP
(70 orders of 2,000 in the year), R1 and R2 regular (10 orders of 6,000), P1 potential (one
order of 100). Owners from the customers file's 客户经理 column: V1 张三, V2 none, R1 李四, R2 张三.
Contacts imported: V1 on 06-20, R1 on 05-01 before July; in July V1 twice and R1 twice.
Worked by hand: July's plan has V1, V2, R1, R2 (P1's cadence allows none) in the order V2 (VIP,
never contacted), V1 (VIP, last 06-20), R2 (regular, never), R1 (regular, last 05-01); priority
coverage (VIP) 1 of 2 = 50%; never contacted V2 and R2; over-serviced R1 (2 > 1).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tests.conftest import WriteCsv
from tierkit.app.coverage import report, write_plan
from tierkit.app.grading import grade_workspace
from tierkit.app.importing import import_files
from tierkit.app.owners import assign
from tierkit.app.plans import Month, cadence, make_plan
from tierkit.cli.app import app
from tierkit.errors import InputError
from tierkit.policy.loader import load_policy
from tierkit.workspace import Workspace


def _orders(customer: str, count: int, amount: str) -> list[dict[str, object]]:
    start = dt.date(2025, 7, 1)
    return [
        {
            "order_id": f"{customer}-{n}",
            "customer_id": customer,
            "ordered_at": str(start + dt.timedelta(days=n * 5)),
            "amount": amount,
        }
        for n in range(count)
    ]


@pytest.fixture
def shop(tmp_path: Path, write_csv: WriteCsv) -> Path:
    root = tmp_path / "shop"
    Workspace.init(root, "retail")
    orders = [*_orders("V1", 70, "2000.00"), *_orders("V2", 70, "2000.00"), *_orders("R1", 10, "6000.00")]
    orders += [*_orders("R2", 10, "6000.00"), *_orders("P1", 1, "100.00")]
    import_files(root, "orders", [write_csv("orders.csv", orders)], today="2026-12-31")
    people = [
        {"会员号": "V1", "客户经理": "张三", "地区": "华东"},
        {"会员号": "V2", "客户经理": "", "地区": "华东"},
        {"会员号": "R1", "客户经理": "李四", "地区": "华北"},
        {"会员号": "R2", "客户经理": "张三", "地区": "华北"},
        {"会员号": "P1", "客户经理": "李四", "地区": "华北"},
    ]
    import_files(root, "customers", [write_csv("customers.csv", people)], today="2026-12-31")
    seen = [("V1", "2026-06-20"), ("R1", "2026-05-01"), ("V1", "2026-07-03"), ("V1", "2026-07-15")]
    seen += [("R1", "2026-07-02"), ("R1", "2026-07-09")]
    rows = [
        {"contact_id": f"c{i}", "customer_id": c, "rep_id": "x", "at": d, "kind": "visit"}
        for i, (c, d) in enumerate(seen)
    ]
    import_files(root, "contacts", [write_csv("contacts.csv", rows)], today="2026-12-31")
    grade_workspace(root, as_of="2026-06-30")
    return root


def test_the_plan_is_the_hand_worked_one(shop: Path) -> None:
    stored, rows, _run, made = make_plan(shop, "2026-07")
    assert made and rows == 4
    plan = pq.read_table(stored).to_pylist()
    by_id = {r["customer_id"]: r for r in plan}
    assert sorted(by_id) == ["R1", "R2", "V1", "V2"]  # P1's cadence allows no contact
    assert [r["customer_id"] for r in sorted(plan, key=lambda r: r["priority"])] == ["V2", "V1", "R2", "R1"]
    assert {k: (v["tier"], v["planned_min"], v["planned_max"]) for k, v in by_id.items()} == {
        "V1": ("vip", 2, 4),
        "V2": ("vip", 2, 4),
        "R1": ("regular", 0, 1),
        "R2": ("regular", 0, 1),
    }
    assert {k: v["owner"] for k, v in by_id.items()} == {"V1": "张三", "V2": "(unassigned)", "R1": "李四", "R2": "张三"}
    assert by_id["V1"]["last_contacted"] == dt.date(2026, 6, 20) and by_id["V2"]["last_contacted"] is None
    assert by_id["R1"]["last_contacted"] == dt.date(2026, 5, 1)
    july = Month.parse("2026-07").working_days()
    for row in plan:
        days = [dt.date.fromisoformat(d) for d in row["due_dates"].split(";")]
        assert len(days) == max(row["planned_min"], 1) and all(d in july for d in days)
    assert "从未联系" in by_id["V2"]["reason"] and "上次联系 11 天前" in by_id["V1"]["reason"]


def test_a_plan_is_kept_as_made(shop: Path, write_csv: WriteCsv) -> None:
    first, _, _, made = make_plan(shop, "2026-07")
    before = pq.read_table(first)
    rows = [{"contact_id": "late", "customer_id": "V2", "rep_id": "x", "at": "2026-06-29", "kind": "call"}]
    import_files(shop, "contacts", [write_csv("more.csv", rows)], today="2026-12-31")
    again, _, _, made_again = make_plan(shop, "2026-07")
    assert made and not made_again and again == first
    assert pq.read_table(again).equals(before)  # coverage is judged against what was planned


def test_the_coverage_report_is_the_hand_worked_one(shop: Path) -> None:
    make_plan(shop, "2026-07")
    found = report(shop, "2026-07")
    assert found["month"] == "2026-07" and found["priority"] == ["vip"]
    assert found["priority_coverage"] == 0.5 and found["never_contacted"] == 2 and found["over_serviced"] == 1
    classes = {c["class"]: c for c in found["by_class"]}
    assert classes["vip"]["contacts_per_customer"] == 1.0 and classes["vip"]["never_contacted"] == 1
    assert classes["regular"]["over_serviced"] == 1 and classes["regular"]["cadence"] == [0, 1]
    owners = {o["owner"]: o for o in found["by_owner"]}
    assert (
        owners["张三"]["customers"] == 2
        and owners["张三"]["logged"] == 2
        and owners["张三"]["priority_coverage"] == 1.0
    )
    assert owners["李四"]["logged"] == 2 and owners["(unassigned)"]["priority_coverage"] == 0.0
    assert report(shop, "2026-07", ["regular"])["priority_coverage"] == 0.5


def test_owners_are_assigned_by_region_and_round_robin(shop: Path) -> None:
    by_region = assign(shop, "region", None, "tester")
    assert by_region == {"assigned": 1, "method": "region", "by_owner": {"张三": 1}}  # V2 in 华东, 张三's region
    stored, _, _, _ = make_plan(shop, "2026-08")
    assert {r["customer_id"]: r["owner"] for r in pq.read_table(stored).to_pylist()}["V2"] == "张三"
    assert assign(shop, "round-robin", ["王五"], "tester")["assigned"] == 0  # nobody is left without one


def test_bad_input_is_one_clear_error(shop: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="as of 2026-06-30, after that month"):
        make_plan(shop, "2026-05")
    with pytest.raises(InputError, match="YYYY-MM"):
        make_plan(shop, "2026-7")
    with pytest.raises(InputError, match="no plan for 2026-09"):
        report(shop, "2026-09")
    make_plan(shop, "2026-07")
    with pytest.raises(InputError, match=r"owners: \(unassigned\), 张三, 李四"):
        write_plan(shop, "2026-07", "赵六", tmp_path / "plan.csv")
    with pytest.raises(InputError, match="not a planned tier"):
        report(shop, "2026-07", ["gold"])
    policy = load_policy("retail").policy
    bad = policy.model_copy(
        update={"service": {"vip": policy.service["vip"].model_copy(update={"contacts_per_month": (3, 1)})}}
    )
    with pytest.raises(InputError, match=r"vip: contacts_per_month \[3, 1\]"):
        cadence(bad)


def test_the_commands_print_the_keys_scripts_read(shop: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(
        app, ["plan", "-w", str(shop), "--month", "2026-07", "--owner", "张三", "-o", str(tmp_path / "p.csv"), "--json"]
    )
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["written"] == 2
    got = runner.invoke(app, ["plan", "report", "-w", str(shop), "--month", "2026-07", "--json"])
    assert got.exit_code == 0, got.output
    assert {"month", "priority_coverage", "by_owner", "by_class", "never_contacted"} <= set(json.loads(got.stdout))
    bad = runner.invoke(app, ["plan", "-w", str(shop), "--month", "2026-05"])
    assert bad.exit_code == 2 or "after that month" in str(bad.exception)


def test_the_api_makes_the_plan_and_reports_for_staff_only(shop: Path) -> None:
    from fastapi.testclient import TestClient

    from tierkit.api.app import create_app
    from tierkit.app.serving import Settings
    from tierkit.runs.files import store_of
    from tierkit.store.users import add_user

    keys = {role: add_user(store_of(Workspace.open(shop)), f"{role}-p", role) for role in ("analyst", "agent")}
    with TestClient(create_app(shop, Settings(rate_per_second=0))) as client:
        staff = {"Authorization": f"Bearer {keys['analyst']}"}
        made = client.post("/plans/2026-07", headers=staff)
        assert made.status_code == 201 and made.json()["rows"] == 4 and made.json()["made"] is True
        assert client.post("/plans/2026-07", headers=staff).json()["made"] is False
        got = client.get("/plans/2026-07/report", headers=staff)
        assert got.status_code == 200 and got.json()["priority_coverage"] == 0.5
        bad = client.post("/plans/2026-05", headers=staff)
        assert bad.status_code == 400 and "after that month" in bad.json()["detail"]
        assert (
            client.get("/plans/2026-07/report", headers={"Authorization": f"Bearer {keys['agent']}"}).status_code == 403
        )
