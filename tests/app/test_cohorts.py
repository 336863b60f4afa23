"""The Cohorts page's figures: a hand-worked shop (every number worked out on paper), a plain
Python oracle against generated order books, and the demo shop for shape and wiring."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierkit.app.cohorts import GAP_BUCKETS, cohort_figures, cohorts
from tierkit.app.demo import demo
from tierkit.app.grading import grade_workspace
from tierkit.app.importing import import_files
from tierkit.app.serving import ServedWorkspace
from tierkit.backends import connect
from tierkit.errors import RequestError
from tierkit.workspace import Workspace

WriteCsv = Callable[[str, list[dict[str, object]]], Path]  # the write_csv fixture of tests/conftest.py
D = dt.date
ENGINE = connect("duckdb")
AS_OF = "2024-08-31"
# The hand-worked shop. As of 2024-08-31, months=6 (window 2024-03 .. 2024-08), lapse_days=60.
SHOP = {
    "A": ["2024-01-10", "2024-03-05", "2024-03-05", "2024-03-20", "2024-06-25"],  # first order before the window
    "B": ["2024-03-02", "2024-03-09", "2024-04-15", "2024-08-20"],
    "C": ["2024-03-15"],
    "D": ["2024-04-01", "2024-04-01", "2024-05-10", "2024-09-05"],  # same-day repeat; 09-05 is after the as-of
    "E": ["2024-05-31", "2024-06-01", "2024-08-31"],  # an order on the as-of itself
    "F": ["2023-12-01", "2024-02-15"],  # every order before the window
    "G": ["2024-07-04"],  # 58 days before the as-of: not lapsed
    "H": ["2024-08-10", "2024-08-10"],  # two orders, one purchase day
    "I": ["2024-02-20", "2024-06-02", "2024-08-01"],  # a gap of exactly 60: not a lapse
    "J": ["2024-07-02"],  # exactly 60 days before the as-of: not lapsed (yet)
}


def shop_workspace(root: Path, write_csv: WriteCsv) -> ServedWorkspace:
    Workspace.init(root, "retail")
    rows: list[dict[str, object]] = [
        {"order_id": f"{customer}{n}", "customer_id": customer, "ordered_at": day, "amount": "10.00"}
        for customer, days in SHOP.items()
        for n, day in enumerate(days)
    ]
    imported = import_files(root, "orders", [write_csv("orders.csv", rows)], today="2024-12-31")
    assert imported["imported"] == len(rows), imported
    grade_workspace(root, as_of=AS_OF)
    return ServedWorkspace.open(root)


def test_the_hand_worked_shop(tmp_path: Path, write_csv: WriteCsv) -> None:
    found = cohorts(shop_workspace(tmp_path / "ws", write_csv), months=6, lapse_days=60)
    assert found["as_of"] == AS_OF and found["lapse_days"] == 60
    assert found["months"] == ["2024-03", "2024-04", "2024-05", "2024-06", "2024-07", "2024-08"]
    # Cohorts by first order: 2024-03 B, C; 04 D; 05 E; 06 nobody (I first ordered in Feb);
    # 07 G, J; 08 H. A, F and I are in no shown cohort. active[k]: which of them ordered in
    # month cohort+k (B: Mar, Apr, Aug; C: Mar; D: Apr, May; E: May, Jun, Aug; G, J: Jul).
    assert found["retention"] == [
        {"cohort": "2024-03", "customers": 2, "active": [2, 1, 0, 0, 0, 1], "retained": [1.0, 0.5, 0.0, 0.0, 0.0, 0.5]},
        {"cohort": "2024-04", "customers": 1, "active": [1, 1, 0, 0, 0], "retained": [1.0, 1.0, 0.0, 0.0, 0.0]},
        {"cohort": "2024-05", "customers": 1, "active": [1, 1, 0, 1], "retained": [1.0, 1.0, 0.0, 1.0]},
        {"cohort": "2024-06", "customers": 0, "active": [0, 0, 0], "retained": [None, None, None]},
        {"cohort": "2024-07", "customers": 2, "active": [2, 0], "retained": [1.0, 0.0]},
        {"cohort": "2024-08", "customers": 1, "active": [1], "retained": [1.0]},
    ]
    # Ordering each month: Mar A B C, Apr B D, May D E, Jun A E I, Jul G J, Aug B E H I.
    # Lapses (last purchase day + 60 when the next one, or the as-of, is more than 60 days
    # later): A 03-20 -> 05-19 and 06-25 -> 08-24; B 04-15 -> 06-14; C 03-15 -> 05-14;
    # D 05-10 -> 07-09 (its 09-05 order is after the as-of); E 06-01 -> 07-31;
    # F 2023-12-01 -> 2024-01-30 (before the window) and 02-15 -> 04-15; I 02-20 -> 04-20.
    # By month: Apr F I, May A C, Jun B, Jul D E, Aug A. (G: 58 days, I's 06-02 -> 08-01 and
    # J's 07-02 -> as-of: exactly 60, no lapse.)
    assert found["activity"] == [
        {"month": "2024-03", "new": 2, "repeating": 1, "lapsed": 0, "active": 3},
        {"month": "2024-04", "new": 1, "repeating": 1, "lapsed": 2, "active": 2},
        {"month": "2024-05", "new": 1, "repeating": 1, "lapsed": 2, "active": 2},
        {"month": "2024-06", "new": 0, "repeating": 3, "lapsed": 1, "active": 3},
        {"month": "2024-07", "new": 2, "repeating": 0, "lapsed": 2, "active": 2},
        {"month": "2024-08", "new": 1, "repeating": 3, "lapsed": 1, "active": 4},
    ]
    # Gaps whose later purchase day is in 2024-03 .. 08: A 55 15 97, B 7 37 127, D 39, E 1 91,
    # I 103 60 (F's gap ends in February). Sorted: 1 7 15 37 39 55 60 91 97 103 127:
    # median 55, mean 632 / 11 = 57.45; five customers.
    counts = [2, 0, 1, 4, 0, 4, 0, 0]
    assert found["gaps"] == {
        "buckets": [
            {"label": label, "low": low, "high": high, "count": n}
            for label, low, high, n in zip(
                ["1-7", "8-14", "15-30", "31-60", "61-90", "91-180", "181-365", "366+"],
                [1, 8, 15, 31, 61, 91, 181, 366],
                [7, 14, 30, 60, 90, 180, 365, None],
                counts,
                strict=True,
            )
        ],
        "median": 55.0,
        "mean": 57.5,
        "customers_with_repeat": 5,
    }
    assert "note" not in found
    json.dumps(found)


def test_a_workspace_without_orders_says_so(tmp_path: Path, write_csv: WriteCsv) -> None:
    served = shop_workspace(tmp_path / "ws", write_csv)
    shutil.rmtree(tmp_path / "ws" / "data" / "orders")  # a published run, and no orders file any more
    found = cohorts(served)
    assert found["note"] == "no orders in this workspace"
    assert (found["as_of"], found["months"], found["retention"], found["activity"]) == (AS_OF, [], [], [])
    assert [b["count"] for b in found["gaps"]["buckets"]] == [0] * 8
    assert (found["gaps"]["median"], found["gaps"]["mean"], found["gaps"]["customers_with_repeat"]) == (None, None, 0)


def test_months_and_lapse_days_must_be_positive() -> None:
    orders = orders_table([])
    with pytest.raises(RequestError):
        cohort_figures(ENGINE, orders, D(2024, 8, 31), months=0)
    with pytest.raises(RequestError):
        cohort_figures(ENGINE, orders, D(2024, 8, 31), lapse_days=0)


def test_the_demo_shop(tmp_path: Path) -> None:
    demo(tmp_path / "demo", 400, 7, None, "zh")
    found = cohorts(ServedWorkspace.open(tmp_path / "demo"))
    assert set(found) == {"as_of", "months", "lapse_days", "retention", "activity", "gaps"}
    assert len(found["months"]) == 12 and found["months"][-1] == found["as_of"][:7]
    assert [r["cohort"] for r in found["retention"]] == found["months"]
    assert [len(r["active"]) for r in found["retention"]] == list(range(12, 0, -1))
    for row in found["retention"]:
        assert row["active"][0] == row["customers"]
        assert all(0 <= n <= row["customers"] for n in row["active"])
    assert [a["month"] for a in found["activity"]] == found["months"]
    assert all(a["active"] == a["new"] + a["repeating"] for a in found["activity"])
    assert [a["new"] for a in found["activity"]] == [r["customers"] for r in found["retention"]]
    assert sum(a["active"] for a in found["activity"]) > 0 and sum(a["lapsed"] for a in found["activity"]) > 0
    gaps = found["gaps"]
    assert [b["label"] for b in gaps["buckets"]][-1] == "366+"
    assert sum(b["count"] for b in gaps["buckets"]) >= gaps["customers_with_repeat"] > 0
    assert gaps["median"] >= 1 and gaps["mean"] >= 1
    json.dumps(found)


# Generated order books, checked against a plain Python reading of the definitions.

FEW_DAYS = [D(2024, 1, 31), D(2024, 2, 1), D(2024, 5, 15), D(2024, 8, 31)]  # same-day repeats, month ends
order = st.tuples(
    st.sampled_from([f"c{i}" for i in range(6)]),
    st.one_of(st.dates(min_value=D(2023, 1, 1), max_value=D(2024, 10, 31)), st.sampled_from(FEW_DAYS)),
)


def orders_table(rows: list[tuple[str, dt.date]]) -> ibis.Table:
    customers, days = [c for c, _ in rows], [d for _, d in rows]
    return ibis.memtable(
        pa.table({"customer_id": pa.array(customers, pa.string()), "ordered_at": pa.array(days, pa.date32())})
    )


def month_of(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def oracle(rows: list[tuple[str, dt.date]], as_of: dt.date, months: int, lapse_days: int) -> dict[str, Any]:
    """Every figure by plain loops over the purchase days of each customer."""
    days: dict[str, list[dt.date]] = defaultdict(list)
    for customer, day in sorted(set(rows)):
        if day <= as_of:
            days[customer].append(day)
    last = month_of(as_of)
    first = last - months + 1
    cohort = {c: month_of(ds[0]) for c, ds in days.items()}
    ordered = {c: {month_of(d) for d in ds} for c, ds in days.items()}
    retention = []
    for m in range(first, last + 1):
        members = [c for c in days if cohort[c] == m]
        active = [sum(1 for c in members if k in ordered[c]) for k in range(m, last + 1)]
        retained = [round(n / len(members), 4) if members else None for n in active]
        retention.append({"customers": len(members), "active": active, "retained": retained})
    lapsed: Counter[int] = Counter()
    gaps: list[int] = []
    repeaters = set()
    for c, ds in days.items():
        for before, after in zip(ds, [*ds[1:], None], strict=True):
            if ((after or as_of) - before).days > lapse_days:
                lapsed[month_of(before + dt.timedelta(days=lapse_days))] += 1
            if after is not None and month_of(after) >= first:
                gaps.append((after - before).days)
                repeaters.add(c)
    activity = [
        {
            "new": sum(1 for c in days if cohort[c] == m),
            "repeating": sum(1 for c in days if cohort[c] < m and m in ordered[c]),
            "lapsed": lapsed[m],
        }
        for m in range(first, last + 1)
    ]
    buckets = [sum(1 for g in gaps if low <= g and (high is None or g <= high)) for low, high in GAP_BUCKETS]
    return {
        "retention": retention,
        "activity": activity,
        "buckets": buckets,
        "median": float(statistics.median(gaps)) if gaps else None,
        "mean": round(statistics.mean(gaps), 1) if gaps else None,
        "customers_with_repeat": len(repeaters),
    }


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(order, max_size=40),
    as_of=st.dates(min_value=D(2023, 6, 1), max_value=D(2024, 9, 30)),
    months=st.integers(1, 14),
    lapse_days=st.integers(1, 200),
)
def test_generated_order_books(rows: list[tuple[str, dt.date]], as_of: dt.date, months: int, lapse_days: int) -> None:
    found = cohort_figures(ENGINE, orders_table(rows), as_of, months, lapse_days)
    expected = oracle(rows, as_of, months, lapse_days)
    window = found["months"]
    assert len(window) == months and window[-1] == as_of.isoformat()[:7]
    # the brief's invariants, straight from the rows
    counted = [(c, d) for c, d in rows if d <= as_of]
    firsts = {c: min(d for k, d in counted if k == c) for c, _ in counted}
    assert sum(a["new"] for a in found["activity"]) == sum(1 for d in firsts.values() if d.isoformat()[:7] in window)
    for row in found["retention"]:
        assert row["active"][0] == row["customers"]
    for a in found["activity"]:
        ordering = {c for c, d in counted if d.isoformat()[:7] == a["month"]}
        assert a["new"] + a["repeating"] == a["active"] == len(ordering)
    # every figure, as the oracle reads the definitions
    assert [{k: r[k] for k in ("customers", "active", "retained")} for r in found["retention"]] == expected["retention"]
    assert [{k: a[k] for k in ("new", "repeating", "lapsed")} for a in found["activity"]] == expected["activity"]
    gaps = found["gaps"]
    assert [b["count"] for b in gaps["buckets"]] == expected["buckets"]
    assert (gaps["median"], gaps["mean"], gaps["customers_with_repeat"]) == (
        expected["median"],
        expected["mean"],
        expected["customers_with_repeat"],
    )
