"""The layout of a CSV file: its delimiter, its header, and the first row that breaks the shape.

Both engines read CSV with one explicit dialect (RFC 4180: comma, or tab for .tsv; double quote,
doubled to escape; quoted fields may hold newlines), so that they split a file the same way.
When an engine cannot read a file, we read it again in Python to name the row that is wrong:
that costs a pass over the file only on the way to an error.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from tierkit.errors import InputError


def delimiter(path: Path) -> str:
    return "\t" if path.suffix.lower() == ".tsv" else ","


def _reader(handle: object, path: Path) -> csv.Reader:  # type: ignore[name-defined]
    return csv.reader(handle, delimiter=delimiter(path), quotechar='"', doublequote=True, strict=False)  # type: ignore[arg-type]


def header(path: Path) -> list[str]:
    """The column names; a header that repeats or leaves out a name is an error."""
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
        names = [name.strip() for name in next(_reader(handle, path), [])]
    repeated = [name for name, count in Counter(names).items() if count > 1]
    if repeated:
        raise InputError(
            f"{path}: line 1: column '{repeated[0]}' appears {names.count(repeated[0])} times in the header"
        )
    if any(not name for name in names):
        raise InputError(f"{path}: line 1: column {names.index('') + 1} of the header has no name")
    return names


def ragged_row(path: Path) -> str | None:
    """'row N (line L) has F fields, the header has H' for the first such row, else None."""
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
        reader = _reader(handle, path)
        width = len(next(reader, []))
        for number, row in enumerate(reader, start=1):
            if row and len(row) != width:
                return f"row {number} (line {reader.line_num}) has {len(row)} fields, the header has {width}"
    return None


def first_row_with(path: Path, column: str, bad: str) -> str:
    """'row N (line L)' of the first data row whose `column` holds `bad`."""
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
        reader = _reader(handle, path)
        names = [name.strip() for name in next(reader, [])]
        if column not in names:
            return "a row"
        index = names.index(column)
        for number, row in enumerate(reader, start=1):
            if index < len(row) and row[index].strip() == bad.strip():
                return f"row {number} (line {reader.line_num})"
    return "a row"


def unreadable(path: Path, engine_message: str) -> InputError:
    """The error for a CSV an engine refused: the broken row if we find one, else the engine's words."""
    broken = ragged_row(path)
    return InputError(f"{path}: {broken}" if broken else f"{path}: cannot be read as CSV: {engine_message}")
