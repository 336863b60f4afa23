"""Reasons JSON is built in SQL; whatever text a value holds, it must parse back to itself."""

from __future__ import annotations

import json
from decimal import Decimal

import ibis
from hypothesis import given, settings
from hypothesis import strategies as st

from tierkit.engine import reasons

CON = ibis.duckdb.connect()

# Text as CRM exports hold it: any printable character, quotes, backslashes, newlines, tabs.
text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from('\n\t\r"\\'), max_size=30)


@settings(max_examples=60, deadline=None)
@given(text, st.integers(-(10**12), 10**12), st.decimals(min_value=-(10**9), max_value=10**9, places=2))
def test_any_text_round_trips(value: str, count: int, money: Decimal) -> None:
    t = ibis.memtable({"s": [value], "n": [count]}).mutate(m=ibis.literal(money).cast("decimal(18, 2)"))
    built = CON.to_pyarrow(t.select(j=reasons.obj({"text": t.s, "count": t.n, "money": t.m, "fixed": 'a"b'})))
    parsed = json.loads(built["j"][0].as_py())
    assert parsed == {"text": value, "count": count, "money": float(money), "fixed": 'a"b'}


def test_missing_values_are_null_and_floats_have_four_places() -> None:
    t = ibis.memtable({"x": [None, 2.0 / 3.0]}, schema={"x": "float64"})
    rows = CON.to_pyarrow(t.select(j=reasons.obj({"x": t.x})))["j"].to_pylist()
    assert rows == ['{"x":null}', '{"x":0.6667}']


@given(st.integers(min_value=-(10**40), max_value=10**40))
def test_a_whole_number_is_written_as_the_decimal_rule_writes_it(value: int) -> None:
    """Whole numbers take a short path in `_number`; the oracle is the rule written out with
    `decimal` (two places, trailing zeros dropped; whole numbers with separators)."""
    from tierkit.runs.reasons_text import _number

    number = Decimal(str(value))
    expected = f"{number:,.2f}".rstrip("0").rstrip(".") if number != number.to_integral() else f"{number:,.0f}"
    assert _number(value) == expected
