"""Generated orders files for the import fuzz tests (test_fuzz_imports.py, benchmarks/fuzz.py).

An `Orders` table is drawn first, as values (ids, dates, amounts in cents); each writer then
renders it as a user's file would hold it: CSV text in one of the encodings tierkit reads, with
header names from the synonyms list, a delimiter, a quoting style, line ends, amounts written
as ¥1,234.50 or 1,234.50元 and dates as 2024/1/5 or 2024年1月5日; an Excel workbook; a Parquet
file of one of several schemas. The table is the oracle: a clean import must hold these rows.
`mutated` then spoils the bytes of any such file (cut, flipped, spliced): for those the only
promise is a clean import or one line of error.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

SYNONYMS: dict[str, list[str]] = yaml.safe_load(
    (Path(__file__).parents[2] / "tierkit" / "tables" / "synonyms.yaml").read_text("utf-8")
)
COLUMNS = ("order_id", "customer_id", "ordered_at", "amount")
TODAY = dt.date(2026, 11, 29)  # --today of every import: no generated date is after it
ENCODINGS = ("utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16", "utf-16-le", "utf-16-be")
DELIMITERS = (",", ";", "|", "\t")
NOTE = "备注"  # a column of free text beside the canonical ones (no synonym of any)
ID_CHARS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefxyz-_客户会员订单号"
# free text as exports hold it: letters of any script, digits, punctuation, symbols, spaces,
# and the characters a CSV writer must quote; no control character (those are binary data)
NOTE_TEXT = st.text(
    st.one_of(
        st.characters(categories=["L", "N", "P", "S", "Zs"], exclude_characters="\x85\xa0\u2028\u2029"),
        st.sampled_from([",", ";", "|", '"', "'", "\t", "\n", "客", "户"]),
    ),
    max_size=40,
)


@dataclass
class Orders:
    """The rows a generated file holds: what a clean import must give back, in order."""

    order_ids: list[str]
    customer_ids: list[str]
    dates: list[dt.date]
    cents: list[int]
    notes: list[str] | None = None
    huge: int = 0  # characters of one cell of the note column (over Python csv's 131,072 default)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def amounts(self) -> list[Decimal]:
        return [Decimal(c).scaleb(-2) for c in self.cents]

    def __len__(self) -> int:
        return len(self.order_ids)


@st.composite
def orders(draw: st.DrawFn, min_rows: int = 1, max_rows: int = 25, notes: bool = True) -> Orders:
    n = draw(st.integers(min_rows, max_rows))
    ident = st.text(ID_CHARS, min_size=1, max_size=12).map(lambda s: s.strip("-_") or "0")
    order_ids = draw(st.lists(ident, min_size=n, max_size=n, unique=True))
    customer_ids = draw(st.lists(ident, min_size=n, max_size=n))
    days = st.dates(dt.date(1990, 1, 1), TODAY)
    dates = draw(st.lists(days, min_size=n, max_size=n))
    cents = draw(st.lists(st.integers(-(10**9), 10**11), min_size=n, max_size=n))
    with_notes = notes and draw(st.booleans())
    note_list = draw(st.lists(NOTE_TEXT, min_size=n, max_size=n)) if with_notes else None
    huge = draw(st.sampled_from([0, 0, 0, 200_000])) if with_notes else 0
    return Orders(order_ids, customer_ids, dates, cents, note_list, huge)


def date_text(day: dt.date, form: int) -> str:
    """A date in one of the forms exports use (tierkit.tables.parsing reads each)."""
    return [
        day.isoformat(),
        f"{day.year}/{day.month}/{day.day}",
        f"{day.year}.{day.month}.{day.day}",
        f"{day.year}年{day.month}月{day.day}日",
        day.strftime("%Y%m%d"),
        f"{day.isoformat()} 12:30:00",
    ][form]


def money_text(cents: int, form: int) -> str:
    """An amount as exports write it: plain, grouped by thousands, with ¥ or 元, refunds negative."""
    value = Decimal(cents).scaleb(-2)
    grouped = f"{abs(value):,.2f}"
    sign = "-" if value < 0 else ""
    return [
        f"{value:.2f}",
        f"{sign}{grouped}",
        f"¥{sign}{grouped}" if sign == "" else f"{sign}{grouped}",
        f"{sign}{grouped}元",
        f"￥{value:.2f}",
        f"{value:.2f}".rstrip("0").rstrip(".") if cents % 100 == 0 else f"{value:.2f}",
    ][form]


@dataclass
class CsvLayout:
    """How one CSV file writes its table."""

    encoding: str
    delimiter: str
    crlf: bool
    quote_all: bool
    headers: dict[str, str]  # canonical -> the name in the file
    order: list[str]  # the columns, in file order
    date_form: int
    money_form: int
    final_newline: bool


@st.composite
def csv_layouts(draw: st.DrawFn, table: Orders) -> CsvLayout:
    headers = {c: draw(st.sampled_from([c, *SYNONYMS[c]])) for c in COLUMNS}
    order = draw(st.permutations([*COLUMNS, *([NOTE] if table.notes is not None else [])]))
    return CsvLayout(
        encoding=draw(st.sampled_from(ENCODINGS)),
        delimiter=draw(st.sampled_from(DELIMITERS)),
        crlf=draw(st.booleans()),
        quote_all=draw(st.booleans()),
        headers=headers,
        order=list(order),
        date_form=draw(st.integers(0, 5)),
        money_form=draw(st.integers(0, 5)),
        final_newline=draw(st.booleans()),
    )


def csv_text(table: Orders, layout: CsvLayout) -> str:
    """The table as CSV text, before encoding."""
    out = io.StringIO()
    writer = csv.writer(
        out,
        delimiter=layout.delimiter,
        lineterminator="\r\n" if layout.crlf else "\n",
        quoting=csv.QUOTE_ALL if layout.quote_all else csv.QUOTE_MINIMAL,
    )
    writer.writerow([layout.headers.get(c, c) for c in layout.order])
    for i in range(len(table)):
        cell = {
            "order_id": table.order_ids[i],
            "customer_id": table.customer_ids[i],
            "ordered_at": date_text(table.dates[i], layout.date_form),
            "amount": money_text(table.cents[i], layout.money_form),
            NOTE: (table.notes[i] if table.notes else "") + ("x" * table.huge if i == 0 else ""),
        }
        if table.notes is not None and layout.crlf:  # a LF inside a cell of a CRLF file: written as CRLF
            cell[NOTE] = cell[NOTE].replace("\n", "\r\n")
        writer.writerow([cell[c] for c in layout.order])
    text = out.getvalue()
    return text if layout.final_newline else text.rstrip("\r\n")


POSITION = st.integers(0, 1 << 24)


def mutated(data: bytes, draw: st.DrawFn) -> bytes:
    """`data` spoiled as files get spoiled: cut short, bytes flipped, junk spliced in, a slice
    doubled, line ends mixed, NULs, quotes and delimiters where they do not belong."""
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["cut", "flip", "splice", "double", "line_end", "junk_tail"]))
        at = draw(POSITION) % max(1, len(data))  # not bounded by the length: a workbook's bytes vary run to run
        if kind == "cut":
            data = data[:at]
        elif kind == "flip":
            data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :] if data else data
        elif kind == "splice":
            junk = draw(
                st.one_of(st.binary(max_size=8), st.sampled_from([b"\x00", b'"', b"\r", b",", b"\n\n", b"\xff"]))
            )
            data = data[:at] + junk + data[at:]
        elif kind == "double":
            end = at + draw(POSITION) % (len(data) - at + 1)
            data = data[:end] + data[at:end] + data[end:]
        elif kind == "line_end":
            data = data.replace(b"\n", b"\r\n", 1) if b"\r\n" not in data else data.replace(b"\r\n", b"\n", 1)
        else:
            data += draw(st.binary(max_size=16))
    return data
