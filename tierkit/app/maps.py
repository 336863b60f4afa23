"""`--map COLUMN=canonical`: which column of a user's file is which canonical column.

Light on purpose (the canonical tables and the errors only): the command line parses maps
before it loads anything that reads files.
"""

from __future__ import annotations

from tierkit.canonical import TABLES
from tierkit.errors import InputError, did_you_mean


def parse_maps(given: list[str] | None, kind: str | None = None) -> dict[str, str]:
    """--map '会员卡号=customer_id' pairs, each checked against the canonical columns of the table
    (of any table when `kind` is None: `grade` reads several)."""
    maps: dict[str, str] = {}
    kinds = [kind] if kind else list(TABLES)
    names = list(dict.fromkeys(n for k in kinds for n in TABLES[k].names))
    for item in given or []:
        column, sep, canonical = item.partition("=")
        column, canonical = column.strip(), canonical.strip()
        if not sep or not column or not canonical:
            raise InputError(f"--map '{item}': expected COLUMN=canonical, e.g. --map '会员卡号=customer_id'")
        if canonical not in names:
            where = kind or "any table"
            raise InputError(
                f"--map '{item}': '{canonical}' is not a column of {where}{did_you_mean(canonical, names)} "
                f"(columns: {', '.join(names)})"
            )
        maps[column] = canonical
    return maps
