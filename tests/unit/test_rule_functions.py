"""The rule language's population statistics and calendar functions (DuckDB), by hand and by property.

Engine parity of the same functions is in tests/engines/test_population_rules.py.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import ibis
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierkit.engine.rules import RuleCompiler, compile_condition
from tierkit.errors import PolicyError
from tierkit.policy.expr import RuleSyntaxError, parse_rule
from tierkit.policy.loader import parse_policy

CON = ibis.duckdb.connect()
AS_OF = dt.date(2024, 6, 30)


def values(
    rule: str, as_of: dt.date | None = AS_OF, where: str = "policy.yaml:3: tiers[0].when", **columns: object
) -> list[object]:
    t = ibis.memtable(pa.table(columns))
    value = RuleCompiler({c: t[c] for c in t.columns}, where, as_of).compile(rule)
    return CON.to_pyarrow(t.select(v=value))["v"].to_pylist()


# -- population statistics -------------------------------------------------------------------

SPEND = [Decimal("100.00"), Decimal("250.50"), None, Decimal("49.50"), Decimal("600.00")]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        # NULL ignored: (100 + 250.5 + 49.5 + 600) / 4 = 250
        ("avg(spend)", 250.0),
        ("total(spend)", Decimal("1000.00")),
        # sorted 49.5, 100, 250.5, 600: h = 3 * 0.5 = 1.5, 100 + 0.5 * 150.5 = 175.25
        ("median(spend)", 175.25),
        # h = 3 * 0.75 = 2.25: 250.5 + 0.25 * 349.5 = 337.875
        ("percentile(spend, 0.75)", 337.875),
        ("percentile(spend, 0)", 49.5),
        ("percentile(spend, 1)", 600.0),
        # a statistic of an expression: orders of 100 or more, else missing: (100 + 250.5 + 600) / 3
        ("avg(if(spend >= 100, spend, null))", 950.5 / 3),
    ],
)
def test_population_statistics_by_hand(rule: str, expected: object) -> None:
    got = values(rule, spend=SPEND)
    assert len(set(got)) == 1  # one value for every customer
    assert got[0] == (pytest.approx(expected) if isinstance(expected, float) else expected)


def test_above_average_in_the_seeds_words() -> None:
    """高于平均值 / 处于平均值 / 低于平均值 (seed 000): above, at and below an average of 250."""
    got = values(
        "if(spend > avg(spend), '高于平均值', if(spend == avg(spend), '处于平均值', '低于平均值'))",
        spend=[100, 250, 400],
    )
    assert got == ["低于平均值", "处于平均值", "高于平均值"]


def test_a_column_of_missing_values_has_no_average() -> None:
    assert values("avg(x)", x=pa.array([None, None], pa.float64())) == [None, None]


@pytest.mark.parametrize(
    ("rule", "column", "fragment"),
    [
        ("avg(median(x)) > 1", 5, "median() inside avg(): population statistics do not nest"),
        ("percentile(x, 1.5) > 1", 15, "needs q a number from 0 to 1"),
        ("percentile(x, y) > 1", 15, "needs q a number from 0 to 1"),
        ("percentile(x, true) > 1", 15, "needs q a number from 0 to 1"),
        ("percentile(x) > 1", 1, "percentile() takes 2 arguments"),
        ("d > date('2024-02-30')", 10, "'2024-02-30' is not a date"),
        ("d > date(20240101)", 10, "date() takes a text like '2024-06-30'"),
        ("spend > averge(spend)", 9, "unknown function 'averge'"),
        ("spend > 9223372036854775808", 9, "9223372036854775808 is past the largest whole number (64-bit)"),
    ],
)
def test_what_the_parser_refuses_points_at_the_token(rule: str, column: int, fragment: str) -> None:
    with pytest.raises(RuleSyntaxError) as info:
        parse_rule(rule)
    assert info.value.pos + 1 == column and fragment in str(info.value)


def test_a_statistic_in_a_row_filter_is_refused_with_file_line_and_column() -> None:
    t = ibis.memtable({"amount": [1.0]})
    with pytest.raises(
        PolicyError,
        match=r"^policy\.yaml:4: metrics\.big\.where: avg\(\) at column 10 in 'amount > avg\(amount\)' "
        "is a statistic over all customers",
    ):
        compile_condition("amount > avg(amount)", {"amount": t.amount}, "policy.yaml:4: metrics.big.where")


def test_a_statistic_of_text_is_an_error_naming_the_function() -> None:
    with pytest.raises(
        PolicyError,
        match=r"tiers\[0\]\.when: avg\(\) at column 1 in 'avg\(region\) > 1': needs a number, and its argument is str",
    ):
        values("avg(region) > 1", region=["a"])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(min_value=-1000, max_value=1000), min_size=1, max_size=40),
    st.sampled_from([0.0, 0.1, 0.2, 0.25, 0.5, 0.8, 0.9, 0.95, 1.0]),
)
def test_percentile_is_the_linear_quantile_and_splits_the_population_at_q(xs: list[int], q: float) -> None:
    """numpy's default percentile is the same definition; of n values, those above it number at
    most (n - 1) - floor(h) and those at or above it at least n - ceil(h), h = (n - 1) q."""
    p = values(f"percentile(x, {q})", x=xs)[0]
    assert p == pytest.approx(float(np.percentile(xs, q * 100)), abs=1e-9)
    n, h = len(xs), (len(xs) - 1) * q
    # p interpolates in floating point: -1000 * 0.9 + -1000 * 0.1 is -1000.0000000000001, so
    # "above" and "at or above" are judged to within a billionth
    assert sum(x > p + 1e-9 for x in xs) <= (n - 1) - math.floor(h + 1e-9)
    assert sum(x >= p - 1e-9 for x in xs) >= n - math.ceil(h - 1e-9)


# -- calendar ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "birth", "as_of", "expected"),
    [
        ("days_until_birthday(b)", dt.date(1990, 6, 30), AS_OF, 0),  # today
        ("days_until_birthday(b)", dt.date(1990, 6, 29), AS_OF, 364),  # yesterday: 2025-06-29
        ("days_until_birthday(b)", dt.date(1990, 1, 1), dt.date(2024, 12, 31), 1),  # across the new year
        ("days_until_birthday(b)", dt.date(2000, 2, 29), dt.date(2024, 2, 28), 1),  # a leap year: the 29th
        ("days_until_birthday(b)", dt.date(2000, 2, 29), dt.date(2023, 2, 28), 0),  # otherwise the 28th
        ("days_until_birthday(b)", dt.date(2000, 2, 29), dt.date(2023, 3, 1), 365),  # next: 2024-02-29
        ("birthday_this_month(b)", dt.date(1990, 6, 1), AS_OF, True),
        ("birthday_this_month(b)", dt.date(1990, 7, 1), AS_OF, False),
        ("month(b) == month(as_of) % 12 + 1", dt.date(1990, 7, 31), AS_OF, True),  # next month's list
        ("years_between(b, as_of)", dt.date(1990, 7, 1), AS_OF, 33),
        ("years_between(b, as_of)", dt.date(2000, 2, 29), dt.date(2023, 2, 28), 23),
        ("years_between(b, as_of)", dt.date(2000, 2, 29), dt.date(2024, 2, 28), 23),  # 2024 has a 29th
        ("days_between(b, as_of)", dt.date(2024, 1, 1), AS_OF, 181),  # 31 + 29 + 31 + 30 + 31 + 30
        ("days_between(as_of, b)", dt.date(2024, 1, 1), AS_OF, -181),
        ("year(b) * 100 + day(b)", dt.date(1990, 7, 31), AS_OF, 199031),
        ("b < date('1990-08-01') and as_of == date('2024-06-30')", dt.date(1990, 7, 31), AS_OF, True),
        ("days_until_birthday(b)", None, AS_OF, None),
    ],
)
def test_calendar_functions_by_hand(rule: str, birth: dt.date | None, as_of: dt.date, expected: object) -> None:
    assert values(rule, as_of, b=pa.array([birth], pa.date32())) == [expected]


def test_a_timestamp_is_read_as_its_date_and_text_is_refused() -> None:
    assert values("month(t)", t=[dt.datetime(2024, 3, 31, 23, 0)]) == [3]
    with pytest.raises(
        PolicyError,
        match=r"month\(\) at column 1 in 'month\(t\) == 1': needs a date, and its argument is string",
    ):
        values("month(t) == 1", t=["2024-01-01"])


def test_a_rule_without_an_as_of_date_says_so() -> None:
    with pytest.raises(PolicyError, match=r"days_until_birthday\(\) at column 1 .*needs the as-of date"):
        values("days_until_birthday(b) < 30", None, b=pa.array([dt.date(1990, 1, 1)]))
    with pytest.raises(PolicyError, match=r"unknown name 'as_of'"):
        values("as_of > b", None, b=pa.array([dt.date(1990, 1, 1)]))


def _next_birthday_by_walking(birth: dt.date, as_of: dt.date) -> int:
    """The oracle: walk day by day until the month and day match (29 February on the 28th when
    the year has none)."""
    day = as_of
    while True:
        leap = day.year % 4 == 0 and (day.year % 100 != 0 or day.year % 400 == 0)
        wanted = (2, 28) if (birth.month, birth.day) == (2, 29) and not leap else (birth.month, birth.day)
        if (day.month, day.day) == wanted:
            return (day - as_of).days
        day += dt.timedelta(days=1)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2030, 12, 31)), min_size=1, max_size=30),
    st.dates(min_value=dt.date(1999, 1, 1), max_value=dt.date(2101, 12, 31)),
)
def test_days_until_birthday_is_0_to_365_and_agrees_with_walking_the_calendar(
    births: list[dt.date], as_of: dt.date
) -> None:
    got = values("days_until_birthday(b)", as_of, b=pa.array(births, pa.date32()))
    assert all(0 <= d <= 365 for d in got)  # type: ignore[operator]
    assert got == [_next_birthday_by_walking(b, as_of) for b in births]


# -- ABC by head count -----------------------------------------------------------------------


def test_abc_by_customers_defaults_to_the_seeds_20_70_10_and_keeps_the_value_default() -> None:
    text = "name: t\nmetrics: {s: {sum: amount}}\nscores:\n  abc: {by: s, split: customers}\n  v: {type: abc, by: s}\n"
    policy = parse_policy(text + "tiers: [{name: a, else: true}]\n", "t.yaml").policy
    assert policy.scores["abc"].cuts == [Decimal("0.2"), Decimal("0.9")]  # type: ignore[union-attr]
    assert policy.scores["v"].cuts == [Decimal("0.80"), Decimal("0.95")]  # type: ignore[union-attr]
    with pytest.raises(PolicyError, match=r"t\.yaml:4: scores\.abc\.split"):
        parse_policy(text.replace("split: customers", "split: people") + "tiers: [{name: a, else: true}]\n", "t.yaml")
