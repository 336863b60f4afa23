"""Header mapping: which column of a user's file is which canonical column.

Exports name columns in Chinese or English, with spaces and case of their own (客户编号,
"Customer ID", 消费金额). Synonyms are data (synonyms.yaml); an explicit mapping (the Python
API's `maps=`, and the import command's `--map` to come) wins over them. A column that maps to
nothing is kept out of grading, never an error; two columns that map to one canonical name are
an error naming both.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from tierkit.canonical import TableSpec
from tierkit.errors import InputError, did_you_mean
from tierkit.yaml_reading import load_yaml


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name.strip().lstrip("\ufeff")).lower()


@lru_cache(maxsize=1)
def synonyms() -> dict[str, str]:
    """normalized header -> canonical name."""
    data = load_yaml(resources.files("tierkit.tables").joinpath("synonyms.yaml").read_text("utf-8"))
    table: dict[str, str] = {}
    for canonical, names in data.items():
        table[_key(canonical)] = canonical
        for name in names:
            table[_key(str(name))] = canonical
    return table


def map_headers(
    columns: list[str],
    spec: TableSpec,
    path: object,
    given: dict[str, str] | None = None,
    defaults: dict[str, str] | None = None,
) -> dict[str, str]:
    """file column -> canonical name, for the columns that map to one of this table's columns.

    `given` (--map) must name columns of the file; `defaults` (the policy's `inputs.columns`)
    apply to the files that have those columns. Both win over the synonyms: a column mapped by
    them takes its canonical name away from a column that only a synonym would have mapped."""
    given = given or {}
    for column in given:
        if column not in columns:
            raise InputError(f"{path}: --map names '{column}', which is not a column{did_you_mean(column, columns)}")
    explicit = {**{c: t for c, t in (defaults or {}).items() if c in columns}, **given}
    taken = set(explicit.values())
    mapped: dict[str, str] = {}
    for column in columns:
        canonical = explicit.get(column)
        if canonical is None:
            canonical = synonyms().get(_key(column))
            canonical = dict(spec.aliases).get(canonical or "", canonical)
            if canonical in taken:
                continue  # kept as an attribute: the user said which column this is
        if canonical in spec.names:
            mapped[column] = canonical
    seen: dict[str, str] = {}
    for column, canonical in mapped.items():
        if canonical in seen:
            raise InputError(
                f"{path}: columns '{seen[canonical]}' and '{column}' both mean {canonical}; "
                f"use --map to say which (e.g. --map '{column}=...')"
            )
        seen[canonical] = column
    return mapped
