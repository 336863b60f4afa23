"""Calendar functions in rules: birthdays this month, days until a birthday, years as a customer.

The care lists of the seeds (生日祝福、节日礼品 for VIPs) and tenure rules (入网年限) need dates
relative to the as-of date, never to the day the grading happens to run: a run graded again
next week gives the same answers. The as-of date is a constant of the rule, so most of the
arithmetic is done here in Python and the engine compares month and day numbers.

A birthday on 29 February falls on **28 February** in a year without one: the same clamping to
the end of a shorter month as windows use (`12M` before 2024-02-29 starts after 2023-02-28), so
such a customer's birthday stays in February and `birthday_this_month` and
`days_until_birthday` agree. `years_between` counts a whole year on that day too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import ibis
import ibis.expr.types as ir

from tierkit.errors import InputError, PolicyError


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _leap_expr(year: ir.IntegerValue) -> ir.BooleanValue:
    return (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))  # type: ignore[no-any-return]


class Calendar:
    """The calendar functions of one call in a rule; `as_of` is None where no as-of date is known,
    and `where` names the call (file, line, key, function and column) for errors."""

    def __init__(self, as_of: dt.date | None, where: str) -> None:
        self.as_of, self.where = as_of, where

    def today(self) -> dt.date:
        if self.as_of is None:
            raise PolicyError(f"{self.where}: needs the as-of date, and this rule has none")
        return self.as_of

    def day_of(self, value: ir.Value) -> ir.DateValue:
        """A date (a timestamp's date); anything else is an error naming the function."""
        kind = value.type()
        if kind.is_timestamp():
            return value.date()  # type: ignore[attr-defined, no-any-return]
        if kind.is_date() or kind.is_null():
            return value.cast("date")  # type: ignore[return-value]
        raise PolicyError(f"{self.where}: needs a date, and its argument is {kind}")

    def call(self, fn: str, args: list[ir.Value], raw: list[object]) -> ir.Value:
        """Function `fn` over compiled arguments; `raw` holds the constants as written."""
        if fn == "date":
            return ibis.literal(dt.date.fromisoformat(str(raw[0])))
        days = [self.day_of(a) for a in args]
        functions: dict[str, Callable[[], ir.Value]] = {
            "year": lambda: days[0].year().cast("int64"),
            "month": lambda: days[0].month().cast("int64"),
            "day": lambda: days[0].day().cast("int64"),
            "days_between": lambda: days[1].delta(days[0], unit="day").cast("int64"),
            "years_between": lambda: self.years_between(days[0], days[1]),
            "birthday_this_month": lambda: days[0].month() == self.today().month,
            "days_until_birthday": lambda: self.days_until_birthday(days[0], self.today()),
        }
        return functions[fn]()

    @staticmethod
    def years_between(start: ir.DateValue, end: ir.DateValue) -> ir.Value:
        """Whole years from `start` to `end` (age, tenure): one more on each anniversary; negative
        when `end` comes first."""
        year = end.year()
        feb29 = (start.month() == 2) & (start.day() == 29) & ~_leap_expr(year)
        anniversary = start.month() * 100 + ibis.ifelse(feb29, 28, start.day())
        before = (end.month() * 100 + end.day()) < anniversary
        return (year - start.year() - ibis.ifelse(before, 1, 0)).cast("int64")

    @staticmethod
    def days_until_birthday(birth: ir.DateValue, as_of: dt.date) -> ir.Value:
        """Days from the as-of date to the next birthday: 0 on the day itself, at most 365."""
        if as_of.year >= dt.MAXYEAR:  # next year's birthday is no date
            last = dt.date.max
            raise InputError(f"as-of {as_of}: the next birthday falls after {last}, the last day of the calendar")

        def birthday(year: int) -> ir.DateValue:
            feb29 = (birth.month() == 2) & (birth.day() == 29)
            day = birth.day() if _leap(year) else ibis.ifelse(feb29, 28, birth.day())
            return ibis.date(year, birth.month(), day)

        this_year, next_year = birthday(as_of.year), birthday(as_of.year + 1)
        today = ibis.literal(as_of)
        ahead = this_year >= today
        return ibis.ifelse(ahead, this_year.delta(today, unit="day"), next_year.delta(today, unit="day")).cast("int64")
