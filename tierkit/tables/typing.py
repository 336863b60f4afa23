"""Typing a source column into its canonical type, and the checks that say where it failed.

Every cast is a `try_cast`, so a value that does not fit (text that is no date, NaN, an amount
too large for DECIMAL(18,2), a date stored as an integer) is counted and named instead of
crashing the engine. Both engines run the same expressions.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from tierkit.canonical import Column
from tierkit.tables.parsing import CHINA_MINUTES, parse_date, parse_number, stripped, tidy_text


@dataclass
class Typed:
    value: ir.Value
    bad: ir.BooleanValue | None = None  # rows whose source value did not convert
    shown: ir.Value | None = None  # the source value, as text, to quote in the error


def type_column(
    source: ir.Value, column: Column, text_file: bool, to_minutes: int = CHINA_MINUTES, instant: bool = False
) -> Typed:
    """The canonical value of one source column, and how to find rows that did not convert.

    `to_minutes`: the policy's UTC offset, for timestamps that carry a time zone. `instant`: the
    file says this timestamp is a point in time (Parquet isAdjustedToUTC), which Spark's types
    do not show; both engines run in UTC, so it moves by the offset like a zoned one."""
    kind = column.type
    if kind == "string":
        # CSV cells are typed by hand and padded by spreadsheets; Parquet text is typed data.
        # A line break inside a quoted CSV cell is "\n" on every engine (Spark turns CRLF into LF).
        return Typed(tidy_text(source) if text_file else source.cast("string"))
    if source.type() == ibis.dtype(kind).copy(nullable=source.type().nullable):
        return Typed(source)  # already the canonical type: nothing can fail
    if source.type().is_string():
        text = stripped(source)
        text = ibis.ifelse(text == "", ibis.null("string"), text)
        value = (
            parse_date(text, to_minutes)
            if kind == "date"
            else parse_number(text, kind)
            if kind.startswith("decimal")
            else text.try_cast(kind)
        )
        return Typed(value, text.notnull() & value.isnull(), text)
    if kind == "date":
        if source.type().is_timestamp():
            if source.type().timezone is not None or instant:  # its date where the policy lives
                utc = source.cast("timestamp('UTC')").cast("timestamp") if source.type().timezone else source
                moved = utc + ibis.interval(minutes=to_minutes)
                return Typed(moved.cast("timestamp").date())
            return Typed(source.date())
        if source.type().is_date():
            return Typed(source)
        value = source.cast("string").try_cast("date")  # e.g. 20240105 as an integer: not a date (yet)
        return Typed(value, source.notnull() & value.isnull(), source.cast("string"))
    if source.type().is_floating():
        value = ibis.ifelse(source.isnan() | source.isinf(), ibis.null(kind), source.try_cast(kind))
    else:
        value = source.try_cast(kind)
    return Typed(value, source.notnull() & value.isnull(), source.cast("string"))
