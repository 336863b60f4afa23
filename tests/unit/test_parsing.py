"""Round trips: any amount or date written the way exports write it parses back to itself."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import ibis
from hypothesis import given, settings
from hypothesis import strategies as st

from tierkit.tables.parsing import parse_date, parse_number

CON = ibis.duckdb.connect()


def parsed(texts: list[str], parse: object) -> list[object]:
    t = ibis.memtable({"s": texts}, schema={"s": "string"})
    return CON.to_pyarrow(t.select(v=parse(t.s)))["v"].to_pylist()  # type: ignore[operator]


def money_forms(value: Decimal) -> list[str]:
    plain = f"{value:.2f}"
    grouped = f"{abs(value):,.2f}"
    forms = [plain, f"¥{grouped}" if value >= 0 else f"-¥{grouped}", f"{plain}元", f"RMB {plain}", f"￥ {plain}"]
    if value < 0:
        forms.append(f"({grouped})")
    return forms


@settings(max_examples=80, deadline=None)
@given(st.decimals(min_value=-(10**12), max_value=10**12, places=2))
def test_amounts_round_trip(value: Decimal) -> None:
    forms = money_forms(value)
    assert parsed(forms, lambda s: parse_number(s, "decimal(18, 2)")) == [value] * len(forms)


@settings(max_examples=80, deadline=None)
@given(st.integers(min_value=0, max_value=10**8))
def test_wan_and_percent(units: int) -> None:
    text = f"{Decimal(units) / 10000}万"
    assert parsed([text], lambda s: parse_number(s, "decimal(18, 2)")) == [Decimal(units).quantize(Decimal("0.01"))]
    assert parsed([f"{units}%"], lambda s: parse_number(s, "decimal(38, 4)")) == [Decimal(units) / 100]


@settings(max_examples=80, deadline=None)
@given(st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2099, 12, 31)))
def test_dates_round_trip(day: dt.date) -> None:
    serial = (day - dt.date(1899, 12, 30)).days
    forms = [
        day.isoformat(),
        f"{day.year}/{day.month}/{day.day}",
        f"{day.year}.{day.month}.{day.day}",
        f"{day.year}年{day.month}月{day.day}日",
        day.strftime("%Y%m%d"),
        f"{day.isoformat()} 13:45:00",
        f"{day.isoformat()} 13:45:00.123",
        f"{day.isoformat()}T23:59:59+08:00",
    ]
    if 10000 <= serial <= 99999:
        forms.append(str(serial))
    assert parsed(forms, parse_date) == [day] * len(forms)


def test_what_is_not_a_value() -> None:
    assert parsed(["abc", "2024-02-30", "12.3.4", "", "万"], parse_date)[:3] == [None, None, None]
    assert parsed(["abc", "1.2.3", "¥", "1e40"], lambda s: parse_number(s, "decimal(18, 2)")) == [None] * 4
