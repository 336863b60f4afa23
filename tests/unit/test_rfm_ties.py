"""The shipped presets score equal values equally (issue 12): on CDNOW, one-time buyers with the
same recency were split between two RFM segments by their customer id."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from tierkit.app.grading import grade

AS_OF = dt.date(2026, 6, 30)
# a customer's history: (days before the as-of date of each order, amount in yuan)
history = st.lists(st.tuples(st.integers(0, 700), st.sampled_from([10, 25, 25, 99, 500])), min_size=1, max_size=4)


@settings(max_examples=25, deadline=None)
@given(st.lists(history, min_size=2, max_size=40), st.integers(1, 5))
def test_customers_with_the_same_values_get_the_same_rfm_segment(histories: list, copies: int) -> None:  # type: ignore[type-arg]
    import tempfile

    rows = []
    for index, orders in enumerate(histories * copies):  # every history repeated: twins with other ids
        for days, amount in orders:
            rows.append(
                {"customer_id": f"c{index:04d}", "ordered_at": AS_OF - dt.timedelta(days=days), "amount": amount}
            )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "orders.parquet"
        pq.write_table(pa.Table.from_pylist(rows), path)
        graded = grade(path, policy="rfm", as_of=AS_OF).table.to_pylist()
    seen: dict[tuple[object, ...], set[str]] = {}
    for row in graded:
        key = (row["recency_days"], row["orders_all"], row["spend_all"])
        seen.setdefault(key, set()).add(f"{row['rfm_r']}{row['rfm_f']}{row['rfm_m']}{row['rfm_segment']}")
    assert all(len(scores) == 1 for scores in seen.values())
