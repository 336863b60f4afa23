"""Text files whose errors used to mislead (issue 15): a 50 MB cell or a 200 MB line read as
"no data rows (an empty orders file)"; a CRLF file with one LF line gave DuckDB's "state
machine reached an invalid state" with no line; a file of newlines `syntax error at or near
"}"`; 20,000 columns ran 29 s and out of memory. Each now says what is wrong and where, in one
line, before the engine spends anything on it. Sizes are kept just above the limits (the line
limit is 2,000,000 bytes, DuckDB's; the column limit 1,000), but for one 50 MB cell."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tierkit.cli.app import app
from tierkit.errors import TierkitError
from tierkit.tables.csv_layout import MAX_COLUMNS
from tierkit.tables.sources import MAX_LINE_BYTES

runner = CliRunner()
HEADER = "order_id,customer_id,ordered_at,amount"


def refused(tmp_path: Path, path: Path) -> list[str]:
    """The one-line errors of `import` and of `grade --output` on the file."""
    ws = tmp_path / "ws"
    if not ws.exists():
        assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    messages = []
    for args in (
        ["import", "orders", str(path), "-w", str(ws), "--today", "2026-11-29"],
        ["grade", "--orders", str(path), "--output", str(tmp_path / "out.csv")],
    ):
        result = runner.invoke(app, args)
        assert isinstance(result.exception, TierkitError), repr(result.exception)
        messages.append(str(result.exception))
        assert "\n" not in messages[-1]
    assert not (tmp_path / "out.csv").exists() and not (ws / "data" / "orders").exists()
    return messages


def test_a_50_mb_cell_is_named_by_its_line(tmp_path: Path) -> None:
    path = tmp_path / "cell.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write(f'{HEADER},note\nO1,0001,2024-01-01,10,ok\nO2,0002,2024-01-01,10,"')
        out.write("x" * 50_000_000)
        out.write('"\nO3,0003,2024-01-01,10,ok\n')
    for message in refused(tmp_path, path):
        assert message == (
            f"{path}: line 3 is 50,000,024 bytes long; a line holds at most {MAX_LINE_BYTES:,} bytes "
            "(a whole document pasted into a cell, or not a CSV file?)"
        )


@pytest.mark.parametrize("at_end", [True, False])
def test_a_line_over_the_limit_is_no_empty_file(tmp_path: Path, at_end: bool) -> None:
    """An unquoted line over DuckDB's limit read as no rows at all when it was the last."""
    path = tmp_path / "line.csv"
    long = "O9,0009,2024-01-01," + "1" * (MAX_LINE_BYTES - 18)  # one byte over (the line end not counted)
    lines = [HEADER, "O1,0001,2024-01-01,10", long] if at_end else [HEADER, long, "O1,0001,2024-01-01,10"]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    number = 3 if at_end else 2
    for message in refused(tmp_path, path):
        assert message.startswith(f"{path}: line {number} is {MAX_LINE_BYTES + 1:,} bytes long; a line holds at most")


def test_a_line_at_the_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "note.csv"
    long = "O1,0001,2024-01-01,10," + "x" * (MAX_LINE_BYTES - 22)  # the limit exactly
    path.write_text(f"{HEADER},note\n{long}\nO2,0002,2024-01-01,10,y\n", "utf-8")
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    result = runner.invoke(app, ["import", "orders", str(path), "-w", str(ws), "--today", "2026-11-29"])
    assert result.exit_code == 0, result.output
    assert "2 read, 2 imported" in " ".join(result.output.split())


@pytest.mark.parametrize(("crlf", "odd"), [(True, b"\n"), (False, b"\r\n")])
def test_a_line_end_unlike_the_others_is_named(tmp_path: Path, crlf: bool, odd: bytes) -> None:
    end = b"\r\n" if crlf else b"\n"
    rows = [HEADER.encode()] + [f"O{i},{i:04d},2024-01-01,10".encode() for i in range(1, 40)]
    body = end.join(rows[:31]) + odd + end.join(rows[31:]) + end  # line 31 ends the other way
    body = body.replace(b"O5,0005", b'O5,"00\n05"') if crlf else body  # a line break inside quotes is data
    path = tmp_path / "mixed.csv"
    path.write_bytes(body)
    shown = {b"\n": "LF (\\n)", b"\r\n": "CRLF (\\r\\n)"}
    for message in refused(tmp_path, path):
        line = 32 if crlf else 31
        assert message == (
            f"{path}: line {line} ends with {shown[odd]}, the lines before it with {shown[end]}: save the file "
            "with one kind of line end"
        )


@pytest.mark.parametrize(
    ("body", "expected"),
    [(b"\n" * 200, "holds only empty lines (200)"), (b"\r\n \n\t\n", "holds only empty lines (3)")],
)
def test_a_file_of_newlines(tmp_path: Path, body: bytes, expected: str) -> None:
    path = tmp_path / "blank.csv"
    path.write_bytes(body)
    for message in refused(tmp_path, path):
        assert message == f"{path}: the file {expected}, no header and no data"


def test_a_first_line_that_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    path.write_text(f"\n{HEADER}\nO1,0001,2024-01-01,10\n", "utf-8")
    for message in refused(tmp_path, path):
        assert (
            message == f"{path}: line 1 is empty; the first line must be the header (or data, for a file without one)"
        )


def test_a_file_too_wide_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    extra = [f"c{i}" for i in range(20_000)]
    path.write_text(",".join([HEADER, *extra]) + "\n" + ",".join(["O1,0001,2024-01-01,10", *"1" * 20_000]) + "\n")
    start = time.perf_counter()
    for message in refused(tmp_path, path):
        assert message == (
            f"{path}: line 1: the header has 20,004 columns; tierkit reads at most {MAX_COLUMNS:,} "
            "(keep the columns you need)"
        )
    assert time.perf_counter() - start < 20


def test_a_parquet_file_too_wide_is_refused(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "wide.parquet"
    columns = {"order_id": ["O1"], "customer_id": ["0001"], "ordered_at": ["2024-01-01"], "amount": ["10"]}
    columns |= {f"c{i}": ["1"] for i in range(MAX_COLUMNS)}
    pq.write_table(pa.table(columns), path)
    for message in refused(tmp_path, path):
        assert (
            message
            == f"{path}: {MAX_COLUMNS + 4:,} columns; tierkit reads at most {MAX_COLUMNS:,} (keep the columns you need)"
        )
