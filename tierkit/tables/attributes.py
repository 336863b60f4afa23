"""Customer attributes: every column of a customers file that is not a canonical one.

A pharma rep's file says 医院级别 and 处方程度, a CRM export says income_band and 集团关键人:
policies must read them as they are (`when: "医院级别 == '三级'"`), so they are kept, typed,
beside the canonical columns. Typing is inferred from the values: a column is a number, a date
or a yes/no only when every non-empty value reads as one, else text. The counts that decide it
ride on the reader's one aggregate pass (no extra scan). A workspace's customers keep their
extra columns as JSON text in `attributes` (see `tierkit import`): those are unpacked here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir

from tierkit.errors import InputError
from tierkit.tables.parsing import CHINA_MINUTES, parse_date, parse_number

STORED = "attributes"  # the JSON column `tierkit import` writes
BOOKKEEPING = ("_source", "_row")
NUMBER = "decimal(38, 6)"
YES = ("true", "yes", "y", "是", "有", "√")
NO = ("false", "no", "n", "否", "无", "×")
TYPES = ("boolean", "number", "date", "text")


@dataclass(frozen=True)
class Attribute:
    """One attribute column as the reader sees it: its name and its value as text (or typed)."""

    name: str
    value: ir.Value

    @property
    def is_text(self) -> bool:
        return bool(self.value.type().is_string())


def stored_keys(engine: Any, raw: ir.Table) -> list[str]:
    """The attribute names inside a workspace file's JSON column: one row per imported file says
    them all (every row of one file has the same keys), in the order first seen."""
    column = raw[STORED]
    if "_source" in raw.columns:
        sample = raw.filter(column.notnull()).group_by("_source").aggregate(first=column.first())
    else:
        sample = raw.filter(column.notnull()).select(first=column).limit(100)
    keys: list[str] = []
    for text in engine.to_pyarrow(sample.order_by("first"))["first"].to_pylist():
        for key in json.loads(text or "{}"):
            if key not in keys:
                keys.append(key)
    return keys


def _json_text(column: ir.StringValue, key: str) -> ir.StringValue:
    """One key's value from DuckDB's compact JSON text (`{"k":"v","n":null}`), unescaped; a
    regular expression, so that every engine reads it the same way."""
    quoted = re.escape(json.dumps(key, ensure_ascii=False))
    found = column.re_extract(quoted + r':"((?:[^"\\]|\\.)*)"', 1)
    found = ibis.ifelse(found == "", ibis.null("string"), found)
    return found.replace('\\"', '"').replace("\\\\", "\\")  # type: ignore[no-any-return]


def attribute_columns(engine: Any, raw: ir.Table, extra: tuple[str, ...]) -> list[Attribute]:
    """The attribute columns of a customers file, unpacked from `attributes` when it has one."""
    found = [Attribute(name, raw[name]) for name in extra if name not in (STORED, *BOOKKEEPING)]
    if STORED in extra and raw[STORED].type().is_string():
        taken = {a.name for a in found}
        found += [Attribute(key, _json_text(raw[STORED], key)) for key in stored_keys(engine, raw) if key not in taken]
    for attribute in found:
        if not attribute.name.strip():
            raise InputError("a customers column has an empty name; name it or leave it out")
    return found


def _words(text: ir.StringValue, words: tuple[str, ...]) -> ir.BooleanValue:
    return text.lower().isin(list(words))  # type: ignore[no-any-return]


def type_checks(attributes: list[Attribute], to_minutes: int = CHINA_MINUTES) -> dict[str, ir.Value]:
    """Aggregates that count, per text attribute, the values given and those that read as each type."""
    checks: dict[str, ir.Value] = {}
    for index, attribute in enumerate(attributes):
        if not attribute.is_text:
            continue
        text = _cleaned(attribute.value)
        checks[f"__attr{index}_given"] = text.count()
        checks[f"__attr{index}_boolean"] = (_words(text, YES) | _words(text, NO)).sum()
        checks[f"__attr{index}_number"] = parse_number(text, NUMBER).count()
        checks[f"__attr{index}_date"] = parse_date(text, to_minutes).count()
    return checks


def _cleaned(value: ir.Value) -> ir.StringValue:
    text = value.cast("string").strip()
    return ibis.ifelse(text == "", ibis.null("string"), text)  # type: ignore[no-any-return]


def typed_attributes(
    attributes: list[Attribute], counts: dict[str, Any], to_minutes: int = CHINA_MINUTES
) -> dict[str, ir.Value]:
    """Each attribute as its inferred type: yes/no words as booleans, then numbers, dates, text."""
    typed: dict[str, ir.Value] = {}
    for index, attribute in enumerate(attributes):
        value = attribute.value
        if not attribute.is_text:
            typed[attribute.name] = value if _plain(value) else value.cast("string")
            continue
        text = _cleaned(value)
        given = int(counts.get(f"__attr{index}_given") or 0)
        kind = next(
            (k for k in ("boolean", "number", "date") if given and int(counts.get(f"__attr{index}_{k}") or 0) == given),
            "text",
        )
        if kind == "boolean":
            typed[attribute.name] = ibis.cases((_words(text, YES), True), (_words(text, NO), False), else_=None)
        elif kind == "number":
            typed[attribute.name] = parse_number(text, NUMBER)
        elif kind == "date":
            typed[attribute.name] = parse_date(text, to_minutes)
        else:
            typed[attribute.name] = text
    return typed


def _plain(value: ir.Value) -> bool:
    """A typed column (Parquet, a workbook) of a type rules can compare: kept as it is."""
    kind = value.type()
    return bool(kind.is_numeric() or kind.is_boolean() or kind.is_date() or kind.is_string() or kind.is_timestamp())


def kind_of(value: ir.Value) -> str:
    """What the docs and `tierkit check` call an attribute's type."""
    kind = value.type()
    if kind.is_boolean():
        return "boolean"
    if kind.is_numeric():
        return "number"
    if kind.is_date() or kind.is_timestamp():
        return "date"
    return "text"
