"""Stable tiers in a workspace: each grading continues from the run before it (by as-of date),
the card and the reasons say what was kept, and every reader sees the tier that applies.

The shop and the expected tiers are those of tests/engines/test_stability.py (worked out by hand
there): one order a month on the 15th, month-end gradings, `spend_1m` decides the tier.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow.parquet as pq
import pytest

from tests.conftest import monthly_orders
from tests.engines.test_stability import AMOUNTS, BOTH, EXPECTED_BOTH, MONTH_ENDS, states
from tierkit.app.customers import Caller, build_card
from tierkit.app.grading import export, grade_workspace
from tierkit.app.runs import card
from tierkit.app.serving import ServedWorkspace
from tierkit.engine.check import check_policy
from tierkit.policy.loader import parse_policy
from tierkit.runs.files import load_run
from tierkit.workspace import Workspace

ANALYST = Caller("ana", "analyst")


def _orders(path: Path) -> Path:
    return monthly_orders(path, AMOUNTS)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Four month-end runs, each published (later as-of dates), with `stability:` in the policy."""
    root = tmp_path_factory.mktemp("stable")
    orders = _orders(root / "orders.csv")
    ws = Workspace.init(root / "ws", "retail")
    (ws.root / "policy.yaml").write_text(BOTH, "utf-8")
    runs = [grade_workspace(ws.root, orders=orders, as_of=day)["run_id"] for day in MONTH_ENDS]
    yield {"root": ws.root, "orders": orders, "runs": runs}


def _result(root: Path, run_id: str) -> Any:
    return pq.read_table(load_run(Workspace.open(root), run_id).result)


def test_each_run_continues_from_the_one_before(shop: dict[str, Any]) -> None:
    ws = Workspace.open(shop["root"])
    for month, run_id in enumerate(shop["runs"]):
        assert states(_result(ws.root, run_id)) == EXPECTED_BOTH[month]
        manifest = load_run(ws, run_id).manifest
        before = shop["runs"][month - 1] if month else None
        assert manifest["stability"] == {
            "previous_run": before,
            "previous_as_of": MONTH_ENDS[month - 1] if month else None,
        }
    february = load_run(ws, shop["runs"][1]).manifest["summary"]
    assert {t["class"]: t["customers"] for t in february["tiers"]} == {"vip": 4, "regular": 1}  # kept count as vip


def test_a_look_back_and_a_same_day_regrade_read_the_run_before_their_as_of(shop: dict[str, Any]) -> None:
    """February graded again after April (kept back: not published) continues from January, not
    from April; April graded again continues from March, not from the first April run."""
    root, orders = shop["root"], shop["orders"]
    again = grade_workspace(root, orders=orders, as_of=MONTH_ENDS[1])
    assert not again["published"]
    manifest = load_run(Workspace.open(root), again["run_id"]).manifest
    assert manifest["stability"]["previous_run"] == shop["runs"][0]
    assert states(_result(root, again["run_id"])) == EXPECTED_BOTH[1]
    april = grade_workspace(root, orders=orders, as_of=MONTH_ENDS[3], publish=False)
    manifest = load_run(Workspace.open(root), april["run_id"]).manifest
    assert manifest["stability"]["previous_run"] == shop["runs"][2]
    assert states(_result(root, april["run_id"])) == EXPECTED_BOTH[3]


def test_the_card_says_the_tier_is_kept_and_until_when(shop: dict[str, Any]) -> None:
    february = shop["runs"][1]
    zh = card(shop["root"], "c1", run=february, lang="zh")
    assert (zh["tier"], zh["tier_label"]) == ("vip", "VIP客户")
    assert zh["why"][:2] == [
        "定为普通客户: 满足条件 spend_1m >= 100",
        "保级期至 2026-04-14: 本次评为普通客户，仍保持VIP客户（已连续 1 次低于该等级，连续 2 次即降级）",
    ]
    assert zh["stability"] == {
        "kept": True,
        "graded_tier": "regular",
        "graded_tier_label": "普通客户",
        "below_runs": 1,
        "kept_since": "2026-02-28",
        "kept_until": "2026-04-14",
        "downgrade_after_runs": 2,
        "grace_days": 45,
        "text": zh["why"][1],
    }
    en = card(shop["root"], "c1", run=february, lang="en")
    assert en["why"][1] == (
        "VIP kept until 2026-04-14 (grace): graded Regular, below it 1 run in a row; "
        "moves down after 2 in a row or when the grace ends"
    )


def test_the_card_says_a_downgrade_an_upgrade_and_a_reset(shop: dict[str, Any]) -> None:
    march = shop["runs"][2]
    said = {
        (cid, lang): card(shop["root"], cid, run=march, lang=lang)["why"][1]
        for cid in ("c1", "c2", "c3")
        for lang in ("zh", "en")
    }
    assert said == {
        ("c1", "zh"): "降为普通客户: 已连续 2 次低于VIP客户",
        ("c1", "en"): "Moved down to Regular: below VIP 2 runs in a row",
        ("c2", "zh"): "保持VIP客户: 本次重新达到该等级，降级计数清零",
        ("c2", "en"): "VIP again: the count of runs below it starts over",
        ("c3", "zh"): "升为VIP客户: 升级立即生效（上次为普通客户）",
        ("c3", "en"): "Moved up to VIP at once (was Regular)",
    }
    stayed = card(shop["root"], "c1", run=shop["runs"][3], lang="en")
    assert stayed["stability"]["kept"] is False and stayed["stability"]["text"] is None
    assert len(stayed["why"]) == 2  # the tier rule, the values: nothing about stability


def test_the_served_card_and_the_exports_use_the_tier_that_applies(shop: dict[str, Any], tmp_path: Path) -> None:
    root = shop["root"]
    served = ServedWorkspace.open(root)
    try:
        found = build_card(served, served.snapshot(), "c2", ANALYST.role, "zh")  # April: kept vip
    finally:
        served.close()
    assert (found["tier"], found["automatic_tier"], found["stability"]["graded_tier"]) == ("vip", "vip", "regular")
    assert found["stability"]["kept_until"] == "2026-06-14"  # 04-30 + 45 days
    assert json.loads(json.dumps(found["reasons"]))["stability"]["outcome"] == "kept"
    written = export(root, None, tmp_path / "april.csv")
    assert written == 5
    with (tmp_path / "april.csv").open(encoding="utf-8-sig") as handle:
        rows = {r["客户编号"] if "客户编号" in r else r["customer_id"]: r for r in csv.DictReader(handle)}
    assert len(rows) == 5
    export(root, None, tmp_path / "april.xlsx", tier="vip")
    sheet = openpyxl.load_workbook(tmp_path / "april.xlsx", read_only=True).worksheets[-1]
    assert sheet.max_row == 4  # header + c2, c3, c5 (c2 kept)


def test_the_manager_workbook_names_the_columns_and_says_why(shop: dict[str, Any], tmp_path: Path) -> None:
    export(shop["root"], None, tmp_path / "april.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "april.xlsx", read_only=True).worksheets[-1]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    head = rows[0]
    assert head[3:6] == ["本次规则评定等级代码", "连续低于等级次数", "保级起始日"]
    c2 = dict(zip(head, next(r for r in rows if r[0] == "c2"), strict=True))
    assert (c2["等级代码"], c2["本次规则评定等级代码"], c2["连续低于等级次数"], c2["保级起始日"]) == (
        "vip",
        "regular",
        1,
        "2026-04-30",
    )
    assert "保级期至 2026-06-14: 本次评为普通客户，仍保持VIP客户" in c2["依据"]


def test_the_api_and_the_workbench_show_it(shop: dict[str, Any]) -> None:
    from fastapi.testclient import TestClient

    from tests.web.conftest import app_for, sign_in
    from tierkit.runs.files import store_of
    from tierkit.store.users import add_user

    ws = Workspace.open(shop["root"])
    key = add_user(store_of(ws), "stable-analyst", "analyst")
    with TestClient(app_for(ws.root)) as client:
        found = client.get("/customers/c2", headers={"Authorization": f"Bearer {key}"}).json()
        assert found["tier"] == "vip" and found["stability"]["kept_until"] == "2026-06-14"
        assert found["stability"]["graded_tier_label"] == "普通客户"
        assert sign_in(client, key).status_code == 303
        page = client.get("/app/customers/c2").text
        assert 'id="kept-tier">保级期至 2026-06-14: 本次评为普通客户，仍保持VIP客户（' in page


def test_check_compiles_the_join_with_the_previous_run() -> None:
    grading = check_policy(parse_policy(BOTH, "stable.yaml"))
    assert grading.expr.columns[:6] == ("customer_id", "tier", "tier_label", "graded_tier", "below_runs", "kept_since")
