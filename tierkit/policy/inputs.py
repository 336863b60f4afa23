"""The `inputs:` section of a policy: how this policy's source files are read.

A company's exports are the same month after month, so their quirks belong with the policy,
not on every command line: which column is which (`columns`, like `--map`), whether a negative
amount is a refund (`refunds`), and the time zone that timestamps with an offset are converted
to before their date is taken (`timezone`, default China Standard Time, +08:00).
"""

from __future__ import annotations

import re

from pydantic import field_validator

from tierkit.canonical import TABLES
from tierkit.errors import did_you_mean
from tierkit.policy.base import Strict

OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")


def offset_minutes(text: str) -> int:
    """'+08:00' -> 480, '-0530' -> -330; UTC and Z -> 0."""
    if text.upper() in ("UTC", "Z"):
        return 0
    found = OFFSET.match(text.strip())
    if not found or int(found.group(2)) > 14 or int(found.group(3)) >= 60:
        raise ValueError(f"'{text}' is not a UTC offset like +08:00 (or UTC)")
    minutes = int(found.group(2)) * 60 + int(found.group(3))
    return -minutes if found.group(1) == "-" else minutes


class InputRules(Strict):
    columns: dict[str, dict[str, str]] = {}  # table -> file column -> canonical column
    refunds: bool = True
    timezone: str = "+08:00"

    @field_validator("columns")
    @classmethod
    def _known_columns(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for table, mapping in value.items():
            if table not in TABLES:
                raise ValueError(f"'{table}' is not a table{did_you_mean(table, TABLES)} (tables: {', '.join(TABLES)})")
            names = TABLES[table].names
            for column, canonical in mapping.items():
                if canonical not in names:
                    raise ValueError(
                        f"{table}: '{column}: {canonical}': '{canonical}' is not a column of {table}"
                        f"{did_you_mean(canonical, names)}"
                    )
        return value

    @field_validator("timezone")
    @classmethod
    def _offset(cls, value: str) -> str:
        offset_minutes(value)
        return value

    @property
    def offset(self) -> int:
        return offset_minutes(self.timezone)
