"""Reasons as JSON text built inside the engine, identical on DuckDB and Spark.

Each value is rendered by rules both engines share: integers as integers, decimals at their
scale, floating values fixed at four decimals, text quoted and escaped. Building the JSON in
SQL keeps the grading path free of per-row Python.

Lean by default: a result row keeps in `reasons` only what neither its columns nor the policy
say (a pyramid rank, an ABC share, the stability entry); the rule texts, the score names, the
tag actions and the metric values were constants or copies of the row, and they were 80% of the
bytes a grading sorts and writes (docs/benchmarks.md). Readers rebuild the whole from the row
and the policy (runs.reasons_full); the `reasons` setting `full` writes the whole into the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TypeAlias

import ibis
import ibis.expr.types as ir

from tierkit.errors import TierkitError
from tierkit.settings import setting

Fragment: TypeAlias = ir.StringValue


FORMS = ("lean", "full")


def whole() -> bool:
    """True when each row's reasons are written whole (the `reasons` setting is `full`)."""
    form = (setting("reasons") or "lean").strip().lower()
    if form not in FORMS:
        raise TierkitError(f"TIERKIT_REASONS: '{form}' is not one of {', '.join(FORMS)}")
    return form == "full"


def text(value: str) -> Fragment:
    return ibis.literal(value)


def _decimal_text(v: ir.Value, scale: int) -> Fragment:
    """A number at a fixed scale. Through DECIMAL(18) when it fits (three times faster to print
    than DECIMAL(38) on DuckDB), else DECIMAL(38); the text is the same either way."""
    short = v.try_cast(f"decimal(18, {scale})").cast("string")
    return ibis.coalesce(short, v.cast(f"decimal(38, {scale})").cast("string"))  # type: ignore[no-any-return]


ESCAPED = ("\\", '"', "\n", "\r", "\t")  # what value() escapes in text, in SQL, on every row


def plain(names: Iterable[str]) -> bool:
    """True when no name holds a character value() escapes: for a column that only ever holds
    one of them, quoting is all the escaping does, so the per-row REPLACE chain can go (five
    string scans per row: about a third of the reasons' cost on DuckDB) and the text is the same."""
    return all(not any(char in name for char in ESCAPED) for name in names)


def value(v: ir.Value, names: Iterable[str] | None = None) -> Fragment:
    """One JSON value for an Ibis value; NULL becomes null. `names`: the only texts a string
    column can hold (a score's classes), when known."""
    t = v.type()
    if names is not None and t.is_string() and plain(names):
        return (ibis.literal('"') + v + '"').fill_null("null")  # type: ignore[no-any-return]
    if t.is_boolean():
        out = v.ifelse("true", "false")
    elif t.is_integer():
        out = v.cast("string")
    elif t.is_decimal():
        out = (
            _decimal_text(v, getattr(t, "scale", 0) or 0)
            if (getattr(t, "precision", 38) or 38) > 18
            else v.cast("string")
        )
    elif t.is_floating():
        out = _decimal_text(v, 4)
    elif t.is_date():
        out = ibis.literal('"') + v.cast("string") + '"'
    else:
        s = v.cast("string").replace("\\", "\\\\").replace('"', '\\"')
        for char, escaped in (("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
            s = s.replace(char, escaped)
        out = ibis.literal('"') + s + '"'
    return out.fill_null("null")  # type: ignore[no-any-return]


def join(parts: list[Fragment | str]) -> Fragment:
    """Concatenate non-null fragments in one call (CONCAT_WS), not a chain of || operators:
    DuckDB builds the string once instead of once per operator, about twice as fast."""
    pieces = [ibis.literal(p) if isinstance(p, str) else p for p in parts]
    return ibis.literal("").join(pieces)


def obj(
    fields: Mapping[str, ir.Value | Fragment | str],
    raw: frozenset[str] = frozenset(),
    names: Mapping[str, Iterable[str]] | None = None,
) -> Fragment:
    """A JSON object; keys in `raw` already hold JSON fragments, plain str values are literals;
    `names` gives, by key, the only texts a string value can hold (see value())."""
    if not fields:
        return ibis.literal("{}")
    parts: list[Fragment | str] = []
    literal = ""
    for i, (key, v) in enumerate(fields.items()):
        literal += ("," if i else "{") + json.dumps(key, ensure_ascii=False) + ":"
        if isinstance(v, str):
            literal += json.dumps(v, ensure_ascii=False)
            continue
        parts += [literal, v if key in raw else value(v, (names or {}).get(key))]
        literal = ""
    parts.append(literal + "}")
    return join(parts)
