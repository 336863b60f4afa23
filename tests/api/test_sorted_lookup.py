"""The card's point lookup (tierkit.runs.lookup.SortedTable): its byte-wise binary search and the
rows it remembers give what a one-row Arrow slice gives (the path it replaced), on a hand-worked
table whose ids sort differently by UTF-16 unit, by locale or by code point."""

from __future__ import annotations

import bisect
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierkit.runs import lookup
from tierkit.runs.lookup import REMEMBERED, SortedTable

# ids in code point order (what Python's `<` on str gives): digits, upper, lower, é (U+00E9),
# 客 (U+5BA2), Ａ (U+FF21), then 𝒜 (U+1D49C: 4 bytes in UTF-8; in UTF-16 a surrogate pair, which
# would sort it before Ａ)
IDS = ["00000001", "00000010", "Zed", "abc", "é1", "客户7", "Ａ9", "𝒜1"]
ROWS = [
    {"customer_id": "00000001", "tier": "vip", "spend": Decimal("12.50"), "first": dt.date(2024, 1, 5), "n": 3},
    {"customer_id": "00000010", "tier": "core", "spend": None, "first": dt.date(2025, 2, 1), "n": 0},
    {"customer_id": "Zed", "tier": "core", "spend": Decimal("0.01"), "first": None, "n": 1},
    {"customer_id": "abc", "tier": "potential", "spend": Decimal("99.99"), "first": dt.date(2023, 12, 31), "n": 7},
    {"customer_id": "é1", "tier": "vip", "spend": Decimal("1000.00"), "first": dt.date(2024, 6, 30), "n": 2},
    {"customer_id": "客户7", "tier": "lost", "spend": Decimal("5.00"), "first": dt.date(2022, 3, 3), "n": 9},
    {"customer_id": "Ａ9", "tier": "vip", "spend": Decimal("3.30"), "first": dt.date(2020, 1, 1), "n": 5},
    {"customer_id": "𝒜1", "tier": "core", "spend": Decimal("7.70"), "first": dt.date(2021, 7, 7), "n": 4},
]
SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("tier", pa.string()),
        ("spend", pa.decimal128(18, 2)),
        ("first", pa.date32()),
        ("n", pa.int64()),
    ]
)


def _write(path: Path, rows: list[dict[str, object]], schema: pa.Schema = SCHEMA) -> SortedTable:
    table = pa.Table.from_pylist(rows, schema=schema)
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return SortedTable(path, "customer_id")


@pytest.fixture
def table(tmp_path: Path) -> SortedTable:
    assert sorted(IDS) == IDS  # the fixture is in the order the file is written in
    return _write(tmp_path / "lookup.arrow", ROWS)


def test_every_row_is_found_as_written(table: SortedTable) -> None:
    for row in ROWS:
        assert table.find(str(row["customer_id"])) == row
        assert table.has(str(row["customer_id"]))


def test_the_fast_path_gives_what_a_one_row_slice_gives(table: SortedTable) -> None:
    for i, cid in enumerate(IDS):
        slow = table.table.slice(i, 1).to_pylist()[0]
        assert table.find(cid) == slow
        assert table.find(cid) == slow  # the remembered row, a second time
        assert table.find(cid, ["tier", "n"]) == {"tier": slow["tier"], "n": slow["n"]}


@pytest.mark.parametrize(
    "missing", ["", "0", "00000002", "Zed ", "abd", "e1", "客户", "客户8", "Ａ", "𝒜", "𝒜2", "\U0010ffff"]
)
def test_ids_not_in_the_file_are_not_found(table: SortedTable, missing: str) -> None:
    assert table.find(missing) is None
    assert not table.has(missing)


def test_a_lone_surrogate_is_not_found_and_does_not_fail(table: SortedTable) -> None:
    assert table.find("\ud800") is None


def test_a_caller_changing_its_row_does_not_change_the_next_answer(table: SortedTable) -> None:
    first = table.find("abc")
    assert first is not None
    first["tier"] = "changed"
    assert table.find("abc") == ROWS[3]


def test_nested_values_are_copied_too(tmp_path: Path) -> None:
    schema = pa.schema([("customer_id", pa.string()), ("tags", pa.list_(pa.string()))])
    table = _write(tmp_path / "nested.arrow", [{"customer_id": "a", "tags": ["x"]}], schema)
    found = table.find("a")
    assert found is not None
    found["tags"].append("y")
    assert table.find("a") == {"customer_id": "a", "tags": ["x"]}


def test_more_lookups_than_are_remembered_still_answer_right(tmp_path: Path) -> None:
    count = REMEMBERED + 200
    rows = [{"customer_id": f"{i:06d}", "tier": "t", "spend": None, "first": None, "n": i} for i in range(count)]
    table = _write(tmp_path / "many.arrow", rows)
    for i in [*range(count), *range(0, count, 7)]:
        assert table.find(f"{i:06d}", ["n"]) == {"n": i}
    assert table.find(f"{count:06d}") is None


def test_integer_keys_are_searched_as_python_values(tmp_path: Path) -> None:
    schema = pa.schema([("customer_id", pa.int64()), ("tier", pa.string())])
    table = pa.Table.from_pylist([{"customer_id": k, "tier": f"t{k}"} for k in (2, 10, 33)], schema=schema)
    path = tmp_path / "ints.arrow"
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    found = SortedTable(path, "customer_id")
    assert found.find(10) == {"customer_id": 10, "tier": "t10"}  # type: ignore[arg-type]
    assert found.find(3) is None  # type: ignore[arg-type]


def test_near_offers_the_padded_id_and_the_neighbours(table: SortedTable) -> None:
    assert table.near("1") == ["00000001"]
    assert table.near("abd") == ["abc", "é1", "客户7"]


NUMBER_TYPES = [pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint32(), pa.uint64(), pa.float32()]


@given(
    st.lists(
        st.tuples(
            st.integers(-(2**7), 2**7 - 1),
            st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
            st.floats(allow_nan=True, width=64),
            st.text(max_size=6),
            st.one_of(st.none(), st.text(max_size=6)),
            st.booleans(),
            st.integers(0, 2**64 - 1),
        ),
        min_size=1,
        max_size=30,
    ),
    st.sampled_from(NUMBER_TYPES),
    st.integers(0, 5),
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_each_column_reads_as_a_one_row_slice(
    tmp_path: Path, values: list[tuple[Any, ...]], small: pa.DataType, skip: int
) -> None:
    """Columns read from the mapped buffers (text and numbers with no null) and through Arrow's
    scalars (nulls, flags) give what a one-row slice gives, at every row, also in a file written
    in several batches and in a table sliced past its first rows. The oracle is pyarrow's own
    `to_pylist`."""
    fitted = {
        pa.int8(): lambda v: v[0],
        pa.int16(): lambda v: v[0] * 100,
        pa.int32(): lambda v: v[0] * 10_000_000,
        pa.int64(): lambda v: v[1] if v[1] is not None else 0,
        pa.uint8(): lambda v: v[0] + 128,
        pa.uint32(): lambda v: (v[0] + 128) * 10_000_000,
        pa.uint64(): lambda v: v[6],
        pa.float32(): lambda v: float(v[0]) / 4,
    }[small]
    rows = [
        {
            "customer_id": f"{i:04d}",
            "small": fitted(v),
            "big": v[1],
            "x": v[2],
            "text": v[3],
            "maybe": v[4],
            "flag": v[5],
        }
        for i, v in enumerate(values)
    ]
    schema = pa.schema(
        [
            ("customer_id", pa.string()),
            ("small", small),
            ("big", pa.int64()),
            ("x", pa.float64()),
            ("text", pa.string()),
            ("maybe", pa.large_string()),
            ("flag", pa.bool_()),
        ]
    )
    whole = pa.Table.from_pylist(rows, schema=schema)
    path = tmp_path / f"lookup-{len(rows)}-{skip}.arrow"
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, whole.schema) as writer:
        writer.write_table(whole.slice(min(skip, len(rows) - 1)))  # buffers that start past offset 0 too
    table = SortedTable(path, "customer_id")
    expected = table.table.to_pylist()
    for row in expected:
        found = table.find(row["customer_id"])
        assert found is not None
        assert {k: repr(v) for k, v in found.items()} == {k: repr(v) for k, v in row.items()}  # NaN as NaN


KEYS = st.sampled_from(["ab", "abc客", "0123456789"]).flatmap(
    lambda alphabet: st.tuples(
        st.lists(st.text(alphabet, max_size=3), min_size=1, max_size=80), st.text(alphabet, max_size=3)
    )
)


@given(KEYS, st.one_of(st.none(), st.integers(-3, 90)), st.booleans(), st.sampled_from([1, 2, 8, 256]))
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_search_from_a_guess_lands_where_a_plain_bisection_does(
    tmp_path: Path, drawn: tuple[list[str], str], near: int | None, integers: bool, gallop: int
) -> None:
    """`find_near` gallops out from a guessed row (a tier history passes the place found in the
    run before): whatever the guess (right, wrong, out of range, none), the place and the row are
    those of a bisection of the sorted keys (the oracle: Python's `bisect`, over the keys as
    Python compares them; repeated keys too: a small alphabet repeats them), for text keys read
    as bytes and integer keys alike."""
    keys, wanted = drawn

    if integers:
        ordered: list[Any] = sorted(len(k) * 1000 + sum(map(ord, k)) % 1000 for k in keys)
        value: Any = len(wanted) * 1000 + sum(map(ord, wanted)) % 1000
        schema = pa.schema([("customer_id", pa.int64()), ("n", pa.int64())])
    else:
        ordered = sorted(keys, key=lambda k: k.encode("utf-8"))
        value = wanted
        schema = pa.schema([("customer_id", pa.string()), ("n", pa.int64())])
    rows = pa.Table.from_pylist([{"customer_id": k, "n": i} for i, k in enumerate(ordered)], schema=schema)
    path = tmp_path / f"near-{abs(hash((tuple(ordered), value, near)))}.arrow"
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, rows.schema) as writer:
        writer.write_table(rows)
    table = SortedTable(path, "customer_id")
    guess = None if near is None else near % (len(ordered) + 2) - 1  # from -1 to one past the end
    with mock.patch.object(lookup, "GALLOP", gallop):  # how far the search looks around the guess
        at, row = table.find_near(value, guess, ["n"])
    expected = bisect.bisect_left(ordered, value) if integers else _bytes_bisect(ordered, value)
    assert at == expected
    assert row == ({"n": expected} if expected < len(ordered) and ordered[expected] == value else None)


def _bytes_bisect(ordered: list[str], value: str) -> int:
    return bisect.bisect_left([k.encode("utf-8") for k in ordered], value.encode("utf-8"))
