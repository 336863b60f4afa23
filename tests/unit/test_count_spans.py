"""Which counts a plan adds up from two others (engine.spans), worked by hand."""

from __future__ import annotations

import datetime as dt

from tierkit.engine.spans import CountSpans

END = dt.date(2026, 9, 30)
M6, M12, M24 = dt.date(2026, 3, 30), dt.date(2025, 9, 30), dt.date(2024, 9, 30)


def test_a_year_is_its_two_halves() -> None:
    spans = CountSpans()
    aggregates = {"orders": {"p12": 1, "p6": 2, "p6b": 3}}
    spans.note("orders", "", (M12, END), "p12")
    spans.note("orders", "", (M6, END), "p6")
    spans.note("orders", "", (M12, M6), "p6b")
    assert spans.derive(aggregates) == {"orders": {"p12": ("p6b", "p6")}}
    assert aggregates == {"orders": {"p6": 2, "p6b": 3}}


def test_nothing_is_derived_without_both_halves_or_across_filters() -> None:
    spans = CountSpans()
    aggregates = {"orders": {"p12": 1, "p6": 2, "q": 3}}
    spans.note("orders", "", (M12, END), "p12")
    spans.note("orders", "", (M6, END), "p6")
    spans.note("orders", "channel == 'web'", (M12, M6), "q")  # other rows: not a half of p12
    spans.note("interactions", "", (M12, M6), "r")
    assert spans.derive(aggregates) == {}
    assert aggregates == {"orders": {"p12": 1, "p6": 2, "q": 3}}


def test_a_count_used_to_add_another_is_not_itself_derived() -> None:
    spans = CountSpans()
    aggregates = {"orders": {n: 0 for n in ("p24", "a", "p12", "b", "p6")}}
    spans.note("orders", "", (M24, END), "p24")  # = a + p12
    spans.note("orders", "", (M24, M12), "a")
    spans.note("orders", "", (M12, END), "p12")  # = b + p6, but it adds up p24 already
    spans.note("orders", "", (M12, M6), "b")
    spans.note("orders", "", (M6, END), "p6")
    assert spans.derive(aggregates) == {"orders": {"p24": ("a", "p12")}}
    assert sorted(aggregates["orders"]) == ["a", "b", "p12", "p6"]


def test_all_time_is_before_and_after_a_date() -> None:
    spans = CountSpans()
    aggregates = {"orders": {"all": 0, "old": 0, "new": 0}}
    spans.note("orders", "", (None, END), "all")
    spans.note("orders", "", (None, M12), "old")
    spans.note("orders", "", (M12, END), "new")
    assert spans.derive(aggregates) == {"orders": {"all": ("old", "new")}}
