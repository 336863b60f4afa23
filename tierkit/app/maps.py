"""`--map COLUMN=canonical`: which column of a user's file is which canonical column.

Light on purpose (the canonical tables and the errors only): the command line parses maps
before it loads anything that reads files.

A command over several files (`tierkit import orders a.csv pos.xlsx`) also takes
`--map FILE:COLUMN=canonical`, for one file (by name or path): exports of two systems name
their columns differently, and a plain map applies to every file that has its column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from tierkit.canonical import TABLES
from tierkit.errors import InputError, did_you_mean

FILE_LIKE = re.compile(r"\.[A-Za-z][A-Za-z0-9]{1,6}$")  # 'x.csv' before a ':' names a file


@dataclass(frozen=True)
class FileMaps:
    """The maps of a command over several files: `everywhere` for each file that has the column,
    `by_file` (absolute path -> maps) for one file, winning there."""

    everywhere: dict[str, str] = field(default_factory=dict)
    by_file: dict[str, dict[str, str]] = field(default_factory=dict)

    def of(self, path: Path, columns: list[str]) -> dict[str, str]:
        """The maps for the file `path`, whose columns are `columns`."""
        plain = {column: canonical for column, canonical in self.everywhere.items() if column in columns}
        return plain | self.by_file.get(str(path.resolve()), {})


def _names(kind: str | None) -> list[str]:
    kinds = [kind] if kind else list(TABLES)
    return list(dict.fromkeys(n for k in kinds for n in TABLES[k].names))


def _pair(item: str, left: str, right: str, names: list[str], kind: str | None) -> tuple[str, str]:
    column, canonical = left.strip(), right.strip()
    if not column or not canonical:
        raise InputError(f"--map '{item}': expected COLUMN=canonical, e.g. --map '会员卡号=customer_id'")
    if canonical not in names:
        where = kind or "any table"
        raise InputError(
            f"--map '{item}': '{canonical}' is not a column of {where}{did_you_mean(canonical, names)} "
            f"(columns: {', '.join(names)})"
        )
    return column, canonical


def parse_maps(given: list[str] | None, kind: str | None = None) -> dict[str, str]:
    """--map '会员卡号=customer_id' pairs, each checked against the canonical columns of the table
    (of any table when `kind` is None: `grade` reads several)."""
    maps: dict[str, str] = {}
    names = _names(kind)
    for item in given or []:
        left, sep, right = item.partition("=")
        if not sep:
            raise InputError(f"--map '{item}': expected COLUMN=canonical, e.g. --map '会员卡号=customer_id'")
        column, canonical = _pair(item, left, right, names, kind)
        maps[column] = canonical
    return maps


def parse_file_maps(given: list[str] | None, kind: str, files: list[Path]) -> FileMaps:
    """--map 'COLUMN=canonical' and --map 'FILE:COLUMN=canonical' for a command over `files`.

    FILE is a file of the command as given, by its name or its path; a name two files share
    names both. Text before a ':' that is no such file is part of the column name, unless it
    looks like a file name (`x.csv:`), which is then an error listing the files."""
    names = _names(kind)
    everywhere: dict[str, str] = {}
    by_file: dict[str, dict[str, str]] = {}
    for item in given or []:
        left, sep, right = item.partition("=")
        if not sep:
            raise InputError(f"--map '{item}': expected COLUMN=canonical, e.g. --map '会员卡号=customer_id'")
        targets, left = _file_part(item, left, files)
        column, canonical = _pair(item, left, right, names, kind)
        if targets is None:
            everywhere[column] = canonical
        for target in targets or []:
            by_file.setdefault(target, {})[column] = canonical
    return FileMaps(everywhere, by_file)


def _file_part(item: str, left: str, files: list[Path]) -> tuple[list[str] | None, str]:
    """The files (absolute paths) a map names before its ':' and the rest, or None and all of it."""
    spellings: dict[str, list[str]] = {}
    for path in files:
        for spelled in {str(path), path.name, str(path.resolve())}:
            spellings.setdefault(spelled, []).append(str(path.resolve()))
    for spelled in sorted(spellings, key=len, reverse=True):  # the longest: a path before its name
        if left.startswith(spelled + ":"):
            return sorted(set(spellings[spelled])), left[len(spelled) + 1 :]
    prefix = left.rpartition(":")[0]
    if prefix and FILE_LIKE.search(prefix):
        raise InputError(
            f"--map '{item}': {prefix} is not a file of this command (files: {', '.join(p.name for p in files)})"
        )
    return None, left
