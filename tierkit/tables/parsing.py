"""How text cells from CRM, billing and spreadsheet exports become dates and numbers.

Expressions, not Python loops: the same parsing runs inside DuckDB or Spark over any number of
rows, and both engines give the same value (tested on both). A cell no rule recognises becomes
NULL, and the reader reports it with its row.

Dates: 2024-01-05, 2024/1/5, 2024.1.5, 2024年1月5日, 20240105, Excel serial days (45296), and
timestamps. A timestamp is cut to the date it shows, unless it names its offset
(2024-01-05T23:30:00Z, ...+00:00): then it is first moved to the policy's time zone (default
+08:00), so an order placed at 23:30 UTC counts on the next day in Beijing.

Numbers: ¥1,234.50, ￥1 234, RMB 100, 100元, 1.2万, (12.50) for a
negative amount, and 12% for 0.12.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

CHINA_MINUTES = 8 * 60
EXCEL_EPOCH = (1899, 12, 30)  # Excel's day 0, with its 1900 leap-year bug folded in
MONEY_NOISE = r"[¥￥$,\s]|元|RMB|CNY|人民币"
WIDE = "decimal(38, 10)"
FAST = "decimal(18, 6)"  # parse wide, round once: 12.34499 is 12.34, not 12.35 twice rounded


def _zoned(text: ir.StringValue, to_minutes: int) -> tuple[ir.BooleanValue, ir.DateValue]:
    """ISO timestamps with an explicit offset, and their date in the target offset."""
    pattern = (
        r"^([0-9]{4}-[0-9]{1,2}-[0-9]{1,2})[ T]([0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)"
        r" ?(Z|[+-][0-9]{2}:?[0-9]{2})$"
    )
    zoned = text.re_search(pattern)
    local = (text.re_extract(pattern, 1) + " " + text.re_extract(pattern, 2)).try_cast("timestamp")
    zone = text.re_extract(pattern, 5).replace(":", "")
    sign = ibis.ifelse(zone.substr(0, 1) == "-", -1, 1)
    given = ibis.ifelse(
        zone == "Z", 0, sign * (zone.substr(1, 2).try_cast("int64") * 60 + zone.substr(3, 2).try_cast("int64"))
    )
    moved = local + (ibis.literal(to_minutes) - given).as_interval("m")
    return zoned, moved.cast("timestamp").date()


def parse_date(text: ir.StringValue, to_minutes: int = CHINA_MINUTES) -> ir.DateValue:
    """A date from the usual Chinese and ISO forms, YYYYMMDD and Excel serials; else NULL.

    `to_minutes` is the UTC offset of the policy's time zone, for timestamps that name theirs."""
    eight_digits = text.re_search(r"^[0-9]{8}$")
    serial = text.re_search(r"^[0-9]{5}$")
    from_digits = (text.substr(0, 4) + "-" + text.substr(4, 2) + "-" + text.substr(6, 2)).try_cast("date")
    # date + interval is a timestamp on DuckDB and a date on Spark, and Ibis drops a cast to the
    # type it believes it has: go through timestamp so that both engines write a DATE column
    from_serial = (ibis.date(*EXCEL_EPOCH) + text.try_cast("int64").as_interval("D")).cast("timestamp").date()
    # a four-digit year first (12.3.4 is no date), then month and day; a time after it is
    # dropped as written (no time-zone shift): the date is the day the export shows
    date_part = r"^[0-9]{4}[-/.年][0-9]{1,2}[-/.月][0-9]{1,2}"
    year_month_day = text.re_search(date_part + r"日?([ T].*)?$")
    separated = text.re_extract(date_part, 0).re_replace(r"[/.年月]", "-")
    zoned, in_zone = _zoned(text, to_minutes)
    return ibis.cases(  # type: ignore[no-any-return]
        (zoned, in_zone),
        (eight_digits, from_digits),
        (serial, from_serial),
        (year_month_day, separated.try_cast("date")),
        else_=ibis.null("date"),
    )


def parse_number(text: ir.StringValue, to: str) -> ir.NumericValue:
    """A decimal from money and percentage forms; else NULL.

    A comma must group thousands (1,234,567.5): "12,50" or "1.234,50" is a decimal comma from a
    European locale, which we refuse rather than misread as 1250 or 1.23."""
    spaced = text.re_replace(r"[¥￥$\s]|元|RMB|CNY|人民币", "")
    grouped = ~spaced.contains(",") | spaced.re_search(r"^[(-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?[)]?(万|%)?$")
    bare = text.re_replace(MONEY_NOISE, "")
    wan = bare.re_search("万$")
    percent = bare.re_search("%$")
    negative = bare.re_search(r"^\(.*\)$")
    digits = bare.re_replace(r"万$|%$|^\(|\)$", "")
    # DECIMAL(18, 6) parses ten times faster than DECIMAL(38, 10) (64-bit, not 128-bit); it is
    # exact for the values money takes, so the wide cast is left for the rest (COALESCE skips it)
    exact = digits.re_search(r"^-?[0-9]{1,12}(\.[0-9]{0,6})?$")
    value = ibis.coalesce(ibis.ifelse(exact, digits.try_cast(FAST), ibis.null(WIDE)), digits.try_cast(WIDE))
    value = ibis.ifelse(wan, value * 10000, value)
    value = ibis.ifelse(percent, value / 100, value)
    value = ibis.ifelse(negative, -value, value)
    value = ibis.ifelse(grouped, value, ibis.null(WIDE))
    return value.try_cast(to)  # type: ignore[no-any-return]  # too large for the column: NULL, reported
