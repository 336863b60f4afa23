"""Blocking rules counted before pairing, and left out over the budget (identity/blocking.py)."""

from __future__ import annotations

import ibis

from tierkit.backends import connect
from tierkit.ingest.identity.blocking import Budget, afford, count_pairs

# 7 records: phones 1,1,1 / 2,2 / none / 3; everyone born on one day; two cities
RECORDS = {
    "phone": ["1", "1", "1", "2", "2", None, "3"],
    "birth_date": ["19900101"] * 7,
    "city": ["a", "a", "b", "b", "b", "b", None],
}


def test_pairs_are_counted_from_group_sizes() -> None:
    engine = connect("duckdb")
    table = ibis.memtable(RECORDS)
    assert count_pairs(engine, table, ["phone"]) == 3 + 1  # C(3,2) + C(2,2); a missing phone pairs nobody
    assert count_pairs(engine, table, ["birth_date"]) == 21  # C(7,2)
    assert count_pairs(engine, table, ["phone", "city"]) == 1 + 1  # (1,a) twice, (2,b) twice
    assert count_pairs(engine, table.filter(table.phone == "none"), ["phone"]) == 0


def test_a_rule_over_the_budget_is_left_out_and_said() -> None:
    engine = connect("duckdb")
    table = ibis.memtable(RECORDS)
    rules = [["phone"], ["birth_date"], ["birth_date", "city"]]
    blocking = afford(engine, table, rules, 7, Budget(pairs_per_record=1, floor=0))  # at most 7 pairs a rule
    assert blocking.kept == [["phone"], ["birth_date", "city"]]  # 4 and C(2,2) + C(4,2) = 7 pairs
    assert blocking.left_out == {"birth_date": 21}


def test_when_every_rule_is_over_the_narrowest_stays() -> None:
    """Never no rule at all: splink would then compare every pair."""
    engine = connect("duckdb")
    blocking = afford(engine, ibis.memtable(RECORDS), [["birth_date"], ["phone"]], 7, Budget(0.1, 0))
    assert blocking.kept == [["phone"]]
    assert blocking.left_out == {"birth_date": 21}


def test_under_the_floor_nothing_is_counted() -> None:
    engine = connect("duckdb")
    blocking = afford(engine, ibis.memtable(RECORDS), [["birth_date"], ["phone"]], 7, Budget(5, 2_000_000))
    assert blocking.kept == [["birth_date"], ["phone"]]
    assert blocking.pairs == {} and blocking.left_out == {}
