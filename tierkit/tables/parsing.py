"""How text cells from CRM, billing and spreadsheet exports become dates and numbers.

Expressions, not Python loops: the same parsing runs inside DuckDB or Spark over any number of
rows, and both engines give the same value (tested on both). A cell no rule recognises becomes
NULL, and the reader reports it with its row.

Dates: 2024-01-05, 2024/1/5, 2024.1.5, 2024年1月5日, 20240105, Excel serial days (45296), and
timestamps; and, for the forms these do not cover (05/01/2024 is the 5th of January in Europe
and May 1st in the US: only the user knows), the command's `--date-format` (`dates`), tried
before them. A timestamp is cut to the date it shows, unless it names its offset
(2024-01-05T23:30:00Z, ...+00:00): then it is first moved to the policy's time zone (default
+08:00), so an order placed at 23:30 UTC counts on the next day in Beijing.

Numbers: ¥1,234.50, ￥1 234, RMB 100, 100元, 1.2万, (12.50) for a
negative amount, and 12% for 0.12.
"""

from __future__ import annotations

from contextvars import ContextVar
from decimal import Decimal

import ibis
import ibis.expr.types as ir

from tierkit.errors import InputError

CHINA_MINUTES = 8 * 60
EXCEL_EPOCH = (1899, 12, 30)  # Excel's day 0, with its 1900 leap-year bug folded in
MONEY_NOISE = r"[¥￥$,\s]|元|RMB|CNY|人民币"
WIDE = "decimal(38, 10)"
FAST = "decimal(18, 6)"  # parse wide, round once: 12.34499 is 12.34, not 12.35 twice rounded
EDGE_SPACE = r"^[ \t\n\r\x0b\x0c]|[ \t\n\r\x0b\x0c]$"  # string.whitespace, what strip() removes
# the forms most exports use, parsed by a short path (see parse_date and parse_number): a date
# without a time; an amount with at most a currency sign before it, 12 digits (grouped by
# thousands or not) and 6 decimals, which DECIMAL(18, 6) holds exactly
PLAIN_DATE = r"^[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}$"
PLAIN_MONEY = r"^[¥￥$]?-?([0-9]{1,12}|[0-9]{1,3}(,[0-9]{3}){1,3})([.][0-9]{0,6})?$"
KNOWN_DATES = "2024-01-05, 2024/1/5, 2024.1.5, 2024年1月5日, 20240105, an Excel serial day (45296)"
REGEX_SPECIAL = set(".^$*+?()[]{}|\\")  # escaped the same way in RE2 (DuckDB) and Java (Spark)
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# strftime directives a --date-format may use: what each matches, and the date part it gives
DIRECTIVES = {
    "Y": ("([0-9]{4})", "year"),
    "y": ("([0-9]{2})", "year"),
    "m": ("([0-9]{1,2})", "month"),
    "b": ("([a-z]{3})", "month"),
    "B": ("([a-z]{3})[a-z]*", "month"),
    "d": ("([0-9]{1,2})", "day"),
    "H": ("[0-9]{1,2}", None),
    "I": ("[0-9]{1,2}", None),
    "M": ("[0-9]{2}", None),
    "S": ("[0-9]{2}(?:[.][0-9]+)?", None),
    "p": ("(?:am|pm)", None),
}
# `--date-format` of the command running: set by sources.text_options, read by parse_date
DATE_FORMAT: ContextVar[str | None] = ContextVar("tierkit_date_format", default=None)


def stripped(text: ir.StringValue) -> ir.StringValue:
    """`text.strip()` (the whitespace of Python's str.strip), with a regex in front that leaves
    alone the cells with none at either end: most cells, and trimming by a set of characters
    cost three times the regex on DuckDB (issue 16)."""
    return ibis.ifelse(text.re_search(EDGE_SPACE), text.strip(), text)  # type: ignore[no-any-return]


def tidy_text(text: ir.StringValue) -> ir.StringValue:
    """A text cell as kept: stripped, and a CRLF inside it a LF (Spark turns one into the other
    in a quoted cell; DuckDB does not). The same guard: most cells have neither."""
    return ibis.ifelse(  # type: ignore[no-any-return]
        text.re_search(EDGE_SPACE + r"|\r"), text.strip().replace("\r\n", "\n"), text
    )


def date_hint() -> str:
    """What a bad date's message adds: the forms read, and how to name another one."""
    given = DATE_FORMAT.get()
    also = f", and '{given}' (--date-format)" if given else ""
    return (
        f"dates are read as {KNOWN_DATES}, each optionally followed by a time{also}; "
        "name another form with --date-format, e.g. --date-format '%d/%m/%Y'"
    )


def _compile(fmt: str) -> tuple[str, dict[str, tuple[int, str]]]:
    """The regex a format stands for, and for year, month and day its group and directive."""
    pattern, index, at = "", 0, 0
    groups: dict[str, tuple[int, str]] = {}
    while at < len(fmt):
        char = fmt[at]
        if char != "%":  # literal text; cells are matched lowered (month names)
            pattern += "\\" + char if char in REGEX_SPECIAL else char.lower()
            at += 1
            continue
        code = fmt[at + 1 : at + 2]
        at += 2
        if code == "%":
            pattern += "%"
            continue
        if code not in DIRECTIVES:
            raise InputError(
                f"--date-format '{fmt}': %{code} is not supported (use %Y %y %m %b %B %d, and %H %M %S %I %p "
                "for a time, which is ignored)"
            )
        regex, part = DIRECTIVES[code]
        if part is not None:
            if part in groups:
                raise InputError(f"--date-format '{fmt}': the {part} is given twice (%{code} twice, or with another)")
            index += 1
            groups[part] = (index, code)
        pattern += regex
    missing = [name for name in ("year", "month", "day") if name not in groups]
    if missing:
        raise InputError(
            f"--date-format '{fmt}': it needs a year (%Y), a month (%m or %b) and a day (%d): no {missing[0]}"
        )
    return "^" + pattern + r"([ T].*)?$", groups


def check_date_format(fmt: str) -> str:
    """`fmt` if it is a date format parse_date can use, else an error saying what is wrong."""
    _compile(fmt)
    return fmt


def formatted_date(text: ir.StringValue, fmt: str) -> ir.DateValue:
    """The date `text` holds in the strftime-style `fmt`, else NULL: a regex, not strptime, so
    that a cell that does not fit is NULL on every engine (DuckDB's strptime raises)."""
    pattern, groups = _compile(fmt)
    lowered = text.lower()

    def part(name: str) -> ir.StringValue:
        return lowered.re_extract(pattern, groups[name][0])

    year_code = groups["year"][1]
    year = part("year")
    if year_code == "y":  # as Python reads %y: 69-99 are 1969-1999, 00-68 are 2000-2068
        short = year.try_cast("int64")
        year = ibis.ifelse(short >= 69, short + 1900, short + 2000).cast("string")
    month = part("month")
    if groups["month"][1] in ("b", "B"):
        month = ibis.cases(
            *((month == name, f"{i:02d}") for i, name in enumerate(MONTHS, 1)), else_=ibis.null("string")
        )
    iso = year + "-" + month.lpad(2, "0") + "-" + part("day").lpad(2, "0")
    return ibis.ifelse(lowered.re_search(pattern), iso.try_cast("date"), ibis.null("date"))  # type: ignore[no-any-return]


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


def parse_date(text: ir.StringValue, to_minutes: int = CHINA_MINUTES, date_format: str | None = None) -> ir.DateValue:
    """A date from the usual Chinese and ISO forms, YYYYMMDD and Excel serials; else NULL.

    `to_minutes` is the UTC offset of the policy's time zone, for timestamps that name theirs.
    `date_format` (strftime-style, checked by `check_date_format`) is tried first; by default
    the one the command was given (`--date-format`, see `sources.text_options`), if any."""
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
    # the commonest form first (2024/1/5, 2024-01-05, 2024.1.5, no time): one regex and a cast,
    # the same cast `separated` gives it below; the engine evaluates the other branches only on
    # the rows this one leaves (issue 16: the full chain cost 3x a plain copy of the file)
    plain = text.re_search(PLAIN_DATE)
    known = ibis.cases(
        (plain, text.replace("/", "-").replace(".", "-").try_cast("date")),
        (zoned, in_zone),
        (eight_digits, from_digits),
        (serial, from_serial),
        (year_month_day, separated.try_cast("date")),
        else_=ibis.null("date"),
    )
    fmt = date_format if date_format is not None else DATE_FORMAT.get()
    return ibis.coalesce(formatted_date(text, fmt), known) if fmt else known  # type: ignore[no-any-return]


def parse_number(text: ir.StringValue, to: str) -> ir.NumericValue:
    """A decimal from money and percentage forms; else NULL.

    A comma must group thousands (1,234,567.5): "12,50" or "1.234,50" is a decimal comma from a
    European locale, which we refuse rather than misread as 1250 or 1.23.

    The commonest forms (1234.50, ¥1,234.50, -12) take a short path: one regex, the currency
    sign and commas dropped, one cast: exactly the text and cast the full chain ends with for
    them (`_any_number`), which the engine then runs only on the rows the short path leaves."""
    plain = text.re_search(PLAIN_MONEY)
    digits = text.replace("¥", "").replace("￥", "").replace("$", "").replace(",", "")
    return ibis.cases(  # type: ignore[no-any-return]
        (plain, digits.try_cast(FAST).try_cast(to)), else_=_any_number(text, to)
    )


def _any_number(text: ir.StringValue, to: str) -> ir.NumericValue:
    """parse_number's full chain: every money and percentage form."""
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
    value = ibis.ifelse(percent, value * Decimal("0.01"), value)  # exact: `/ 100` went through a double
    value = ibis.ifelse(negative, -value, value)
    value = ibis.ifelse(grouped, value, ibis.null(WIDE))
    return value.try_cast(to)  # type: ignore[no-any-return]  # too large for the column: NULL, reported
