"""The layout of a CSV file: its header, and the first row that breaks the shape.

Both engines read CSV with one explicit dialect (RFC 4180: the delimiter sniffed from the
header line or given with --delimiter, see `sources`; double quote,
doubled to escape; quoted fields may hold newlines), so that they split a file the same way.
When an engine cannot read a file, we read it again in Python to name the row that is wrong:
that costs a pass over the file only on the way to an error. Lines are the user's: in a file
without a header, whose copy has one added (see `sources`), data row N is line N.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

from tierkit.errors import InputError
from tierkit.tables import encodings
from tierkit.tables.lines import mixed_line_end
from tierkit.tables.sources import SourceFile

MAX_NAME = 1_000  # characters of a column name: longer, and line 1 is no header
MAX_COLUMNS = 1_000  # columns of a file: wider ones are refused before an engine reads them


def _reader(handle: object, source: SourceFile) -> csv.Reader:  # type: ignore[name-defined]
    return csv.reader(handle, delimiter=source.delimiter, quotechar='"', doublequote=True, strict=False)  # type: ignore[arg-type]


def _open(source: SourceFile) -> Any:
    return source.path.open(newline="", encoding="utf-8-sig", errors="replace")


def header(source: SourceFile) -> list[str]:
    """The column names; a header that repeats or leaves out a name is an error."""
    with _open(source) as handle:
        names = [name.strip() for name in next(_reader(handle, source), [])]
    return checked_header(names, source.label)


def checked_header(names: list[str], path: object) -> list[str]:
    """`names` of line 1 of `path`, when they make a header (a URI's too: Spark read its line)."""
    if not names:  # DuckDB's answer to no columns was `syntax error at or near "}"`
        raise InputError(
            f"{path}: line 1 is empty; the first line must be the header (or data, for a file without one)"
        )
    if len(names) > MAX_COLUMNS:  # 20,000 columns ran 29 s and out of memory before
        raise InputError(
            f"{path}: line 1: the header has {len(names):,} columns; tierkit reads at most {MAX_COLUMNS:,} "
            "(keep the columns you need)"
        )
    repeated = [name for name, count in Counter(names).items() if count > 1]
    if repeated:
        raise InputError(
            f"{path}: line 1: column '{repeated[0]}' appears {names.count(repeated[0])} times in the header"
        )
    if any(not name for name in names):
        raise InputError(f"{path}: line 1: column {names.index('') + 1} of the header has no name")
    long = next((i for i, name in enumerate(names) if len(name) > MAX_NAME), None)
    if long is not None:
        raise InputError(
            f"{path}: line 1: column {long + 1} of the header is {len(names[long]):,} characters long; a column "
            f"name has at most {MAX_NAME:,} (is line 1 a header?)"
        )
    return names


def ragged_row(source: SourceFile) -> str | None:
    """'row N (line L) has F fields, the header has H' for the first such row, else None."""
    with _open(source) as handle:
        reader = _reader(handle, source)
        width = len(next(reader, []))
        for number, row in enumerate(reader, start=1):
            if row and len(row) != width:
                return f"row {number} (line {_line(source, reader)}) has {len(row)} fields, the header has {width}"
    return None


def first_row_with(source: SourceFile, column: str, bad: str) -> str:
    """'row N (line L)' of the first data row whose `column` holds `bad`."""
    with _open(source) as handle:
        reader = _reader(handle, source)
        names = [name.strip() for name in next(reader, [])]
        if column not in names:
            return "a row"
        index = names.index(column)
        try:
            for number, row in enumerate(reader, start=1):
                if index < len(row) and row[index].strip() == bad.strip():
                    return f"row {number} (line {_line(source, reader)})"
        except csv.Error:  # a cell past the field limit: the row cannot be named, the value still is
            pass
    return "a row"


def _line(source: SourceFile, reader: csv.Reader) -> int:  # type: ignore[name-defined]
    """The line of the user's file the reader is at (its copy may have a header added)."""
    return int(reader.line_num) - (1 if source.header_added else 0)


def unreadable(source: SourceFile, engine_message: str) -> InputError:
    """The error for a CSV an engine refused: a bad byte or the broken row if we find one, else
    the engine's words."""
    if source.encoding in ("utf-8", "utf-8-sig"):
        encodings.check_utf8(Path(source.label))  # raises, naming the line, if a bad byte is the cause
    label = source.label
    mixed = mixed_line_end(source.path, -1 if source.header_added else 0)  # DuckDB: "invalid state", no line
    if mixed:
        return InputError(f"{label}: {mixed}")
    try:
        broken = ragged_row(source)
    except csv.Error as err:  # a quoted cell running over many lines, past the field limit
        broken = f"cannot be read as CSV: {err}"
    return InputError(f"{label}: {broken}" if broken else f"{label}: cannot be read as CSV: {engine_message}")
