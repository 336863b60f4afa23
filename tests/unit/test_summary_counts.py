"""The summary's class totals in one GROUPING SETS scan, against a hand-worked table."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from tierkit.backends.base import ValueOutOfRange
from tierkit.backends.duckdb_connection import class_totals, flag_counts

ROWS = [  # customer_id, tier, abc, spend, tag_vip
    ("a", "vip", "A", 100.25, True),
    ("b", "vip", "B", 50.5, False),
    ("c", "regular", "A", 10.125, None),
    ("d", None, "C", 1.0, True),
    ("", "regular", None, None, False),
]


@pytest.fixture
def raw() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE g (customer_id VARCHAR, tier VARCHAR, abc VARCHAR, spend DOUBLE, tag_vip BOOLEAN)")
    con.executemany("INSERT INTO g VALUES (?, ?, ?, ?, ?)", ROWS)
    return con


def test_each_tally_by_hand_with_two_tallies_on_one_column(raw: duckdb.DuckDBPyConnection) -> None:
    columns = {"tier": "tier", "score:abc": "abc", "score:primary": "tier"}
    got = sorted(class_totals(raw, "g", columns, "spend", exact=True), key=lambda r: (r[0], str(r[1])))
    assert got == [
        ("score:abc", "A", 2, Decimal("110.375")),
        ("score:abc", "B", 1, Decimal("50.5")),
        ("score:abc", "C", 1, Decimal("1")),
        ("score:abc", None, 1, None),
        ("score:primary", None, 1, Decimal("1")),
        ("score:primary", "regular", 2, Decimal("10.125")),
        ("score:primary", "vip", 2, Decimal("150.75")),
        ("tier", None, 1, Decimal("1")),
        ("tier", "regular", 2, Decimal("10.125")),
        ("tier", "vip", 2, Decimal("150.75")),
    ]


def test_without_a_value_each_class_counts_its_customers(raw: duckdb.DuckDBPyConnection) -> None:
    got = sorted((k, n, v) for _, k, n, v in class_totals(raw, "g", {"tier": "tier"}, None, exact=False) if k)
    assert got == [("regular", 2, 2), ("vip", 2, 2)]


def test_flags_count_rows_missing_ids_and_each_tag(raw: duckdb.DuckDBPyConnection) -> None:
    assert flag_counts(raw, "g", ["tag_vip"]) == (5, 1, [2])


def test_a_value_past_decimal_38_6_is_named(raw: duckdb.DuckDBPyConnection) -> None:
    raw.execute("INSERT INTO g VALUES ('e', 'vip', 'A', 1e40, false)")
    with pytest.raises(ValueOutOfRange):
        class_totals(raw, "g", {"tier": "tier"}, "spend", exact=True)
