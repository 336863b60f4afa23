"""Watchlists and the migration cell, on workspaces whose answers are worked out by hand.

The shop below is written order by order, so each customer's tier in both runs is known before
any code runs (retail preset: vip = spend_12m > 100,000 and more than 5 orders a month, i.e. 61
or more in 12 months; regular = spend_12m >= 50,000; else potential):

    customer  run A (as of 2024-06-30)       run B (as of 2024-12-31, published)
    c01       vip (61 x 2,000 in 2023-08)    regular (60,000 in 2024-09)
    c02       regular (70,000 in 2023-10)    potential (60 + 40, both paid late)
    c03       vip (61 x 3,000 in 2023-09)    potential (10 in 2024-10)
    c04       regular (55,000 in 2023-11)    regular (55,000 in 2024-11), 3 complaints
    c05       potential (100, paid late)     regular (+80,000, paid late), 3 complaints
    c06       (not yet a customer)           regular (90,000 in 2024-08); late_payer given by hand
    c07       regular (60,000 in 2024-02)    (gone: not in run B's orders)
    c08       regular (70,000 in 2023-10)    potential (50 in 2024-09)
    =c09      (not yet a customer)           potential (5 + 5, both paid late)

The churn list runs on the demo shop with the churn metrics of docs/churn.md added; its order is
checked against the result file read with pyarrow.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow.parquet as pq
import pytest

from tests.conftest import write_rows
from tierkit.app import tags as tag_uses
from tierkit.app.customers import Caller, build_card, override
from tierkit.app.demo import demo
from tierkit.app.grading import grade_workspace
from tierkit.app.runs import diff
from tierkit.app.serving import ServedWorkspace
from tierkit.app.watchlists import churn_watch, export_watchlist, flagged, moved_down
from tierkit.errors import NotAllowedError, RequestError
from tierkit.runs.diff import migrate
from tierkit.runs.files import load_run
from tierkit.store.audit import entries
from tierkit.workspace import Workspace

ANALYST, AGENT = Caller("ana", "analyst"), Caller("agnes", "agent")
LATER = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)


def _order(n: int, cid: str, at: str, amount: float, late: bool = False) -> dict[str, object]:
    """One order; a late one is due 10 days after it and paid 30 days after it."""
    day = dt.date.fromisoformat(at)
    row: dict[str, object] = {"order_id": f"o{n}", "customer_id": cid, "ordered_at": at, "amount": f"{amount:.2f}"}
    row["due_at"] = (day + dt.timedelta(days=10)).isoformat() if late else ""
    row["paid_at"] = (day + dt.timedelta(days=30)).isoformat() if late else ""
    return row


def _orders() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """(orders up to run A's as-of, with c07; every order of run B, without c07)."""
    rows: list[tuple[str, str, float, bool]] = []
    rows += [("c01", f"2023-08-{1 + i % 28:02d}", 2000.0, False) for i in range(61)]
    rows += [("c03", f"2023-09-{1 + i % 28:02d}", 3000.0, False) for i in range(61)]
    rows += [
        ("c01", "2024-09-01", 60000.0, False),
        ("c02", "2023-10-01", 70000.0, False),
        ("c02", "2024-07-15", 60.0, True),
        ("c02", "2024-08-15", 40.0, True),
        ("c03", "2024-10-01", 10.0, False),
        ("c04", "2023-11-01", 55000.0, False),
        ("c04", "2024-11-01", 55000.0, False),
        ("c05", "2024-03-01", 100.0, True),
        ("c05", "2024-10-01", 80000.0, True),
        ("c06", "2024-08-01", 90000.0, False),
        ("c08", "2023-10-15", 70000.0, False),
        ("c08", "2024-09-15", 50.0, False),
        ("=c09", "2024-09-01", 5.0, True),
        ("=c09", "2024-10-01", 5.0, True),
    ]
    every = [_order(n, cid, at, amount, late) for n, (cid, at, amount, late) in enumerate(rows)]
    run_a = [o for o in every if str(o["ordered_at"]) <= "2024-06-30"] + [_order(999, "c07", "2024-02-01", 60000.0)]
    return run_a, every


COMPLAINTS = [("c04", "2024-11-05"), ("c04", "2024-11-20"), ("c04", "2024-12-10")]
COMPLAINTS += [("c05", "2024-12-01"), ("c05", "2024-12-02"), ("c05", "2024-12-03")]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The two-run workspace of the module docstring, with c06's late_payer given by hand."""
    root = tmp_path_factory.mktemp("shop")
    run_a, run_b = _orders()
    files = root / "files"
    files.mkdir()
    interactions = write_rows(
        files / "interactions.csv",
        [
            {"interaction_id": f"i{n}", "customer_id": c, "at": at, "kind": "complaint"}
            for n, (c, at) in enumerate(COMPLAINTS)
        ],
    )
    ws = root / "ws"
    Workspace.init(ws, "retail")
    first = grade_workspace(
        ws, orders=write_rows(files / "a.csv", run_a), interactions=interactions, as_of="2024-06-30"
    )
    second = grade_workspace(
        ws, orders=write_rows(files / "b.csv", run_b), interactions=interactions, as_of="2024-12-31", publish=True
    )
    served = ServedWorkspace.open(ws)
    tag_uses.give(served, "c06", "late_payer", "paid 60 days late on a call", LATER, ANALYST)
    tag_uses.give(served, "c05", "serial_complainer", "also given by hand: counted once", None, ANALYST)
    tag_uses.give(served, "c01", "friend_of_the_owner", "not a complaint or credit tag", None, ANALYST)
    yield {"root": ws, "a": first["run_id"], "b": second["run_id"], "served": served}
    served.close()


def test_the_fixture_grades_as_worked_out_by_hand(shop: dict[str, Any]) -> None:
    ws = Workspace.open(shop["root"])
    tiers = {}
    for key in ("a", "b"):
        table = pq.read_table(load_run(ws, shop[key]).result, columns=["customer_id", "tier", "tags"])
        tiers[key] = dict(zip(table["customer_id"].to_pylist(), table["tier"].to_pylist(), strict=True))
    assert tiers["a"] == {
        "c01": "vip", "c02": "regular", "c03": "vip", "c04": "regular", "c05": "potential", "c07": "regular",
        "c08": "regular",
    }  # fmt: skip
    assert tiers["b"] == {
        "c01": "regular", "c02": "potential", "c03": "potential", "c04": "regular", "c05": "regular",
        "c06": "regular", "c08": "potential", "=c09": "potential",
    }  # fmt: skip


def test_migration_lists_one_cell_the_diagonal_and_pages(shop: dict[str, Any]) -> None:
    ws = Workspace.open(shop["root"])
    a, b = load_run(ws, shop["a"]), load_run(ws, shop["b"])
    whole = migrate(a, b)
    assert whole.movers_total == 8 and "c04" not in [m["customer_id"] for m in whole.movers]  # c04 stayed
    cell = migrate(b, a, cell=("regular", "potential"))  # given later first: read from the earlier as-of
    assert cell.matrix == whole.matrix and cell.reordered
    # by value in both runs: c02 70,000 + 100, c08 70,000 + 50
    assert [(m["customer_id"], m["value_a"], m["value_b"]) for m in cell.movers] == [
        ("c02", "70000.00", "100.00"),
        ("c08", "70000.00", "50.00"),
    ]
    assert cell.movers_total == 2
    page = migrate(a, b, limit=1, cell=("regular", "potential"), offset=1)
    assert [m["customer_id"] for m in page.movers] == ["c08"] and page.movers_total == 2
    assert page.as_dict()["cell"] == ["regular", "potential"] and page.as_dict()["offset"] == 1
    stayed = migrate(a, b, cell=("regular", "regular"))
    assert [m["customer_id"] for m in stayed.movers] == ["c04"] and stayed.movers_total == 1
    assert [m["customer_id"] for m in migrate(a, b, cell=("(new)", "regular")).movers] == ["c06"]
    assert [m["customer_id"] for m in migrate(a, b, cell=("regular", "(gone)")).movers] == ["c07"]
    assert migrate(a, b, cell=("vip", "vip")).movers == []


def test_app_diff_takes_the_cell_as_keywords(shop: dict[str, Any]) -> None:
    found = diff(shop["root"], shop["a"], shop["b"], cell=("vip", "potential"))
    assert [m["customer_id"] for m in found["movers"]] == ["c03"] and found["movers_total"] == 1
    assert found["labels"]["potential"] == "潜在客户" and found["cell"] == ["vip", "potential"]
    assert diff(shop["root"], shop["a"], shop["b"])["movers_total"] == 8  # as before without a cell


def test_moved_down_lists_who_fell_by_value_before(shop: dict[str, Any]) -> None:
    found = moved_down(shop["served"], AGENT, lang="en")  # agents may read the lists
    assert found["available"] and found["note"] is None and found["run_id"] == shop["b"]
    assert found["previous_run_id"] == shop["a"] and found["total"] == 4
    # c05 moved up, c04 stayed, c06 and =c09 are new, c07 is gone: none of them moved down
    assert found["items"] == [
        {"customer_id": "c03", "from": "vip", "from_label": "VIP", "to": "potential", "to_label": "Potential"}
        | {"value_before": "183000.00", "value_now": "10.00"},
        {"customer_id": "c01", "from": "vip", "from_label": "VIP", "to": "regular", "to_label": "Regular"}
        | {"value_before": "122000.00", "value_now": "60000.00"},
        {"customer_id": "c02", "from": "regular", "from_label": "Regular", "to": "potential", "to_label": "Potential"}
        | {"value_before": "70000.00", "value_now": "100.00"},
        {"customer_id": "c08", "from": "regular", "from_label": "Regular", "to": "potential", "to_label": "Potential"}
        | {"value_before": "70000.00", "value_now": "50.00"},  # the same value before: by customer id
    ]
    page = moved_down(shop["served"], ANALYST, limit=2, offset=1)
    assert [i["customer_id"] for i in page["items"]] == ["c01", "c02"] and page["total"] == 4
    assert page["items"][0]["from_label"] == "VIP客户"  # the workspace's language by default


def test_flagged_counts_complaint_and_credit_tags_graded_or_given(shop: dict[str, Any]) -> None:
    found = flagged(shop["served"], AGENT)
    # c05: serial_complainer (graded and given: once) + late_payer; c06: late_payer given by hand;
    # c04 and c02 one each, c04 worth more; =c09 one, worth 10; c01's own tag is in no such group
    assert [(i["customer_id"], [t["name"] for t in i["tags"]], i["value"]) for i in found["items"]] == [
        ("c05", ["serial_complainer", "late_payer"], "80100.00"),
        ("c06", ["late_payer"], "90000.00"),
        ("c04", ["serial_complainer"], "55000.00"),
        ("c02", ["late_payer"], "100.00"),
        ("=c09", ["late_payer"], "10.00"),
    ]
    assert found["total"] == 5 and found["available"]
    assert found["items"][0]["tags"] == [
        {"name": "serial_complainer", "label": "投诉专业户"},
        {"name": "late_payer", "label": "付款延迟"},
    ]
    assert {k for i in found["items"] for k in i} == {"customer_id", "tier", "tier_label", "tags", "value"}


def test_flagged_shows_the_tier_in_effect(shop: dict[str, Any]) -> None:
    """An override wins, as on the card (the lists above assert graded tiers only)."""
    served = shop["served"]
    override(served, "c02", "vip", "kept by the manager", LATER, ANALYST)
    item = next(i for i in flagged(served, ANALYST)["items"] if i["customer_id"] == "c02")
    assert (item["tier"], item["tier_label"]) == ("vip", "VIP客户")
    assert moved_down(served, ANALYST)["items"][2]["to"] == "potential"  # moved_down compares graded tiers


def test_export_writes_the_whole_list_and_is_audited(shop: dict[str, Any], tmp_path: Path) -> None:
    served = shop["served"]
    path, rows = export_watchlist(served, "flagged", "csv", tmp_path, ANALYST)
    assert rows == 5 and path.parent == tmp_path and path.suffix == ".csv"
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # a BOM: Excel reads UTF-8
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table[0] == ["customer_id", "tier", "tier_label", "value", "tags", "flags"]
    assert [r[0] for r in table[1:]] == ["c05", "c06", "c04", "c02", "'=c09"]  # formula-like text escaped
    path, rows = export_watchlist(served, "moved_down", "xlsx", tmp_path, ANALYST, lang="en")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Summary", "Customers"] and rows == 4
    sheet = [[c.value for c in row] for row in book["Customers"].iter_rows()]
    assert [r[0] for r in sheet[1:]] == ["c03", "c01", "c02", "c08"]
    assert "name" not in sheet[0] and "phone" not in sheet[0]
    served.audit.flush()
    audited = entries(served.store, "watchlist.moved_down.xlsx")
    assert audited and audited[0]["actor"] == "ana" and '"rows": 4' in audited[0]["detail"]


def test_agents_may_not_export_and_unknown_lists_are_refused(shop: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(NotAllowedError):
        export_watchlist(shop["served"], "flagged", "csv", tmp_path, AGENT)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RequestError):
        export_watchlist(shop["served"], "vip", "csv", tmp_path, ANALYST)
    with pytest.raises(RequestError):
        export_watchlist(shop["served"], "flagged", "json", tmp_path, ANALYST)


def test_unavailable_lists_say_why(shop: dict[str, Any], tmp_path: Path) -> None:
    found = churn_watch(shop["served"], ANALYST)  # the retail preset has no churn metric
    assert not found["available"] and found["items"] == [] and found["total"] == 0
    assert "churn: risk" in found["note"]
    assert "churn risk" in churn_watch(shop["served"], ANALYST, lang="en")["note"]
    with pytest.raises(RequestError, match="churn"):
        export_watchlist(shop["served"], "churn", "csv", tmp_path, ANALYST)
    one = tmp_path / "one"
    Workspace.init(one, "retail")
    run_b = _orders()[1]
    grade_workspace(one, orders=write_rows(tmp_path / "b.csv", run_b), as_of="2024-12-31")
    single = ServedWorkspace.open(one)
    try:
        found = moved_down(single, ANALYST, lang="en")
        assert not found["available"] and found["items"] == [] and "earlier as-of" in found["note"]
    finally:
        single.close()
    policy = one / "policy.yaml"
    text = policy.read_text("utf-8")
    policy.write_text(text.replace("    group: complaint\n", "").replace("    group: credit\n", ""), "utf-8")
    grade_workspace(one, orders=tmp_path / "b.csv", as_of="2024-12-31", publish=True)
    ungrouped = ServedWorkspace.open(one)
    try:
        found = flagged(ungrouped, ANALYST)
        assert not found["available"] and found["total"] == 0 and "complaint" in found["note"]
        # a re-grade of the same date is not the run before: still nothing to compare with
        assert not moved_down(ungrouped, ANALYST)["available"]
    finally:
        ungrouped.close()


CHURN_METRICS = "  churn_risk: {churn: risk, horizon: 90D}\n  churn_signals: {churn: signals, horizon: 90D}\n"


@pytest.fixture(scope="module")
def churn_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo shop, graded again with the churn metrics of docs/churn.md (same as-of date)."""
    root = tmp_path_factory.mktemp("churn") / "ws"
    demo(root, 400, 7, None, "zh")
    policy = root / "policy.yaml"
    policy.write_text(policy.read_text("utf-8").replace("\nmetrics:\n", f"\nmetrics:\n{CHURN_METRICS}", 1), "utf-8")
    grade_workspace(root, publish=True)
    return root


def test_churn_watch_orders_by_risk_with_the_cards_words(churn_shop: Path, tmp_path: Path) -> None:
    served = ServedWorkspace.open(churn_shop)
    try:
        snapshot = served.snapshot()
        result = pq.read_table(snapshot.run.result).to_pylist()
        expected = sorted(result, key=lambda r: (-r["churn_risk"], r["customer_id"]))
        found = churn_watch(served, AGENT, limit=20)
        assert found["available"] and found["total"] == 400 == len(result)
        assert [(i["customer_id"], i["risk"]) for i in found["items"]] == [
            (r["customer_id"], round(r["churn_risk"], 4)) for r in expected[:20]
        ]
        later = churn_watch(served, AGENT, limit=5, offset=20)
        assert [i["customer_id"] for i in later["items"]] == [r["customer_id"] for r in expected[20:25]]
        top, row = found["items"][0], expected[0]
        assert top["value"] == str(row["spend_12m"]) and top["tier"] == row["tier"]
        assert top["signals"] == build_card(served, snapshot, top["customer_id"], "agent")["metrics"]["churn_signals"]
        raw = dict(part.split("=") for part in row["churn_signals"].split(";"))
        assert len(top["signals"]) == len(raw) >= 1
        if "recency_days" in raw:  # docs/churn.md: 距上次购买 {value} 天
            assert f"距上次购买 {raw['recency_days']} 天" in top["signals"]
        assert all(set(i) == {"customer_id", "tier", "tier_label", "risk", "signals", "value"} for i in found["items"])
        override(served, top["customer_id"], "vip", "a key account in talks", LATER, ANALYST)
        again = churn_watch(served, ANALYST, limit=1)["items"][0]
        assert (again["customer_id"], again["tier"], again["tier_label"]) == (top["customer_id"], "vip", "VIP客户")
        path, rows = export_watchlist(served, "churn", "csv", tmp_path, ANALYST)
        lines = path.read_text("utf-8-sig").splitlines()
        assert rows == 400 == len(lines) - 1
        assert lines[0] == "customer_id,tier,tier_label,value,risk,signals"
        assert lines[1].startswith(f"{top['customer_id']},vip,VIP客户,")
        assert not moved_down(served, ANALYST)["available"]  # both runs are as of the same date
    finally:
        served.close()
