"""Row numbers of a file read on every core (issue 16): the part and the rejects name each row by
its place in the file, whether the part is written from the kept rows as they are (no repeated
id) or sorted after the joins that settle repeats; and the short paths for plain dates and
amounts give what the full chains give.

The files are made here with the rows at known places, so the expected numbers are counted by
hand: 300,000 rows run past DuckDB's row groups (122,880 rows) and its CSV buffers, so that
rows really are read by more than one thread.
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb
import ibis
import pytest

from tierkit.backends import connect
from tierkit.ingest.imports import import_file
from tierkit.ingest.quarantine import ImportRules
from tierkit.tables.parsing import _any_number, parse_date, parse_number

TODAY = dt.date(2026, 11, 29)
ROWS = 300_000
BAD = {7: "2024/2/30", 123_457: "soon", 299_999: "2024/13/1"}  # data row -> a date that is none
CON = ibis.duckdb.connect()


def export(path: Path, repeat_at: int | None = None) -> Path:
    """Rows numbered 1..ROWS: order id R<row>, a plain date and amount; row 5 has a cell over
    two lines, so lines and rows differ after it; `repeat_at` repeats row 3's id, other values."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["订单号", "会员号", "下单时间", "实付金额", "备注"])
        for row in range(1, ROWS + 1):
            order = "R3" if row == repeat_at else f"R{row}"
            day = BAD.get(row, f"2024/{row % 12 + 1}/{row % 28 + 1}")
            note = "two\nlines" if row == 5 else ""
            writer.writerow([order, f"{row % 1000:05d}", day, f"¥{row % 5000:,}.{row % 100:02d}", note])
    return path


@pytest.mark.parametrize("repeat_at", [None, 200_001])
def test_rows_are_named_by_their_place_in_the_file(tmp_path: Path, repeat_at: int | None) -> None:
    path = export(tmp_path / "orders.csv", repeat_at)
    result = import_file(connect("duckdb"), tmp_path / "data", "orders", path, ImportRules(TODAY))
    rejected = dict(BAD) | ({repeat_at: "R3"} if repeat_at else {})
    assert (result.read, result.imported, result.rejected) == (ROWS, ROWS - len(rejected), len(rejected))
    part = duckdb.sql(f"SELECT order_id, _row, ordered_at, amount FROM '{result.part}'").fetchall()
    kept = [row for row in range(1, ROWS + 1) if row not in rejected]
    assert [r[1] for r in part] == kept  # in file order, as written: no sort needed to read it
    assert all(order == f"R{row}" for order, row, _, _ in part)
    assert part[0][2:] == (dt.date(2024, 2, 2), Decimal("1.01"))  # row 1, by hand
    with open(result.rejects_file or "", encoding="utf-8-sig", newline="") as handle:
        listed = [(int(r["row"]), r["value"]) for r in csv.DictReader(handle)]
    assert listed == sorted(rejected.items())


EDGES = [  # (text, amount as DECIMAL(18, 2)) worked by hand, on both sides of the short path
    ("1234.50", Decimal("1234.50")),
    ("¥1,234.50", Decimal("1234.50")),
    ("￥-1,234.5", Decimal("-1234.50")),
    ("$999,999,999,999.994999", Decimal("999999999999.99")),  # 12 digits, 6 decimals: short
    ("1,234,567,890,123", Decimal("1234567890123.00")),  # 13 digits: the full chain
    ("1.2345678", Decimal("1.23")),  # 7 decimals: the full chain
    ("0.125", Decimal("0.13")),  # rounded once, half away from zero
    ("1,234,567.005", Decimal("1234567.01")),  # not through a double (1234567.00499...): exact
    ("(1,234,567.005)", Decimal("-1234567.01")),
    ("12.345%", Decimal("0.12")),
    ("12,50", None),  # a decimal comma is refused, not read as 1250
    ("1,2345", None),
    (",123", None),
    ("-¥5", Decimal("-5.00")),
    ("5.", Decimal("5.00")),
    ("¥", None),
]


def test_amounts_on_both_sides_of_the_short_path() -> None:
    table = ibis.memtable({"s": [text for text, _ in EDGES]}, schema={"s": "string"})
    money = "decimal(18, 2)"
    got = CON.to_pyarrow(table.select(v=parse_number(table.s, money), w=_any_number(table.s, money)))
    assert got["v"].to_pylist() == [value for _, value in EDGES]
    assert got["w"].to_pylist() == got["v"].to_pylist()  # the full chain alone agrees


def test_dates_on_both_sides_of_the_short_path() -> None:
    texts = ["2024/1/5", "2024-01-05", "2024.1.5", "2024/2/29", "2023/2/29", "2024/1/5 10:00"]
    texts += ["02024/1/5", "2024/1/5日"]
    want = [dt.date(2024, 1, 5)] * 3 + [dt.date(2024, 2, 29), None, dt.date(2024, 1, 5), None, dt.date(2024, 1, 5)]
    table = ibis.memtable({"s": texts}, schema={"s": "string"})
    assert CON.to_pyarrow(table.select(v=parse_date(table.s)))["v"].to_pylist() == want
