from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from tierkit.engine.windows import Window, months_back


def test_calendar_months_clamp_to_month_end() -> None:
    assert months_back(dt.date(2024, 3, 31), 1) == dt.date(2024, 2, 29)
    assert months_back(dt.date(2023, 3, 31), 1) == dt.date(2023, 2, 28)
    assert months_back(dt.date(2024, 1, 15), 12) == dt.date(2023, 1, 15)


def test_window_starts() -> None:
    as_of = dt.date(2024, 6, 30)
    assert Window.parse("90D").start(as_of) == dt.date(2024, 4, 1)
    assert Window.parse("1Y").start(as_of) == Window.parse("12M").start(as_of) == dt.date(2023, 6, 30)
    assert Window.parse("6M").start(as_of, periods=2) == dt.date(2023, 6, 30)
    assert Window.parse("all").start(as_of) is None


@given(st.dates(min_value=dt.date(1901, 1, 1), max_value=dt.date(2200, 1, 1)), st.integers(0, 600))
def test_months_back_lands_n_months_earlier(day: dt.date, n: int) -> None:
    back = months_back(day, n)
    assert (day.year * 12 + day.month) - (back.year * 12 + back.month) == n
    assert back.day <= day.day
