"""`tierkit small` on a shop whose answers are worked out by hand (as of 2024-12-31).

Fourteen customers; the bottom 50% by 12-month spend are ranks 8 to 14, the u customers (all
bronze: under 1,000). The policy's defaults judge them (growth: order_trend_6m >= 1.2, breadth:
categories_12m >= 3, late: late_payments_12m >= 2, unpaid: unpaid_orders_12m >= 1, complaints:
complaints_90d >= 3, loss: margin - cost to serve < 0; two weed-out signals end the relationship):

    customer  spend  what                                               list (action)
    t1..t7    >= 5,000 (t7 paid late 3 times: not a small customer)     -
    u1          600  1 order Jan-Jun, 3 since (trend 3.0); 3 categories  upgrade: plan silver by 2025-06-30
    u2          550  paid late twice, 1 unpaid                           weed-out (end the relationship)
    u4          450  trend 2.0, but margin 20 - cost to serve 35 = -15   weed-out (cheaper channels)
    u3          400  3 complaints in 90 days; margin 40 - 90 = -50       weed-out (end the relationship)
    u6          350  paid late twice; margin 35                          weed-out (restrict service)
    u7          300  trend 2.0, 3 categories; 集团关键人 given by hand      neither (protected)
    u5          200  3 complaints, margin 20 - 30 = -10; 集团关键人 = 是    neither (protected)
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from tests.conftest import write_rows
from tierkit.app.grading import grade_workspace
from tierkit.app.small import small_customers
from tierkit.app.tags import give_many
from tierkit.workspace import Workspace

POLICY = """
name: small-shop
value: spend_12m
attributes: {集团关键人: boolean}
metrics:
  spend_12m: {sum: amount, window: 12M}
  margin_12m: {sum: profit, window: 12M, description: 近12个月毛利}
  service_cost_12m: {sum: cost, from: interactions, window: 12M}
  order_trend_6m: {trend: {count: orders}, window: 6M, description: 近6个月订单数 / 之前6个月}
  categories_12m: {distinct: category, window: 12M}
  late_payments_12m: {count: orders, where: "paid_at > due_at", window: 12M, description: 付款延迟次数}
  unpaid_orders_12m: {count: orders, where: "paid_at is null and due_at is not null", window: 12M}
  complaints_90d: {count: interactions, where: "kind == 'complaint'", window: 90D}
tiers:
  - {name: gold, label: {zh: 金牌客户, en: Gold}, when: "spend_12m >= 10000"}
  - {name: silver, label: {zh: 银牌客户, en: Silver}, when: "spend_12m >= 1000"}
  - {name: bronze, label: {zh: 铜牌客户, en: Bronze}, else: true}
tags:
  - {name: key_person, label: {zh: 集团关键人, en: Key person}, when: "集团关键人"}
profit:
  margin: margin_12m
  cost_to_serve: service_cost_12m
  small:
    upgrade: {within: 6M}
"""
AS_OF = "2024-12-31"


def _order(cid: str, at: str, amount: str, profit: str, category: str = "", due: str = "", paid: str = "") -> dict:
    return {
        "customer_id": cid,
        "ordered_at": at,
        "amount": amount,
        "profit": profit,
        "category": category,
        "due_at": due,
        "paid_at": paid,
    }


ORDERS = [
    *[_order(f"t{i + 1}", "2024-10-01", amount, "0") for i, amount in enumerate(["20000", "15000", "12000", "11000"])],
    _order("t5", "2024-10-01", "10500", "0"),
    _order("t6", "2024-10-01", "9000", "0"),
    *[_order("t7", f"2024-0{m}-01", "1000", "100", "", f"2024-0{m}-10", f"2024-0{m}-20") for m in (3, 4, 5)],
    _order("t7", "2024-11-01", "2000", "200"),
    # u1: one order in Jan-Jun, three since; categories A, B, C
    _order("u1", "2024-03-10", "100", "30", "A"),
    _order("u1", "2024-08-10", "200", "60", "B"),
    _order("u1", "2024-09-10", "200", "60", "C"),
    _order("u1", "2024-10-10", "100", "30", "A"),
    # u2: paid late twice, one order never paid
    _order("u2", "2024-05-01", "300", "30", "", "2024-05-31", "2024-07-15"),
    _order("u2", "2024-06-01", "150", "15", "", "2024-07-01", "2024-08-01"),
    _order("u2", "2024-11-01", "100", "10", "", "2024-12-01", ""),
    # u3: one order, three complaints (below)
    _order("u3", "2024-11-15", "400", "40", "A"),
    # u4: growing (1 order, then 2), but costs 35 to serve for a margin of 20
    _order("u4", "2024-03-01", "100", "10", "A"),
    _order("u4", "2024-09-01", "200", "10", "A"),
    _order("u4", "2024-10-01", "150", "0", "A"),
    # u5: a key person by the customers file
    _order("u5", "2024-08-01", "200", "20", "A"),
    # u6: paid late twice, profitable
    _order("u6", "2024-07-01", "200", "20", "", "2024-07-31", "2024-08-20"),
    _order("u6", "2024-08-01", "150", "15", "", "2024-08-31", "2024-09-10"),
    # u7: growing across three categories; a key person given by hand
    _order("u7", "2024-05-01", "100", "10", "A"),
    _order("u7", "2024-08-01", "100", "10", "B"),
    _order("u7", "2024-09-01", "100", "10", "C"),
]
INTERACTIONS = [
    *[
        {"customer_id": "u3", "at": at, "kind": "complaint", "cost": "30.00"}
        for at in ("2024-11-20", "2024-12-01", "2024-12-10")
    ],
    {"customer_id": "u4", "at": "2024-09-05", "kind": "inquiry", "cost": "35.00"},
    *[
        {"customer_id": "u5", "at": at, "kind": "complaint", "cost": "10.00"}
        for at in ("2024-12-01", "2024-12-02", "2024-12-03")
    ],
]
CUSTOMERS = [
    {"customer_id": cid, "集团关键人": "是" if cid == "u5" else "否"}
    for cid in sorted({o["customer_id"] for o in ORDERS})
]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("small") / "ws"
    ws = Workspace.init(root, "retail")
    (root / "policy.yaml").write_text(POLICY, "utf-8")
    write_rows(ws.data_dir / "orders.csv", ORDERS)
    write_rows(ws.data_dir / "interactions.csv", INTERACTIONS)
    write_rows(ws.data_dir / "customers.csv", CUSTOMERS)
    grade_workspace(root, as_of=AS_OF)
    give_many(root, ["u7"], "集团关键人", "heads the buying office of a group client", None, "tester")
    return root


def test_the_bottom_half_split_into_upgrade_and_weed_out_candidates(shop: Path) -> None:
    found = small_customers(shop, "en")
    assert (found["customers"], found["small_customers"], found["protected"]) == (14, 7, 2)
    assert [item["customer_id"] for item in found["upgrade"]["items"]] == ["u1"]
    weed = found["weed_out"]
    assert [(i["customer_id"], i["action"]) for i in weed["items"]] == [
        ("u3", "end_relationship"),  # two signals, the larger loss first
        ("u2", "end_relationship"),
        ("u4", "cheaper_channels"),  # one signal: the larger loss first
        ("u6", "restrict_service"),
    ]
    assert weed["by_action"] == {"restrict_service": 1, "cheaper_channels": 1, "end_relationship": 2}
    assert found["upgrade"]["count"] == 1 and weed["count"] == 4
    listed = {i["customer_id"] for i in found["upgrade"]["items"] + weed["items"]}
    assert not listed & {"u5", "u7", "t7"}  # key persons (by the file, by hand); t7 is no small customer
    assert found["notes"] == []


def test_each_candidate_says_why_and_what_to_do(shop: Path) -> None:
    found = small_customers(shop, "en")
    up = found["upgrade"]["items"][0]
    assert up["signals"] == ["growth", "breadth"]
    assert up["why"] == (
        "growing: order_trend_6m 3.0 (at least 1.2); buys across categories: categories_12m 3 (at least 3)"
    )
    assert up["plan"] == "Upgrade plan: Silver (silver) by 2025-06-30"
    assert (up["target_tier"], up["target_date"], up["tier"], up["tier_label"]) == (
        "silver",
        "2025-06-30",
        "bronze",
        "Bronze",
    )
    assert up["action_label"].startswith("Offer higher-margin products")
    assert (up["value"], up["value_rank"], up["margin"], up["cost_to_serve"], up["profit"]) == (
        "600.00",
        8,
        "180.00",
        "0.00",
        "180.00",
    )
    weed = {i["customer_id"]: i for i in found["weed_out"]["items"]}
    assert weed["u2"]["why"] == (
        "pays late: late_payments_12m 2 (at least 2); does not pay: unpaid_orders_12m 1 (at least 1)"
    )
    assert weed["u3"]["why"] == (
        "complains a lot: complaints_90d 3 (at least 3); "
        "loses money after the cost to serve: margin 40.00 − cost to serve 90.00 = -50.00"
    )
    assert weed["u3"]["signals"] == ["complaints", "loss"] and weed["u3"]["profit"] == "-50.00"
    # a loss decides over growth; the reasons say both
    assert weed["u4"]["signals"] == ["loss", "growth"]
    assert weed["u4"]["why"] == (
        "loses money after the cost to serve: margin 20.00 − cost to serve 35.00 = -15.00; "
        "growing: order_trend_6m 2.0 (at least 1.2)"
    )
    assert weed["u4"]["plan"] is None and weed["u4"]["target_tier"] is None
    assert weed["u6"]["action_label"].startswith("Restrict the scope of service")


def test_the_reasons_in_chinese(shop: Path) -> None:
    found = small_customers(shop, "zh")
    up = found["upgrade"]["items"][0]
    assert up["why"] == "增长: 近6个月订单数 / 之前6个月 3.0 (≥ 1.2); 品类广: categories_12m 3 (≥ 3)"
    assert up["plan"] == "升级计划: 2025-06-30 前升至 银牌客户 (silver)"
    weed = {i["customer_id"]: i for i in found["weed_out"]["items"]}
    assert weed["u2"]["why"] == "延期付款: 付款延迟次数 2 (≥ 2); 拖欠不付款: unpaid_orders_12m 1 (≥ 1)"
    assert weed["u2"]["action_label"].startswith("坚决淘汰")


def test_both_lists_whole_as_csv_for_excel_and_as_a_workbook(shop: Path, tmp_path: Path) -> None:
    found = small_customers(shop, "zh", limit=1, output=tmp_path / "small.csv")
    assert found["written"] == 5 and len(found["weed_out"]["items"]) == 1  # the page, not the file
    raw = (tmp_path / "small.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [(r["customer_id"], r["list"]) for r in rows] == [
        ("u1", "upgrade"),
        ("u3", "weed_out"),
        ("u2", "weed_out"),
        ("u4", "weed_out"),
        ("u6", "weed_out"),
    ]
    assert rows[0]["list_label"].startswith("升级候选") and rows[0]["target_date"] == "2025-06-30"
    assert rows[1]["profit"] == "-50.00" and rows[1]["why"].startswith("投诉多")
    small_customers(shop, "en", output=tmp_path / "small.xlsx")
    book = openpyxl.load_workbook(tmp_path / "small.xlsx", read_only=True)
    sheet = book.worksheets[1]
    cells = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    assert len(cells) == 6 and cells[1][0] == "u1"


def test_the_lists_follow_the_policy(shop: Path, tmp_path: Path) -> None:
    """Thresholds and switches from `profit.small`: two upgrade signals needed, no loss test."""
    ws = Workspace.open(shop)
    policy = POLICY.replace(
        "    upgrade: {within: 6M}", "    upgrade: {within: 6M, needs: 2, growth: 2.5}\n    weed_out: {loss: false}"
    )
    (ws.root / "policy.yaml").write_text(policy, "utf-8")
    try:
        grade_workspace(shop, as_of=AS_OF)
        found = small_customers(shop, "en")
    finally:
        (ws.root / "policy.yaml").write_text(POLICY, "utf-8")
        grade_workspace(shop, as_of=AS_OF)
    assert [i["customer_id"] for i in found["upgrade"]["items"]] == ["u1"]  # trend 3.0 and 3 categories
    weed = {i["customer_id"]: i["action"] for i in found["weed_out"]["items"]}
    assert weed == {"u2": "end_relationship", "u6": "restrict_service", "u3": "restrict_service"}  # no loss: u4 is out
    assert not any(t["signal"] == "loss" for t in found["tests"])


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from tierkit.cli.app import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_command_prints_both_lists(shop: Path) -> None:
    done = _cli("small", "-w", str(shop), "--lang", "en")
    assert done.returncode == 0, done.stderr
    assert "Upgrade candidates: 1" in done.stdout and "Weed-out candidates: 4" in done.stdout
    assert "Upgrade plan: Silver (silver) by 2025-06-30" in done.stdout
    assert "u5" not in done.stdout and "u7" not in done.stdout


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "empty", "retail")
    done = _cli("small", "-w", str(ws.root))
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "no runs yet" in done.stderr, done.stderr
    no_value = tmp_path / "no-value"
    Workspace.init(no_value, "retail")
    (no_value / "policy.yaml").write_text(
        "name: plain\nmetrics:\n  orders_12m: {count: orders, window: 12M}\ntiers:\n  - {name: all, else: true}\n",
        "utf-8",
    )
    write_rows(no_value / "data" / "orders.csv", [_order("a", "2024-01-01", "10", "1")])
    grade_workspace(no_value, as_of=AS_OF)
    done = _cli("small", "-w", str(no_value))
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "has no value measure" in done.stderr
    done = _cli("small", "-w", str(no_value), "--output", str(tmp_path / "x.parquet"))
    assert done.returncode == 2 and ".csv or .xlsx" in done.stderr and not (tmp_path / "x.parquet").exists()
