"""Rules in the seeds' words, graded on DuckDB and on Spark: "高于平均值", the top 20%, ABC by head
count, birthdays and tenure. Every expected value is worked out by hand in the comments.

The shop (as of 2024-06-30): c01..c10 each bought once in the last 12 months, 1000, 900, ...,
100; c11 bought only in 2022, so its spend_12m is 0 and its 12-month average order is missing.
Sorted spend_12m: 0, 100, 200, ..., 1000 (11 customers, total 5500).
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tierkit.backends import Backend
from tierkit.engine.grade import grade_inputs
from tierkit.engine.reading import read_inputs
from tierkit.engine.rules import RuleCompiler
from tierkit.policy.loader import parse_policy

AS_OF = dt.date(2024, 6, 30)
SPEND = {f"c{i:02d}": 1100 - 100 * i for i in range(1, 11)}  # c01 1000 ... c10 100

POLICY = """
name: seeds
metrics:
  spend_12m: {sum: amount, window: 12M}
  recent_order: {avg: amount, window: 12M}
  wallet_share: {expr: "spend_12m / total(spend_12m)"}
scores:
  abc_value: {type: abc, by: spend_12m}
  abc_count: {type: abc, by: spend_12m, split: customers}
tiers:
  - {name: top, when: "spend_12m >= percentile(spend_12m, 0.8)"}
  - {name: above_average, when: "spend_12m > avg(spend_12m)"}
  - {name: rest, else: true}
tags:
  - {name: below_median, when: "spend_12m < median(spend_12m)"}
  - {name: big_share, when: "wallet_share >= 0.15"}
  - {name: big_recent_order, when: "recent_order >= avg(recent_order)"}
"""

# avg(spend_12m) = 5500 / 11 = 500. percentile(spend_12m, 0.8): h = (11 - 1) * 0.8 = 8, the 9th
# smallest value exactly, 800. median: h = 5, the 6th smallest, 500.
TIERS = {
    **{cid: "top" for cid in ("c01", "c02", "c03")},  # 1000, 900, 800 >= 800
    **{cid: "above_average" for cid in ("c04", "c05")},  # 700, 600 > 500
    **{cid: "rest" for cid in ("c06", "c07", "c08", "c09", "c10", "c11")},  # 500 is not above 500
}
TAGS = {
    # below the median 500: 400 ... 0
    "below_median": {"c07", "c08", "c09", "c10", "c11"},
    # 1000 / 5500 = 0.1818, 900 / 5500 = 0.1636; 800 / 5500 = 0.1455 is below 0.15
    "big_share": {"c01", "c02"},
    # c11's missing average is left out: avg = 5500 / 10 = 550, so 1000 ... 600 (with c11 as 0 the
    # average would be 500 and c06 would match too)
    "big_recent_order": {"c01", "c02", "c03", "c04", "c05"},
}
# By value (cuts 0.8, 0.95): the share held by those ranked above c07 is 4500 / 5500 = 0.818, the
# first at or above 0.8; above c10 5400 / 5500 = 0.982, the first at or above 0.95.
ABC_VALUE = {**dict.fromkeys(("c01", "c02", "c03", "c04", "c05", "c06"), "A"), "c07": "B", "c08": "B", "c09": "B"}
ABC_VALUE |= {"c10": "C", "c11": "C"}
# By head count (cuts 0.2, 0.9 of 11 customers): rank <= 2.2 is A, rank <= 9.9 is B, ranks 10, 11 C.
ABC_COUNT = {"c01": "A", "c02": "A", **dict.fromkeys([f"c{i:02d}" for i in range(3, 10)], "B"), "c10": "C", "c11": "C"}


@pytest.fixture(scope="module")
def orders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("seeds") / "orders.csv"
    rows = [(f"o{cid}", cid, "2024-03-15", f"{spend}.00") for cid, spend in SPEND.items()]
    rows.append(("o11", "c11", "2022-05-01", "300.00"))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["order_id", "customer_id", "ordered_at", "amount"])
        writer.writerows(rows)
    return path


def _grade(engine: Backend, orders: Path) -> dict[str, dict[str, Any]]:
    grading = grade_inputs(read_inputs(engine, orders), parse_policy(POLICY, "seeds.yaml"), AS_OF, engine)
    return {row["customer_id"]: row for row in grading.table.to_pylist()}


def test_population_statistics_in_tiers_tags_and_expr_metrics(engine: Backend, orders: Path) -> None:
    rows = _grade(engine, orders)
    assert {cid: row["tier"] for cid, row in rows.items()} == TIERS
    for tag, members in TAGS.items():
        assert {cid for cid, row in rows.items() if row[f"tag_{tag}"]} == members, tag
    assert rows["c01"]["wallet_share"] == pytest.approx(1000 / 5500, abs=1e-12)


def test_abc_by_value_and_by_head_count(engine: Backend, orders: Path) -> None:
    rows = _grade(engine, orders)
    assert {cid: row["abc_value"] for cid, row in rows.items()} == ABC_VALUE
    assert {cid: row["abc_count"] for cid, row in rows.items()} == ABC_COUNT


# Birth dates against as-of 2024-06-30 (a leap year) and 2025-02-28 (not one).
BIRTHS = {
    "b1": dt.date(2000, 2, 29),
    "b2": dt.date(1990, 6, 30),
    "b3": None,
    "b4": dt.date(1985, 12, 31),
    "b5": dt.date(2001, 7, 1),
}
DATES = {
    # (days_until_birthday, birthday_this_month, years_between(birth_date, as_of))
    AS_OF: {
        "b1": (243, False, 24),  # next on 2025-02-28: 184 days to 12-31, + 31 + 28
        "b2": (0, True, 34),  # today
        "b3": (None, None, None),
        "b4": (184, False, 38),  # 31 + 31 + 30 + 31 + 30 + 31 (July .. December)
        "b5": (1, False, 22),  # tomorrow; 23 only then
    },
    dt.date(2025, 2, 28): {
        "b1": (0, True, 25),  # 29 February falls on the 28th in 2025
        "b2": (122, False, 34),  # 31 (Mar) + 30 + 31 + 30 (to 06-30)
        "b3": (None, None, None),
        "b4": (306, False, 39),  # 2025-12-31 is day 365, 02-28 is day 59
        "b5": (123, False, 23),
    },
}


def test_date_functions_give_the_same_days_on_every_engine(engine: Backend, tmp_path: Path) -> None:
    path = tmp_path / "people.parquet"
    pq.write_table(pa.table({"customer_id": list(BIRTHS), "birth_date": pa.array(list(BIRTHS.values()))}), path)
    table = engine.read_parquet(path)
    names = {c: table[c] for c in table.columns}
    for as_of, expected in DATES.items():
        compiler = RuleCompiler(names, "test", as_of)
        rules = [
            "days_until_birthday(birth_date)",
            "birthday_this_month(birth_date)",
            "years_between(birth_date, as_of)",
        ]
        values = {f"v{i}": compiler.compile(rule) for i, rule in enumerate(rules)}
        got = engine.to_pyarrow(table.select("customer_id", **values).order_by("customer_id")).to_pylist()
        assert {r["customer_id"]: (r["v0"], r["v1"], r["v2"]) for r in got} == expected, as_of
    compiler = RuleCompiler(names, "test", AS_OF)
    value = compiler.compile("days_between(birth_date, as_of) + month(birth_date) * 0 + year(as_of) - 2024")
    got = engine.to_pyarrow(table.select("customer_id", v=value).order_by("customer_id")).to_pylist()
    # 1990-06-30 to 2024-06-30: 34 years with 9 leap days (1992 ... 2024) = 34 * 365 + 9 = 12419
    assert {r["customer_id"]: r["v"] for r in got}["b2"] == 12419


# -- the birthday care list (DuckDB: lists are read in process, whichever engine graded) -------

SHOP = [
    # customer, born, name, phone, orders (date, amount)
    (
        "v1",
        "2000-02-29",
        "张三",
        "13812345678",
        [("2024-03-01", "120000"), ("2023-03-01", "20000"), ("2022-03-01", "20000")],
    ),
    (
        "v2",
        "1980-02-03",
        "李四",
        "13900000000",
        [("2024-03-01", "120000"), ("2023-03-01", "20000"), ("2022-03-01", "20000")],
    ),
    (
        "v3",
        "1980-03-03",
        "王五",
        "13700000000",
        [("2024-03-01", "120000"), ("2023-03-01", "20000"), ("2022-03-01", "20000")],
    ),
    ("r1", "1990-02-10", "赵六", "13600000000", [("2024-03-01", "60000")]),
    ("p1", "1970-02-01", "钱七", "13500000000", [("2024-03-01", "100")]),
]


def test_the_birthday_list_uses_the_tier_in_effect_and_shows_people_to_staff_only(tmp_path: Path) -> None:
    """Retail: v1..v3 are VIP (spend_12m 120,000 > 100,000, and 3 years in a row of 10,000 or
    more), r1 regular (60,000), p1 potential. A person moves r1 to VIP. In February 2025 the VIP
    list is v2 (the 3rd, turns 45), r1 (the 10th, 35, by hand) and v1 (born on 29 February: the
    28th in 2025, turns 25); v3 is born in March and p1 is no VIP."""
    from tierkit.app import lists
    from tierkit.app.customers import Caller
    from tierkit.app.grading import grade_workspace
    from tierkit.app.workspaces import init
    from tierkit.runs.files import store_of
    from tierkit.store.overrides import set_override
    from tierkit.workspace import Workspace

    root = tmp_path / "ws"
    init(root, "retail")
    (root / "data").mkdir(exist_ok=True)
    with (root / "data" / "orders.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["order_id", "customer_id", "ordered_at", "amount"])
        writer.writerows(
            (f"{cid}-{i}", cid, day, amount) for cid, *_, bought in SHOP for i, (day, amount) in enumerate(bought)
        )
    with (root / "data" / "customers.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "birth_date", "name", "phone"])
        writer.writerows(row[:4] for row in SHOP)
    grade_workspace(root, as_of="2024-06-30")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    set_override(store_of(Workspace.open(root)), "r1", "vip", "大客户经理推荐", later, "tester")

    listed = lists.birthdays(root, "2025-02", None, Caller("tester", "analyst"), "zh")
    assert listed["tier"] == "vip" and listed["month"] == "2025-02"
    got = [(i["customer_id"], i["day"], i["turns"], i["tier_label"], i["manual"], i["name"]) for i in listed["items"]]
    assert got == [
        ("v2", 3, 45, "VIP客户", False, "李四"),
        ("r1", 10, 35, "VIP客户", True, "赵六"),
        ("v1", 28, 25, "VIP客户", False, "张三"),
    ]
    for_agent = lists.birthdays(root, "2025-02", "all", Caller("agent", "agent"), "en")
    assert [i["customer_id"] for i in for_agent["items"]] == ["p1", "v2", "r1", "v1"]  # p1 on the 1st
    assert not any("name" in i or "phone" in i for i in for_agent["items"])
    assert lists.birthdays(root, "2024-02", None, Caller("t", "admin"))["items"][-1]["day"] == 29  # a leap year
    assert lists.write_list(listed, tmp_path / "vip.csv") == 3
    lines = (tmp_path / "vip.csv").read_text("utf-8").splitlines()
    assert lines[0].startswith("customer_id,day,birth_date,turns,tier,tier_label") and lines[1].startswith("v2,3,")
