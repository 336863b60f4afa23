"""Time windows, resolved against the as-of date in Python so engines see plain date literals.

A window of 12M at as-of 2024-06-30 holds days in (2023-06-30, 2024-06-30]: it ends on the
as-of date inclusive and starts after the as-of date minus the window, in calendar months and
years (a month back from 31 March is 29 or 28 February).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from tierkit.errors import InputError
from tierkit.policy.model import WINDOW

DAYS_PER_MONTH = 365.25 / 12


def months_back(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + (day.month - 1) - months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


@dataclass(frozen=True)
class Window:
    text: str  # as written: 90D, 12M, 1Y, all
    count: int = 0
    unit: str = ""

    @classmethod
    def parse(cls, text: str | None) -> Window:
        if text in (None, "all"):
            return cls("all")
        match = WINDOW.match(str(text))
        if not match:  # pragma: no cover - the policy model checked it
            raise ValueError(text)
        return cls(str(text), int(match["n"]), match["unit"])

    @property
    def is_all(self) -> bool:
        return self.unit == ""

    def start(self, as_of: dt.date, periods: int = 1) -> dt.date | None:
        """The exclusive start: rows on or before it are outside; `periods` steps further back."""
        if self.is_all:
            return None
        n = self.count * periods
        try:
            if self.unit == "D":
                return as_of - dt.timedelta(days=n)
            return months_back(as_of, n * (12 if self.unit == "Y" else 1))
        except (ValueError, OverflowError):  # year 0 is no date: say which date, not 'year 0 is out of range'
            times = f" taken {periods} times" if periods > 1 else ""
            raise InputError(
                f"as-of {as_of}: the {self.text} window{times} would start before {dt.date.min}, the first day "
                f"of the calendar; grade as of a later date"
            ) from None

    def months(self) -> float:
        if self.unit == "D":
            return self.count / DAYS_PER_MONTH
        return float(self.count * (12 if self.unit == "Y" else 1))

    def per(self, unit: str, as_of: dt.date) -> float:
        """How many `unit`s the window spans, to turn a count into a rate."""
        if unit == "month":
            return self.months()
        if unit == "year":
            return self.months() / 12
        start = self.start(as_of)
        assert start is not None
        return float((as_of - start).days)
