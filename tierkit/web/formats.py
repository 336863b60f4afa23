"""Numbers and dates as a manager reads them: ¥1,234.50, 12.3%, 2026-09-30, in either language.

Money arrives as exact decimals (or their text) from the engine and is rounded half-up to cents
only here, for display; nothing is added up after formatting.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

CURRENCY = "¥"
DASH = "—"


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def money(value: Any, places: int = 2) -> str:
    """¥1,234.50 (negative: -¥1,234.50); a dash for no value."""
    number = _decimal(value)
    if number is None:
        return DASH
    rounded = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    sign = "-" if rounded < 0 else ""
    return f"{sign}{CURRENCY}{abs(rounded):,.{places}f}"


def number(value: Any, places: int = 0) -> str:
    """1,234 or 1,234.5 (grouped, half-up); a dash for no value."""
    found = _decimal(value)
    if found is None:
        return DASH
    rounded = found.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{rounded:,.{places}f}"


def percent(share: Any, places: int = 1) -> str:
    """0.123 -> 12.3%; a dash for no value."""
    found = _decimal(share)
    if found is None:
        return DASH
    return f"{(found * 100).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):,.{places}f}%"


def date(value: Any) -> str:
    """YYYY-MM-DD for a date, a datetime (in UTC) or ISO text; a dash for none."""
    if value is None or value == "":
        return DASH
    if isinstance(value, dt.datetime):
        return (value.astimezone(dt.UTC) if value.tzinfo else value).date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)[:10]


def instant(value: Any) -> str:
    """YYYY-MM-DD HH:MM (UTC) for a moment, such as when a contact was logged."""
    if value is None or value == "":
        return DASH
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        moment = value.astimezone(dt.UTC) if value.tzinfo else value
        return moment.strftime("%Y-%m-%d %H:%M") + " UTC"
    return date(value)


FILTERS = {"money": money, "number": number, "percent": percent, "date": date, "instant": instant}
