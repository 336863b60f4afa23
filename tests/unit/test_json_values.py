"""`plain` gives what a JSON round trip gives; the oracle is Python's json module itself."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tierkit.json_values import plain

LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
    | st.decimals(allow_nan=False)
    | st.dates()
    | st.datetimes()
)
KEYS = st.text() | st.integers() | st.booleans() | st.floats(allow_nan=False)
VALUES = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(KEYS, inner, max_size=4)
        | st.dictionaries(st.text(), inner, max_size=4)
    ),
    max_leaves=20,
)


def round_trip(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def as_text(value: Any) -> str:
    """Compared as JSON text: NaN is not equal to itself, its text is."""
    return json.dumps(value, sort_keys=False)


@given(VALUES)
def test_plain_is_the_json_round_trip(value: Any) -> None:
    ours = plain(value)
    assert as_text(ours) == as_text(round_trip(value))
    assert type(ours) is type(round_trip(value))


def test_plain_on_a_cards_values() -> None:
    """A hand-worked case: what a card's reasons and metrics hold."""
    value = {
        "spend": Decimal("1234.50"),
        "first": dt.date(2026, 1, 5),
        "parts": ("r", 3),
        "by_year": {2025: 1, 2026: 2},
        "share": 0.25,
        "none": None,
    }
    assert plain(value) == {
        "spend": "1234.50",
        "first": "2026-01-05",
        "parts": ["r", 3],
        "by_year": {"2025": 1, "2026": 2},
        "share": 0.25,
        "none": None,
    }
