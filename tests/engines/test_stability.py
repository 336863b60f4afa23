"""Stable tiers on every engine: monthly gradings chained through their written results.

Five customers, one order a month (January to April 2026) on the 15th; each month-end grading
reads the month's spend (`spend_1m`, a 1M window) and the previous grading's result file, as a
workspace's runs do. Every expected tier below is worked out by hand from the amounts:

    spend (Jan, Feb, Mar, Apr)   vip >= 1000, regular >= 100, else potential
    c1  2000  500   500   500    falls below vip in February and stays below
    c2  2000  500  2000   500    falls, is back in March (the count starts over), falls again
    c3    50  500  2000  2000    climbs: each upgrade at once
    c4  2000  500    50    50    falls two tiers, one month after the other
    c5     -  2000  500  2000    first graded in February (no previous tier), falls, is back
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import monthly_orders
from tierkit.backends import Backend, connect
from tierkit.engine.grade import Grading, grade_inputs
from tierkit.engine.reading import read_inputs
from tierkit.policy.loader import parse_policy

AMOUNTS = {
    "c1": [2000, 500, 500, 500],
    "c2": [2000, 500, 2000, 500],
    "c3": [50, 500, 2000, 2000],
    "c4": [2000, 500, 50, 50],
    "c5": [None, 2000, 500, 2000],
}
MONTH_ENDS = ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"]
TIERS = """
metrics:
  spend_1m: {sum: amount, window: 1M}
tiers:
  - {name: vip, label: {zh: VIP客户, en: VIP}, when: "spend_1m >= 1000"}
  - {name: regular, label: {zh: 普通客户, en: Regular}, when: "spend_1m >= 100"}
  - {name: potential, label: {zh: 潜在客户, en: Potential}, else: true}
tags:
  - {name: kept_vip, when: "tier == 'vip' and spend_1m < 1000"}
"""
BOTH = "name: stable\nstability: {downgrade_after_runs: 2, grace_days: 45}\n" + TIERS
GRACE = "name: stable-grace\nstability: {grace_days: 45}\n" + TIERS
PLAIN = "name: plain\n" + TIERS

Row = tuple[str, str, int, str | None]  # tier (applies), graded_tier, below_runs, kept_since

# {downgrade_after_runs: 2, grace_days: 45}: with monthly runs the second run below comes first
EXPECTED_BOTH: list[dict[str, Row]] = [
    {  # January: no previous run, the graded tiers apply
        "c1": ("vip", "vip", 0, None),
        "c2": ("vip", "vip", 0, None),
        "c3": ("potential", "potential", 0, None),
        "c4": ("vip", "vip", 0, None),
    },
    {  # February: c1, c2, c4 below vip once: kept; c3 up at once; c5 new: its graded tier
        "c1": ("vip", "regular", 1, "2026-02-28"),
        "c2": ("vip", "regular", 1, "2026-02-28"),
        "c3": ("regular", "regular", 0, None),
        "c4": ("vip", "regular", 1, "2026-02-28"),
        "c5": ("vip", "vip", 0, None),
    },
    {  # March: c1 and c4 below vip the second run in a row: down (c4 straight to potential)
        "c1": ("regular", "regular", 0, None),
        "c2": ("vip", "vip", 0, None),
        "c3": ("vip", "vip", 0, None),
        "c4": ("potential", "potential", 0, None),
        "c5": ("vip", "regular", 1, "2026-03-31"),
    },
    {  # April: c2 below again after being back: the first run below, kept; c5 back
        "c1": ("regular", "regular", 0, None),
        "c2": ("vip", "regular", 1, "2026-04-30"),
        "c3": ("vip", "vip", 0, None),
        "c4": ("potential", "potential", 0, None),
        "c5": ("vip", "vip", 0, None),
    },
]

# {grace_days: 45}: kept while as-of - (first run below) <= 45 days. c1 and c4 first fell on
# 02-28: kept on 03-31 (31 days, until 04-14), moved down on 04-30 (61 days).
EXPECTED_GRACE: list[dict[str, Row]] = [
    EXPECTED_BOTH[0],
    EXPECTED_BOTH[1],
    {
        "c1": ("vip", "regular", 2, "2026-02-28"),
        "c2": ("vip", "vip", 0, None),
        "c3": ("vip", "vip", 0, None),
        "c4": ("vip", "potential", 2, "2026-02-28"),
        "c5": ("vip", "regular", 1, "2026-03-31"),
    },
    {
        "c1": ("regular", "regular", 0, None),
        "c2": ("vip", "regular", 1, "2026-04-30"),
        "c3": ("vip", "vip", 0, None),
        "c4": ("potential", "potential", 0, None),
        "c5": ("vip", "vip", 0, None),
    },
]


@pytest.fixture(scope="module")
def orders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return monthly_orders(tmp_path_factory.mktemp("stable") / "orders.csv", AMOUNTS)


def grade(engine: Backend, orders: Path, policy: str, as_of: str, previous: Path | None) -> Grading:
    inputs = read_inputs(engine, orders)
    prior = engine.read_parquet(previous) if previous is not None else None
    return grade_inputs(
        inputs, parse_policy(policy, "stable.yaml"), dt.date.fromisoformat(as_of), engine, previous=prior
    )


def chain(engine: Backend, orders: Path, policy: str, folder: Path) -> list[pa.Table]:
    """Each month-end grading written as its run's result, read back as the next one's previous."""
    tables, previous = [], None
    for index, as_of in enumerate(MONTH_ENDS):
        grading = grade(engine, orders, policy, as_of, previous)
        previous = folder / f"{engine.name}-{index}.parquet"
        engine.write_parquet(grading.expr, previous)
        tables.append(pq.read_table(previous))
    return tables


def states(table: pa.Table) -> dict[str, Row]:
    return {
        r["customer_id"]: (
            r["tier"],
            r["graded_tier"],
            r["below_runs"],
            r["kept_since"].isoformat() if r["kept_since"] else None,
        )
        for r in table.to_pylist()
    }


def entry(table: pa.Table, customer: str) -> Any:
    row = next(r for r in table.to_pylist() if r["customer_id"] == customer)
    return json.loads(row["reasons"])["stability"]


@pytest.fixture(scope="module")
def both(engine: Backend, orders: Path, tmp_path_factory: pytest.TempPathFactory) -> list[pa.Table]:
    return chain(engine, orders, BOTH, tmp_path_factory.mktemp("both"))


@pytest.fixture(scope="module")
def grace(engine: Backend, orders: Path, tmp_path_factory: pytest.TempPathFactory) -> list[pa.Table]:
    return chain(engine, orders, GRACE, tmp_path_factory.mktemp("grace"))


@pytest.mark.parametrize("month", range(4))
def test_a_downgrade_waits_for_the_second_run_below_and_an_upgrade_does_not(both: list[pa.Table], month: int) -> None:
    assert states(both[month]) == EXPECTED_BOTH[month]


@pytest.mark.parametrize("month", range(4))
def test_the_grace_period_ends_and_lets_the_downgrade_through(grace: list[pa.Table], month: int) -> None:
    assert states(grace[month]) == EXPECTED_GRACE[month]


def test_the_reasons_say_what_stability_did(both: list[pa.Table], grace: list[pa.Table]) -> None:
    january, february, march, april = both
    assert entry(january, "c1") is None  # no previous run
    assert entry(february, "c1") == {
        "outcome": "kept",
        "previous": "vip",
        "graded": "regular",
        "tier": "vip",
        "below_runs": 1,
        "since": "2026-02-28",
        "until": "2026-04-14",  # 02-28 + 45 days
        "after_runs": 2,
        "grace_days": 45,
    }
    assert entry(march, "c1") == {
        "outcome": "down",
        "previous": "vip",
        "graded": "regular",
        "tier": "regular",
        "below_runs": 2,
        "since": "2026-02-28",
        "until": "2026-04-14",
        "after_runs": 2,
        "grace_days": 45,
        "by": "runs",
    }
    assert entry(february, "c3") == {"outcome": "up", "previous": "potential", "graded": "regular", "tier": "regular"}
    assert entry(march, "c2") == {"outcome": "back", "previous": "vip", "graded": "vip", "tier": "vip", "reset": 1}
    assert entry(february, "c5") is None  # not graded in January
    assert entry(april, "c1") is None  # regular as before: nothing to say
    down = entry(grace[3], "c1")
    assert (down["outcome"], down["by"], down["below_runs"], down["until"]) == ("down", "grace", 3, "2026-04-14")
    assert "after_runs" not in down


def test_tags_read_the_tier_that_applies(both: list[pa.Table]) -> None:
    february = {r["customer_id"]: r["tags"] for r in both[1].to_pylist()}
    assert february == {"c1": "kept_vip", "c2": "kept_vip", "c3": "", "c4": "kept_vip", "c5": ""}


def test_the_result_keeps_the_columns_the_next_run_reads(both: list[pa.Table]) -> None:
    schema = both[0].schema
    assert schema.names[:6] == ["customer_id", "tier", "tier_label", "graded_tier", "below_runs", "kept_since"]
    assert schema.field("below_runs").type == pa.int64() and schema.field("kept_since").type == pa.date32()
    labels = {r["customer_id"]: r["tier_label"] for r in both[1].to_pylist()}
    assert labels["c1"] == "VIP客户"  # the label of the tier that applies (zh, the default)


def test_no_previous_run_leaves_the_tiers_as_graded(engine: Backend, orders: Path) -> None:
    stable = grade(engine, orders, BOTH, "2026-03-31", None).table.to_pylist()
    plain = grade(engine, orders, PLAIN, "2026-03-31", None).table.to_pylist()
    tiers = [(r["customer_id"], r["tier"]) for r in stable]
    assert tiers == [(r["customer_id"], r["tier"]) for r in plain]
    assert tiers == [("c1", "regular"), ("c2", "vip"), ("c3", "vip"), ("c4", "potential"), ("c5", "regular")]
    assert all(r["graded_tier"] == r["tier"] and r["below_runs"] == 0 and r["kept_since"] is None for r in stable)
    assert all(json.loads(r["reasons"])["stability"] is None for r in stable)
    assert "graded_tier" not in plain[0] and "stability" not in json.loads(plain[0]["reasons"])


def test_a_previous_result_written_by_hand(engine: Backend, orders: Path, tmp_path: Path) -> None:
    """April (c1, c2 regular; c3, c5 vip; c4 potential) after a previous result written by hand:
    the grace boundary to the day, a tier the policy no longer has, and a customer not in it."""
    previous = tmp_path / "previous.parquet"
    pq.write_table(
        pa.table(
            {
                "customer_id": ["c1", "c2", "c3", "c4"],
                "tier": ["vip", "vip", "potential", "gold"],
                "below_runs": pa.array([1, 1, 0, 0], pa.int64()),
                "kept_since": pa.array([dt.date(2026, 3, 16), dt.date(2026, 3, 15), None, None], pa.date32()),
            }
        ),
        previous,
    )
    found = states(grade(engine, orders, GRACE, "2026-04-30", previous).table)
    assert found == {
        "c1": ("vip", "regular", 2, "2026-03-16"),  # 03-16 + 45 days = 04-30: kept on the last day
        "c2": ("regular", "regular", 0, None),  # 03-15 + 45 = 04-29: the grace ended the day before
        "c3": ("vip", "vip", 0, None),  # up at once
        "c4": ("potential", "potential", 0, None),  # 'gold' is no tier of this policy: not kept
        "c5": ("vip", "vip", 0, None),  # not in the previous result
    }


def test_a_previous_run_without_stability_columns_counts_from_now(
    engine: Backend, orders: Path, tmp_path: Path
) -> None:
    previous = tmp_path / "plain.parquet"
    engine.write_parquet(grade(engine, orders, PLAIN, "2026-01-31", None).expr, previous)
    found = states(grade(engine, orders, BOTH, "2026-02-28", previous).table)
    assert found == EXPECTED_BOTH[1]


def test_duckdb_and_spark_write_the_same_results(
    engine: Backend, both: list[pa.Table], grace: list[pa.Table], orders: Path, tmp_path: Path
) -> None:
    """Every run of both chains, every column (reasons included), equal as Arrow tables to
    DuckDB's (on DuckDB: the same again, byte for byte)."""
    duckdb = connect("duckdb")
    for tables, policy in ((both, BOTH), (grace, GRACE)):
        for ours, theirs in zip(tables, chain(duckdb, orders, policy, tmp_path), strict=True):
            assert ours.equals(theirs), (ours.to_pylist(), theirs.to_pylist())


def test_stable_tiers_rebuild_the_reasons_written_whole(
    engine: Backend, orders: Path, both: list[pa.Table], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rule a stable customer's reasons name is the rules' own tier (graded_tier), not the one
    kept: the lean JSON rebuilt by the reader equals the one the engine writes whole."""
    from tierkit.runs.reasons_full import full_reasons

    monkeypatch.setenv("TIERKIT_REASONS", "full")
    whole = chain(engine, orders, BOTH, tmp_path)
    policy = parse_policy(BOTH, "stable.yaml").policy
    kept = 0
    for lean_table, whole_table in zip(both, whole, strict=True):
        written = {r["customer_id"]: json.loads(r["reasons"]) for r in whole_table.to_pylist()}
        for row in lean_table.to_pylist():
            kept += row["tier"] != row["graded_tier"]
            assert full_reasons(row["reasons"], row, policy) == written[row["customer_id"]]
    assert kept >= 1  # the chain does keep a tier the rules would have lowered
