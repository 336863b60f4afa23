"""The models as use cases on files: fit CLV, check it on a holdout, backtest the churn model.

The files are read as `grade` reads them: `maps` (--map COLUMN=canonical), `sheet` (--sheet) and
the text options (--delimiter, --date-format), so that CDNOW as lifetimes ships it (no header,
runs of spaces) is read with `--map column1=customer_id ...` and no CSV made first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis.expr.types as ir

from tierkit.backends import Backend, connect
from tierkit.engine.grade import parse_as_of
from tierkit.engine.reading import read_inputs
from tierkit.errors import InputError
from tierkit.models.churn import backtest
from tierkit.models.clv import fit_clv, holdout
from tierkit.models.purchases import unit_days
from tierkit.tables.readers import read_table
from tierkit.tables.sources import FORMATS, text_options


@dataclass(frozen=True)
class FileReading:
    """How the files of a command are read: --map, --sheet, --delimiter, --date-format."""

    maps: dict[str, str] | None = None
    sheet: str | None = None
    delimiter: str | None = None
    date_format: str | None = None


def workbook_sheet(path: Path, sheet: str | None) -> str | None:
    """The sheet to read `path` at; --sheet for a file that is no workbook is a mistake to name."""
    if sheet is not None and FORMATS.get(path.suffix.lower()) != "xlsx":
        raise InputError(f"--sheet '{sheet}': {path} is not an Excel workbook (.xlsx, .xlsm)")
    return sheet


def _orders(path: Path, engine: str | None, unit: str, reading: FileReading) -> tuple[Backend, ir.Table]:
    """The backend and the orders, after checking the time unit (a typo fails before any reading)."""
    unit_days(unit)
    on = connect(engine or "duckdb")
    with text_options(reading.delimiter, reading.date_format):
        return on, read_table(on, "orders", path, reading.maps, workbook_sheet(path, reading.sheet)).table


def _date(text: str, option: str) -> dt.date:
    try:
        return parse_as_of(text)
    except InputError as err:
        raise InputError(f"{option}: '{text}' is not a date like 1997-09-30") from err


def clv_fit(
    orders: Path,
    calibration_end: str,
    time_unit: str = "week",
    engine: str | None = None,
    reading: FileReading = FileReading(),
) -> dict[str, Any]:
    """BG/NBD and Gamma-Gamma fitted on the orders up to the calibration end."""
    on, table = _orders(orders, engine, time_unit, reading)
    return fit_clv(on, table, _date(calibration_end, "--calibration-end"), time_unit)


def clv_holdout(
    orders: Path,
    calibration_end: str,
    holdout_end: str,
    time_unit: str = "week",
    engine: str | None = None,
    reading: FileReading = FileReading(),
) -> dict[str, Any]:
    """Predicted vs actual repeat purchases between the calibration end and the holdout end."""
    on, table = _orders(orders, engine, time_unit, reading)
    return holdout(
        on, table, _date(calibration_end, "--calibration-end"), _date(holdout_end, "--holdout-end"), time_unit
    )


def churn_backtest(
    orders: Path,
    as_of: str,
    horizon: str = "90D",
    customers: Path | None = None,
    interactions: Path | None = None,
    contacts: Path | None = None,
    engine: str | None = None,
    reading: FileReading = FileReading(),
) -> dict[str, Any]:
    """Train as of as-of − 2·horizon, test as of as-of − horizon: the model, recency and P(alive).
    `maps` apply to every file that has the column, as in `grade`."""
    on = connect(engine or "duckdb")
    with text_options(reading.delimiter, reading.date_format):
        inputs = read_inputs(on, orders, customers, interactions, contacts, None, reading.maps, reading.sheet)
    return backtest(inputs, parse_as_of(as_of), horizon, on)
