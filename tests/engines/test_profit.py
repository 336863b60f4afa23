"""The profit pyramid and the unprofitable customers, on every engine, worked out by hand.

Orders as exports write them: 毛利 (gross margin) and 成本 (cost) headers; interactions with
服务成本 (what serving them cost). As of 2024-06-30, 12-month windows:

    customer  orders (amount / 毛利 / 成本)            margin   cost to serve         profit
    c1        1000 / 300, 500 / 150                   450.00   20.00                 430.00
    c2        800 / - / 600  (margin = amount - cost) 200.00   (100.00 in 2023: out)  200.00
    c3        300 / 30 / 280 (its own 毛利 wins)       30.00   50.00 + 25.50          -45.50
    c4        200 / 20                                 20.00   40.00                 -20.00
    c5        100 / -5                                 -5.00   -                      -5.00
    c6        50 / 10 in 2023 (outside 12M)             0.00   15.00                 -15.00

Totals: margin 695.00 - cost to serve 150.50 = profit 544.50. Unprofitable: c3, c4, c5, c6,
4 of 6 (0.6667), losing 85.50 together.

By 12-month spend (1500, 800, 300, 200, 100, 0) the pyramid (cuts 0.2 / 0.5 of 6) is top c1,
mid c2 c3, low c4 c5 c6, which bring 430.00 (0.7897 of all profit), 154.50 (0.2837) and -40.00
(-0.0735). Ranked by their own profit (430, 200, -5, -15, -20, -45.50) the same cuts give top
c1 430.00 (0.7897), mid c2 c5 195.00 (0.3581), low c6 c4 c3 -80.50 (-0.1478).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import write_rows
from tierkit.backends import Backend, connect
from tierkit.engine.grade import grade_inputs
from tierkit.engine.reading import read_inputs
from tierkit.policy.loader import parse_policy
from tierkit.runs.result import write_result

AS_OF = dt.date(2024, 6, 30)
ORDERS = [
    {
        "order_id": "1",
        "customer_id": "c1",
        "ordered_at": "2024-03-01",
        "amount": "1000.00",
        "毛利": "300.00",
        "成本": "",
    },
    {
        "order_id": "2",
        "customer_id": "c1",
        "ordered_at": "2024-04-01",
        "amount": "500.00",
        "毛利": "150.00",
        "成本": "",
    },
    {
        "order_id": "3",
        "customer_id": "c2",
        "ordered_at": "2024-05-01",
        "amount": "800.00",
        "毛利": "",
        "成本": "600.00",
    },
    {
        "order_id": "4",
        "customer_id": "c3",
        "ordered_at": "2024-06-01",
        "amount": "300.00",
        "毛利": "30.00",
        "成本": "280",
    },
    {"order_id": "5", "customer_id": "c4", "ordered_at": "2024-02-01", "amount": "200.00", "毛利": "20.00", "成本": ""},
    {"order_id": "6", "customer_id": "c5", "ordered_at": "2024-06-30", "amount": "100.00", "毛利": "-5.00", "成本": ""},
    {"order_id": "7", "customer_id": "c6", "ordered_at": "2023-01-01", "amount": "50.00", "毛利": "10.00", "成本": ""},
]
INTERACTIONS = [
    {"customer_id": "c1", "at": "2024-06-01", "kind": "inquiry", "服务成本": "20.00"},
    {"customer_id": "c3", "at": "2024-05-01", "kind": "complaint", "服务成本": "50.00"},
    {"customer_id": "c3", "at": "2024-05-02", "kind": "complaint", "服务成本": "25.50"},
    {"customer_id": "c4", "at": "2024-06-15", "kind": "after_sales", "服务成本": "40.00"},
    {"customer_id": "c6", "at": "2024-06-10", "kind": "inquiry", "服务成本": "15.00"},
    {"customer_id": "c2", "at": "2023-01-01", "kind": "complaint", "服务成本": "100.00"},
]
POLICY = """
name: profit
value: spend_12m
metrics:
  spend_12m: {sum: amount, window: 12M}
  margin_12m: {sum: profit, window: 12M}
  service_cost_12m: {sum: cost, from: interactions, window: 12M}
scores:
  pyramid: {by: spend_12m, cuts: [0.2, 0.5], levels: [top, mid, low], labels: {top: 顶层}}
tiers:
  - {name: big, when: "spend_12m >= 500"}
  - {name: rest, else: true}
profit: {margin: margin_12m, cost_to_serve: service_cost_12m}
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("profit")
    return {
        "orders": write_rows(folder / "orders.csv", ORDERS),
        "interactions": write_rows(folder / "ix.csv", INTERACTIONS),
    }


def _graded(engine: Backend, files: dict[str, Path], out: Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    inputs = read_inputs(engine, files["orders"], interactions=files["interactions"])
    grading = grade_inputs(inputs, parse_policy(POLICY, "profit.yaml"), AS_OF, engine)
    summary = write_result(grading, out)
    rows = {r["customer_id"]: r for r in grading.table.to_pylist()}
    return summary, rows


@pytest.fixture(scope="module")
def graded(
    engine: Backend, files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    return _graded(engine, files, tmp_path_factory.mktemp(engine.name) / "graded.parquet")


def test_margin_is_the_given_margin_or_amount_less_cost(graded: tuple[dict[str, Any], dict[str, Any]]) -> None:
    _, rows = graded
    margins = {cid: row["margin_12m"] for cid, row in rows.items()}
    assert margins == {
        "c1": Decimal("450.00"),
        "c2": Decimal("200.00"),  # 800 - 600: the file gives a cost, not a margin
        "c3": Decimal("30.00"),  # its own 毛利, not 300 - 280
        "c4": Decimal("20.00"),
        "c5": Decimal("-5.00"),
        "c6": Decimal("0.00"),
    }
    costs = {cid: row["service_cost_12m"] for cid, row in rows.items()}
    assert costs == {
        "c1": Decimal("20.00"),
        "c2": Decimal("0.00"),
        "c3": Decimal("75.50"),
        "c4": Decimal("40.00"),
        "c5": Decimal("0.00"),
        "c6": Decimal("15.00"),
    }


def test_the_profit_pyramid_and_the_unprofitable(graded: tuple[dict[str, Any], dict[str, Any]]) -> None:
    summary, _ = graded
    profit = summary["profit"]
    assert {k: profit[k] for k in ("margin", "cost_to_serve", "profit", "unknown")} == {
        "margin": "695.00",
        "cost_to_serve": "150.50",
        "profit": "544.50",
        "unknown": 0,
    }
    assert profit["unprofitable"] == {"customers": 4, "share": 0.6667, "loss": "-85.50"}
    assert [(r["class"], r["label"], r["customers"], r["profit"], r["profit_share"]) for r in profit["pyramid"]] == [
        ("top", "顶层", 1, "430.00", 0.7897),
        ("mid", "mid", 2, "195.00", 0.3581),
        ("low", "low", 3, "-80.50", -0.1478),
    ]
    value_pyramid = summary["scores"]["pyramid"]["classes"]
    assert [(r["class"], r["value"], r["profit"], r["profit_share"]) for r in value_pyramid] == [
        ("top", "1500.00", "430.00", 0.7897),
        ("mid", "1100.00", "154.50", 0.2837),
        ("low", "300.00", "-40.00", -0.0735),
    ]
    assert [(r["class"], r["profit"], r["profit_share"]) for r in summary["tiers"]] == [
        ("big", "630.00", 1.157),
        ("rest", "-85.50", -0.157),
    ]


def test_every_engine_counts_the_same_profit(
    engine: Backend, files: dict[str, Path], graded: tuple[dict[str, Any], dict[str, Any]], tmp_path: Path
) -> None:
    reference, rows = _graded(connect("duckdb"), files, tmp_path / "reference.parquet")
    summary, mine = graded
    assert {k: v for k, v in summary.items() if k != "engine"} == {k: v for k, v in reference.items() if k != "engine"}
    assert mine == rows
