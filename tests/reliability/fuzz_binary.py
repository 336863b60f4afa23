"""Generated orders as Excel workbooks (openpyxl) and Parquet files (pyarrow), for the import fuzz tests.

Each renders an `Orders` table (fuzz_tables) the way real files differ: a workbook with other
sheets around, merged cells and formulas in a column nobody reads, dates as date cells or as
Excel serial numbers, amounts as numbers or as text; a Parquet file whose columns are strings,
integers, floats, decimals, dates, timestamps with and without a zone, dictionary-encoded, with
nested columns beside them. The values the readers must give back are the table's.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import strategies as st

from tests.reliability.fuzz_tables import COLUMNS, NOTE, SYNONYMS, Orders, money_text

EXCEL_DAY0 = dt.date(1899, 12, 30)


@st.composite
def workbook_writer(draw: st.DrawFn, table: Orders) -> dict[str, object]:
    """How a workbook holds the table: where, and as what cell types."""
    return {
        "headers": {c: draw(st.sampled_from([c, *SYNONYMS[c]])) for c in COLUMNS},
        "dates": draw(st.sampled_from(["date", "datetime", "serial", "text"])),
        "amounts": draw(st.sampled_from(["number", "text"])),
        "ids_as_numbers": draw(st.booleans()),
        "before": draw(st.integers(0, 2)),  # sheets before the one read, chosen by name
        "after": draw(st.integers(0, 2)),
        "merged": draw(st.booleans()),
        "formulas": draw(st.booleans()),
    }


def write_workbook(table: Orders, how: dict[str, object], path: Path) -> str:
    """The workbook at `path`; returns the name of the sheet that holds the orders."""
    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for i in range(int(how["before"])):  # type: ignore[call-overload]
        junk = book.create_sheet(f"说明{i}")
        junk["A1"] = "导出说明"
        junk["B2"] = "=1/0"
    sheet = book.create_sheet("订单")
    headers: dict[str, str] = how["headers"]  # type: ignore[assignment]
    names = [headers[c] for c in COLUMNS] + [NOTE, "合计"]
    sheet.append(names)
    for i in range(len(table)):
        day = table.dates[i]
        date_cell: object = {
            "date": day,
            "datetime": dt.datetime(day.year, day.month, day.day, 9, 30),
            "serial": (day - EXCEL_DAY0).days,
            "text": f"{day.year}/{day.month}/{day.day}",
        }[str(how["dates"])]
        amount: object = float(table.amounts[i]) if how["amounts"] == "number" else money_text(table.cents[i], 1)
        order_id: object = table.order_ids[i]
        if how["ids_as_numbers"] and order_id.isdigit() and not order_id.startswith("0") and len(order_id) < 15:  # type: ignore[union-attr]
            order_id = int(order_id)  # type: ignore[arg-type]
        note = table.notes[i] if table.notes else None
        row = i + 2
        sheet.append([order_id, table.customer_ids[i], date_cell, amount, note])
        if how["formulas"]:
            sheet.cell(row, 6, f"=D{row}*2")  # no cached value: read as empty
    if how["merged"] and len(table) >= 2:
        sheet.merge_cells(start_row=2, start_column=5, end_row=len(table) + 1, end_column=6)
    for i in range(int(how["after"])):  # type: ignore[call-overload]
        book.create_sheet(f"Sheet{i + 2}").append(["order_id", "amount"])
    book.save(path)
    return "订单"


@st.composite
def parquet_schema(draw: st.DrawFn) -> dict[str, str]:
    """The type each column is stored as."""
    return {
        "order_id": draw(st.sampled_from(["string", "large_string", "dictionary"])),
        "customer_id": draw(st.sampled_from(["string", "dictionary"])),
        "ordered_at": draw(st.sampled_from(["date32", "timestamp", "timestamp_utc", "timestamp_shanghai", "string"])),
        "amount": draw(st.sampled_from(["decimal", "float64", "int64_yuan", "string"])),
        "nested": draw(st.sampled_from(["none", "list", "struct", "map"])),
    }


def amounts_for(table: Orders, kind: str) -> pa.Array:
    if kind == "decimal":
        return pa.array(table.amounts, pa.decimal128(20, 2))
    if kind == "float64":
        return pa.array([float(a) for a in table.amounts], pa.float64())
    if kind == "int64_yuan":  # whole yuan: the table's cents rounded down to them
        return pa.array([c // 100 for c in table.cents], pa.int64())
    return pa.array([str(a) for a in table.amounts], pa.string())


def expected_amounts(table: Orders, kind: str) -> list[Decimal]:
    if kind == "int64_yuan":
        return [Decimal(c // 100).quantize(Decimal("0.01")) for c in table.cents]
    return table.amounts


def dates_for(table: Orders, kind: str) -> pa.Array:
    """Dates as stored; a timestamp at 20:30 local, so that a zone moves it to the next day in Beijing."""
    days = table.dates
    if kind == "date32":
        return pa.array(days, pa.date32())
    if kind == "string":
        return pa.array([d.isoformat() for d in days], pa.string())
    stamps = [dt.datetime(d.year, d.month, d.day, 20, 30) for d in days]
    if kind == "timestamp":
        return pa.array(stamps, pa.timestamp("us"))
    zone = "UTC" if kind == "timestamp_utc" else "Asia/Shanghai"
    return pa.array(stamps, pa.timestamp("us")).cast(pa.timestamp("us", tz=zone))  # naive read as UTC instants


def expected_dates(table: Orders, kind: str) -> list[dt.date]:
    """The order dates in Beijing (+08:00, the policy's zone): a UTC instant at 20:30 is the next day."""
    if kind in ("timestamp_utc", "timestamp_shanghai"):
        return [d + dt.timedelta(days=1) for d in table.dates]  # 20:30 UTC is 04:30 the next day in Beijing
    return table.dates


def write_parquet(table: Orders, schema: dict[str, str], path: Path) -> None:
    def text(values: list[str], kind: str) -> pa.Array:
        if kind == "dictionary":
            return pa.array(values, pa.string()).dictionary_encode()
        return pa.array(values, pa.large_string() if kind == "large_string" else pa.string())

    columns = {
        "order_id": text(table.order_ids, schema["order_id"]),
        "customer_id": text(table.customer_ids, schema["customer_id"]),
        "ordered_at": dates_for(table, schema["ordered_at"]),
        "amount": amounts_for(table, schema["amount"]),
    }
    n = len(table)
    if schema["nested"] == "list":
        columns["items"] = pa.array([[i, None, 3] for i in range(n)], pa.list_(pa.int64()))
    elif schema["nested"] == "struct":
        columns["address"] = pa.array([{"city": "上海", "zip": None} for _ in range(n)])
    elif schema["nested"] == "map":
        columns["tags"] = pa.array([[("k", "v")] for _ in range(n)], pa.map_(pa.string(), pa.string()))
    pq.write_table(pa.table(columns), path)


def cut_member(data: bytes, member: str, keep: float) -> bytes:
    """A workbook whose ZIP is whole but one of its files (a sheet's XML) is cut to `keep` of
    itself: what a spreadsheet tool that died while saving leaves."""
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            content = source.read(name)
            target.writestr(name, content[: int(len(content) * keep)] if name == member else content)
    return out.getvalue()


@st.composite
def spoiled_workbook(draw: st.DrawFn, data: bytes) -> bytes:
    """One of the workbook's files cut short, the ZIP around it whole."""
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as book:
        names = [n for n in book.namelist() if n.endswith(".xml")]
    return cut_member(data, draw(st.sampled_from(sorted(names))), draw(st.floats(0, 0.99)))


def _odd_column(kind: str, n: int) -> pa.Array:
    """A column of values at the edges of their type, or of a type no reader expects."""
    if kind == "nulls":
        return pa.nulls(n, pa.string())
    if kind == "last_instant":  # 10000-01-01 in Beijing
        return pa.array([dt.datetime(9999, 12, 31, 23, 59)] * n, pa.timestamp("us", tz="UTC"))
    if kind == "first_day":
        return pa.array([dt.date(1, 1, 1)] * n, pa.date32())
    if kind == "huge_decimal":
        return pa.array([Decimal(10**37)] * n, pa.decimal128(38, 0))
    if kind == "inf":
        return pa.array([float("inf"), float("nan")] * n, pa.float64())[:n]
    if kind == "uint64":
        return pa.array([2**64 - 1] * n, pa.uint64())
    if kind == "binary":
        return pa.array([b"\xff\x00\xfe"] * n, pa.binary())
    if kind == "list":
        return pa.array([[1, None]] * n, pa.list_(pa.int64()))
    if kind == "time":
        return pa.array([dt.time(23, 59)] * n, pa.time64("us"))
    return pa.array([dt.timedelta(days=1)] * n, pa.duration("us"))


ODD_KINDS = [
    "nulls",
    "last_instant",
    "first_day",
    "huge_decimal",
    "inf",
    "uint64",
    "binary",
    "list",
    "time",
    "duration",
]


@st.composite
def odd_parquet(draw: st.DrawFn, table: Orders, path: Path) -> None:
    """The table as Parquet with one or two of its columns replaced by odd ones."""
    write_parquet(table, draw(parquet_schema()), path)
    data = pq.read_table(path)
    for column in draw(st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=2, unique=True)):
        odd = _odd_column(draw(st.sampled_from(ODD_KINDS)), data.num_rows)
        data = data.set_column(data.schema.get_field_index(column), column, odd)
    pq.write_table(data, path)
