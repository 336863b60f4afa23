"""Bad input, fuzzed (issue 15, part 6): generated orders files in every format and encoding
tierkit reads, clean and spoiled, imported as `tierkit import` imports them.

The oracle: a generated clean file imports whole and the part holds the table that was
generated (its ids, dates and amounts, read independently of tierkit's parsers: they are the
values drawn); a spoiled file imports or is refused with one line of tierkit error; never another
exception, never a hang (fuzz_outcomes.no_hang), and the workspace sound after either. Examples
are derandomized (the same in every CI run) and bounded; benchmarks/fuzz.py runs the same
properties for minutes, and atheris beside them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.reliability.fuzz_binary import (
    cut_member,
    expected_amounts,
    expected_dates,
    odd_parquet,
    parquet_schema,
    spoiled_workbook,
    workbook_writer,
    write_parquet,
    write_workbook,
)
from tests.reliability.fuzz_outcomes import Workspaces, bounded, part_rows, run_import, unsound
from tests.reliability.fuzz_tables import CsvLayout, Orders, csv_layouts, csv_text, mutated, orders

TIERKIT = Path(sys.executable).with_name("tierkit")


@pytest.fixture(scope="module")
def spaces(tmp_path_factory: pytest.TempPathFactory) -> Workspaces:
    return Workspaces(tmp_path_factory.mktemp("fuzz-imports"))


def encoded(table: Orders, layout: CsvLayout) -> bytes | None:
    """The CSV bytes, or None when the table holds a character the encoding has not (GBK has no ¥).
    A GBK export's free text is Chinese (GB2312's characters): random letters of every script
    in GB18030 cannot be told from Latin-1 read as GBK, and tierkit refuses them by design."""
    if layout.encoding in ("gbk", "gb18030") and table.notes:
        table.notes = ["".join(ch for ch in note if ch.isascii() or gb2312(ch)) for note in table.notes]
    try:
        return csv_text(table, layout).encode(layout.encoding)
    except UnicodeEncodeError:
        return None


def gb2312(ch: str) -> bool:
    try:
        return len(ch.encode("gb2312")) == 2
    except UnicodeEncodeError:
        return False


def assert_holds(rows: list[dict[str, object]], table: Orders, dates: object = None, amounts: object = None) -> None:
    assert [r["order_id"] for r in rows] == table.order_ids
    assert [r["customer_id"] for r in rows] == table.customer_ids
    assert [r["ordered_at"] for r in rows] == (dates if dates is not None else table.dates)
    assert [r["amount"] for r in rows] == (amounts if amounts is not None else table.amounts)


@bounded(30)
@given(data=st.data())
def test_a_clean_csv_in_any_encoding_imports_the_table_it_holds(spaces: Workspaces, data: st.DataObject) -> None:
    table = data.draw(orders())
    layout = data.draw(csv_layouts(table))
    raw = encoded(table, layout)
    if raw is None:
        return
    ws = spaces.fresh()
    path = ws.parent / f"{ws.name}-orders.csv"
    path.write_bytes(raw)
    outcome = run_import(ws, path)
    assert outcome.imported, f"{layout}: {outcome.error}"
    assert outcome.summary is not None
    assert (outcome.summary["imported"], outcome.summary["rejected"]) == (len(table), 0)
    assert_holds(part_rows(outcome.summary), table)
    assert unsound(ws) == []


@bounded(50)
@given(data=st.data())
def test_a_spoiled_csv_imports_or_is_refused_in_one_line(spaces: Workspaces, data: st.DataObject) -> None:
    table = data.draw(orders(max_rows=8))
    layout = data.draw(csv_layouts(table))
    raw = encoded(table, layout)
    if raw is None:
        return
    ws = spaces.fresh()
    path = ws.parent / f"{ws.name}-orders.csv"
    path.write_bytes(mutated(raw, data.draw))
    run_import(ws, path)  # a TierkitError is a refusal in one line; any other exception fails here
    assert unsound(ws) == []


@bounded(12)
@given(data=st.data())
def test_a_workbook_imports_the_table_on_its_sheet(spaces: Workspaces, data: st.DataObject) -> None:
    table = data.draw(orders(max_rows=12))
    how = data.draw(workbook_writer(table))
    ws = spaces.fresh()
    path = ws.parent / f"{ws.name}-orders.xlsx"
    sheet = write_workbook(table, how, path)
    outcome = run_import(ws, path, sheet=sheet)
    assert outcome.imported, f"{how}: {outcome.error}"
    assert outcome.summary is not None
    assert_holds(part_rows(outcome.summary), table)
    assert unsound(ws) == []


@bounded(20)
@given(data=st.data())
def test_a_parquet_file_of_any_schema_imports_the_table(spaces: Workspaces, data: st.DataObject) -> None:
    table = data.draw(orders(max_rows=12, notes=False))
    schema = data.draw(parquet_schema())
    ws = spaces.fresh()
    path = ws.parent / f"{ws.name}-orders.parquet"
    write_parquet(table, schema, path)
    outcome = run_import(ws, path)
    assert outcome.imported, f"{schema}: {outcome.error}"
    assert outcome.summary is not None
    rows = part_rows(outcome.summary)
    assert_holds(rows, table, expected_dates(table, schema["ordered_at"]), expected_amounts(table, schema["amount"]))
    assert unsound(ws) == []


@bounded(30)
@given(data=st.data(), binary=st.sampled_from(["xlsx", "parquet"]))
def test_a_spoiled_workbook_or_parquet_file_is_refused_in_one_line(
    spaces: Workspaces, data: st.DataObject, binary: str
) -> None:
    table = data.draw(orders(max_rows=6, notes=False))
    ws = spaces.fresh()
    path = ws.parent / f"{ws.name}-orders.{binary}"
    if binary == "xlsx":
        write_workbook(table, data.draw(workbook_writer(table)), path)
    else:
        write_parquet(table, data.draw(parquet_schema()), path)
    if binary == "xlsx" and data.draw(st.booleans()):
        path.write_bytes(data.draw(spoiled_workbook(path.read_bytes())))
    elif binary == "parquet" and data.draw(st.booleans()):
        data.draw(odd_parquet(table, path))
    else:
        path.write_bytes(mutated(path.read_bytes(), data.draw))
    run_import(ws, path, sheet="订单" if binary == "xlsx" else None)
    assert unsound(ws) == []


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("odd.csv", "\ufeffa,b\n".encode("utf-16-le") + b"\x00"),  # UTF-16 cut inside a character
        ("nul.csv", b"order_id,customer_id,ordered_at,amount\nA1,C1,2024-01-05,1\x00\n"),
        ("cut.xlsx", b"PK\x03\x04" + b"\x00" * 40),
        ("cut.parquet", b"PAR1" + b"\x01" * 30),
    ],
)
def test_the_command_exits_2_with_one_line_on_stderr(tmp_path: Path, name: str, content: bytes) -> None:
    """The real `tierkit import`: exit 2, one line of error, no traceback, nothing written."""
    ws = tmp_path / "ws"
    subprocess.run([str(TIERKIT), "init", str(ws)], check=True, capture_output=True, timeout=120)
    path = tmp_path / name
    path.write_bytes(content)
    done = subprocess.run(
        [str(TIERKIT), "import", "orders", str(path), "-w", str(ws), "--today", "2026-11-29"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and str(path.name) in lines[0], done.stderr
    assert unsound(ws) == [] and not (ws / "data" / "orders").exists()


def test_a_workbook_cut_inside_its_sheet_is_refused_every_time(spaces: Workspaces) -> None:
    """A sheet's XML cut short (the ZIP around it whole) was a ParseError traceback, and the
    half-written CSV copy it left in the scratch folder was read as the whole sheet by the next
    import of the same file in the same process (tierkit serve)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["order_id", "customer_id", "ordered_at", "amount"])
    for i in range(2000):
        sheet.append([f"A{i}", f"C{i}", "2024-01-05", 10])
    ws = spaces.fresh()
    path = ws.parent / f"{ws.name}-cut.xlsx"
    book.save(path)
    path.write_bytes(cut_member(path.read_bytes(), "xl/worksheets/sheet1.xml", 0.5))
    for _ in range(2):
        outcome = run_import(ws, path)
        assert outcome.error is not None and outcome.error.startswith(
            f"{path}: sheet 'Sheet' cannot be read to its end (ParseError: unclosed token: line 1, column "
        ), outcome.error
    assert unsound(ws) == []


def test_an_instant_in_the_last_hour_of_9999_is_a_rejected_row_named_in_one_line(spaces: Workspaces) -> None:
    """9999-12-31T23:00Z is 10000-01-01 in Beijing: the message about the first rejected row read
    the whole row into Python, whose dates end at 9999 (an OverflowError traceback)."""
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    ws = spaces.fresh()
    path = ws.parent / f"{ws.name}-late.parquet"
    stamps = [dt.datetime(9999, 12, 31, 23, 0), dt.datetime(2024, 1, 5, 12, 0)]
    table = pa.table(
        {
            "order_id": ["A1", "A2"],
            "customer_id": ["C1", "C2"],
            "ordered_at": pa.array(stamps, pa.timestamp("us", tz="UTC")),
            "amount": [1, 2],
        }
    )
    pq.write_table(table, path)
    outcome = run_import(ws, path)
    assert outcome.error is not None
    assert "First: row 1: ordered_at: '10000-01-01' in the future (after 2026-11-29)." in outcome.error
    assert unsound(ws) == []
