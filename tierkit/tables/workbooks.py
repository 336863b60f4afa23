"""An Excel sheet as a UTF-8 CSV, every cell as the text the user saw, so one typing path serves all.

Excel keeps numbers as floats and dates as serial numbers with a display format. We write an
integral number without its ".0" (a phone number 13800138000 stays 13800138000, never 1.38e10),
a date cell as an ISO date, and a cached formula result rather than the formula. Reading is
streamed (openpyxl read-only), so a large sheet costs rows, not memory.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import re
from pathlib import Path
from typing import Any

from tierkit.errors import InputError


def sheet_names(path: Path) -> list[str]:
    book = _open(path)
    try:
        return list(book.sheetnames)
    finally:
        book.close()


def _open(path: Path) -> Any:
    try:
        from openpyxl import load_workbook
    except ImportError:  # pragma: no cover - a core dependency
        raise InputError("reading .xlsx needs openpyxl: pip install openpyxl") from None
    try:
        return load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise InputError(f"{path}: cannot be read as an Excel workbook ({type(exc).__name__}: {exc})") from None


def cell_text(value: Any, number_format: str | None = None) -> str:
    """What the cell shows, as text the readers parse like any CSV cell. A number formatted with
    leading zeros (000000, for ids and postcodes) keeps them: 12 shown as 000012 is 000012."""
    if value is None:
        return ""
    if (
        number_format
        and re.fullmatch(r"0+", number_format)
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and float(value).is_integer()
    ):
        return str(int(value)).zfill(len(number_format))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e17:
            return str(int(value))
        return format(decimal.Decimal(repr(value)), "f")  # 1e-05 as 0.00001, never in exponent form
    return str(value)


def sheet_to_csv(path: Path, sheet: str | int | None, target: Path) -> None:
    """Write one sheet (by name, or 0-based index; default the first) as CSV at `target`."""
    book = _open(path)
    try:
        names = list(book.sheetnames)
        if sheet is None:
            chosen = names[0]
        elif str(sheet) in names:  # a sheet named "2024" is that sheet, not index 2024
            chosen = str(sheet)
        elif isinstance(sheet, int) or str(sheet).isdigit():
            index = int(sheet)
            if not 0 <= index < len(names):
                raise InputError(f"{path}: no sheet {index} (the workbook has {len(names)}: {', '.join(names)})")
            chosen = names[index]
        else:
            raise InputError(f"{path}: no sheet named '{sheet}' (sheets: {', '.join(names)})")
        partial = target.with_suffix(".partial")  # a sheet that breaks off midway is no sheet at all
        try:
            _write_rows(book[chosen].iter_rows(), partial)
        except Exception as exc:  # a cut or spoiled sheet: XML, ZIP or zlib errors, met while streaming
            partial.unlink(missing_ok=True)
            raise InputError(
                f"{path}: sheet '{chosen}' cannot be read to its end ({type(exc).__name__}: {_first_line(exc)}); "
                "the workbook is damaged: save it again from Excel"
            ) from None
        partial.replace(target)
    finally:
        book.close()


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:200]


def _write_rows(rows: Any, target: Path) -> None:
    """The rows as CSV: the header row sets the width, blank rows left out. A sheet cut short
    or spoiled (issue 15, fuzzed: a traceback, and a half-written copy the same process would
    read again as the whole sheet) raises here, before `target` takes the copy's name."""
    with target.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        width = 0
        for row in rows:
            cells = [cell_text(getattr(cell, "value", None), getattr(cell, "number_format", None)) for cell in row]
            while len(cells) > width and cells[-1] == "":  # the used range often runs past the data
                cells.pop()
            if not any(cells):
                continue  # a blank line in the sheet
            width = width or len(cells)  # the header row sets the width
            writer.writerow(cells + [""] * (width - len(cells)))
