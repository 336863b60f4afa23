"""Instants people give (an override's or a manual tag's expiry): the moment they meant, in UTC.

Why one function: the API, the workbench and the CLI each take an expiry; each must convert the
client's offset (`2027-01-01T00:00:00+08:00` is `2026-12-31T16:00:00Z`), read a value without
one as UTC, refuse the past, and refuse what no one means. The bound is MAX_YEARS_AHEAD (100)
years: far enough for the "2099-12-31 = until further notice" people type (a manual tag can
also have no expiry at all), near enough to refuse `9999-12-31T23:59:59-14:00`, whose UTC
instant is past the last one Python, SQLite and PostgreSQL clients all hold (it was a 500).
"""

from __future__ import annotations

import datetime as dt

from tierkit.errors import ValueRefusedError

MAX_YEARS_AHEAD = 100


def _years_after(moment: dt.datetime, years: int) -> dt.datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February in a year that has none
        return moment.replace(year=moment.year + years, day=28)


def future_instant(value: dt.datetime, what: str = "expires", now: dt.datetime | None = None) -> dt.datetime:
    """`value` as an aware UTC instant that is after `now` and at most MAX_YEARS_AHEAD years
    ahead; anything else is refused (422) with the reason."""
    now = now or dt.datetime.now(dt.UTC)
    latest = _years_after(now, MAX_YEARS_AHEAD)
    bound = f"{what} must be at most {MAX_YEARS_AHEAD} years ahead (before {latest:%Y-%m-%d}); got {value.isoformat()}"
    try:
        utc = value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
    except OverflowError:  # 9999-12-31T23:59:59-14:00 is in the year 10000 in UTC
        raise ValueRefusedError(bound) from None
    if utc <= now:
        raise ValueRefusedError(f"{what} must be in the future")
    if utc > latest:
        raise ValueRefusedError(bound)
    return utc
