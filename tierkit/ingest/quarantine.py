"""Which rows of a source file are imported, which are duplicates, and which are set aside, and why.

Every row gets exactly one verdict, so that read = imported + rejected + duplicates always holds:

- rejected: a value that does not parse, an empty required cell, a date after today, a negative
  amount when refunds are not allowed, or an id that repeats an earlier row (in this file or an
  earlier import) with other values. The first failing check names the column, value and reason.
- duplicate: an id that repeats an earlier row with the same values; the first copy is imported.
- imported: everything else.

All of it is one Ibis expression over the file; the source row number is the row's position in
the file (data rows counted from 1 after the header), as a spreadsheet user would count.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from tierkit.canonical import TableSpec
from tierkit.tables.parsing import CHINA_MINUTES, stripped
from tierkit.tables.readers import MappedFile
from tierkit.tables.typing import type_column

IMPORTED, REJECTED, DUPLICATE = "imported", "rejected", "duplicate"
SEPARATOR = "\x1f"  # joins a row's values into one comparable text; no export holds it


@dataclass(frozen=True)
class Check:
    failed: ir.BooleanValue
    column: str  # as the file names it
    value: ir.StringValue
    reason: str


@dataclass(frozen=True)
class ImportRules:
    """What an import accepts beyond parsing: the day after which dates are 'future', and refunds."""

    today: dt.date
    refunds: bool = True  # negative amounts are refunds; False rejects them
    threshold: float = 0.01  # share of rejected rows above which the import fails
    to_minutes: int = CHINA_MINUTES  # UTC offset that timestamps naming their zone are moved to


def _first_failure(table: ir.Table, checks: list[Check]) -> dict[str, ir.Value]:
    """The column, value and reason of the first check a row fails (all NULL when it passes)."""
    if not checks:
        return {name: ibis.null("string") for name in ("__column", "__value", "__reason")}
    return {
        "__column": ibis.cases(*((c.failed, c.column) for c in checks), else_=ibis.null("string")),
        "__value": ibis.cases(*((c.failed, c.value) for c in checks), else_=ibis.null("string")),
        "__reason": ibis.cases(*((c.failed, c.reason) for c in checks), else_=ibis.null("string")),
    }


def checked_rows(mapped: MappedFile, spec: TableSpec, rules: ImportRules, number: bool = True) -> ir.Table:
    """The file's rows with canonical values, `attributes` (unknown columns as JSON), `__row`, and
    the first failed check in `__column`, `__value`, `__reason`. Without `number`, no `__row`:
    the caller numbers the rows in file order itself (see staging)."""
    raw, source = mapped.raw, mapped.source
    numbered = raw  # row numbers come after parsing: a window first would parse on one thread
    values: dict[str, ir.Value] = {}
    flags: dict[str, ir.Value] = {}  # computed once per row, read by the checks below
    instants = source.instants()
    for col in spec.columns:
        if col.name not in raw.columns:
            continue
        header, cell = mapped.headers[col.name], numbered[col.name]
        typed = type_column(cell, col, source.is_text, rules.to_minutes, header in instants)
        values[col.name] = typed.value
        if col.required:
            empty = cell.isnull() | (stripped(cell) == "") if cell.type().is_string() else cell.isnull()
            flags[f"__empty_{col.name}"] = empty
        if typed.bad is not None and typed.shown is not None:
            flags[f"__shown_{col.name}"] = typed.shown  # non-NULL exactly where a value was given
    attributes = (
        ibis.struct({name: numbered[name].cast("string") for name in mapped.extra}).cast("json").cast("string")
        if mapped.extra
        else ibis.null("string")
    )
    # parse once, check after: a check that re-read the parsed expression would parse again
    stage = numbered.select(**values, attributes=attributes, **flags)
    if number:
        stage = stage.mutate(__row=ibis.row_number() + 1)  # file order: see ImportRules / import_file
    parsing: list[Check] = []
    for col in spec.columns:
        header = mapped.headers.get(col.name, col.name)
        if f"__empty_{col.name}" in stage.columns:
            parsing.append(
                Check(stage[f"__empty_{col.name}"], header, ibis.literal(""), f"empty, and {spec.name} need it")
            )
        if f"__shown_{col.name}" in stage.columns:
            shown = stage[f"__shown_{col.name}"]
            bad = shown.notnull() & stage[col.name].isnull()
            parsing.append(Check(bad, header, shown, f"not a valid {col.type.split('(')[0]}"))
    staged = stage.mutate(**_first_failure(stage, parsing))
    later = _first_failure(staged, business_checks(staged, spec, mapped.headers, rules))
    checked = staged.mutate(**{name: ibis.coalesce(staged[name], value) for name, value in later.items()})
    return checked.drop(*flags)


def business_checks(table: ir.Table, spec: TableSpec, headers: dict[str, str], rules: ImportRules) -> list[Check]:
    """Checks on canonical values: dates after today, and negative amounts when refunds are off."""
    checks: list[Check] = []
    if spec.time_column and spec.time_column in table.columns:
        when = table[spec.time_column]
        checks.append(
            Check(
                when > ibis.date(rules.today),
                headers[spec.time_column],
                _cell(table, spec.time_column),
                f"in the future (after {rules.today.isoformat()})",
            )
        )
    if not rules.refunds and "amount" in table.columns:
        amount = table["amount"]
        checks.append(Check(amount < 0, headers["amount"], _cell(table, "amount"), "negative amount (refunds are off)"))
    return checks


def _cell(table: ir.Table, name: str) -> ir.StringValue:
    """The cell as the file wrote it (the rejects file quotes the user's text, not our parse)."""
    shown = f"__shown_{name}"
    return table[shown] if shown in table.columns else table[name].cast("string")  # type: ignore[no-any-return]


def fingerprint(table: ir.Table, spec: TableSpec) -> ir.StringValue:
    """A row's canonical values as one text, to tell an exact repeat from a conflicting one."""
    parts = [
        (table[c.name].cast("string") if c.name in table.columns else ibis.null("string")).fill_null("\u2205")
        for c in spec.columns
    ]
    return ibis.literal(SEPARATOR).join(parts)


def repeated_ids(checked: ir.Table, spec: TableSpec) -> ir.Table:
    """The ids that valid rows repeat within the file, each with its first row (`__key`,
    `__first_row`): one GROUP BY over the id and row number alone."""
    key = spec.key or ""
    candidates = checked.filter(checked.__reason.isnull() & checked[key].notnull())
    return (
        candidates.group_by(__key=candidates[key])
        .aggregate(__n=candidates.count(), __first_row=candidates.__row.min())
        .filter(lambda t: t.__n > 1)
        .drop("__n")
    )


def first_copies(checked: ir.Table, spec: TableSpec, repeats: ir.Table | None = None) -> ir.Table:
    """The ids that valid rows repeat within the file: each with its first row and that row's
    fingerprint (`__key`, `__first_row`, `__first_fp`). Few rows: an import may keep it apart,
    and `repeats` (`repeated_ids`) too."""
    repeats = repeated_ids(checked, spec) if repeats is None else repeats
    first = checked.join(repeats, checked.__row == repeats.__first_row)
    return first.select(__key=first.__key, __first_row=first.__first_row, __first_fp=fingerprint(first, spec))


def prior_copies(earlier: ir.Table, spec: TableSpec) -> ir.Table:
    """The ids earlier imports hold, each with its fingerprint and file (`__key`, `__prior_fp`,
    `__prior_source`)."""
    key = spec.key or ""
    return earlier.group_by(__key=earlier[key]).aggregate(
        __prior_fp=earlier.__fp.min(), __prior_source=earlier._source.min()
    )


def verdicts(
    checked: ir.Table,
    spec: TableSpec,
    headers: dict[str, str],
    earlier: ir.Table | None,
    firsts: ir.Table | None = None,
    prior: ir.Table | None = None,
) -> ir.Table:
    """Add `__verdict` (imported, rejected, duplicate), settling repeated ids.

    Within the file the first copy of an id wins; a later copy with the same values is a
    duplicate, with other values a rejection naming the row it repeats. `earlier` holds the
    ids already imported from other files (key, `__fp`, `_source`): the same rules apply.
    Repeats are found by GROUP BY and joined back (a window over every id would sort the file).
    `firsts` and `prior` are `first_copies` and `prior_copies`, when the caller has them kept."""
    key = spec.key
    if key is None or key not in checked.columns:
        return checked.mutate(__verdict=ibis.ifelse(checked.__reason.isnull(), IMPORTED, REJECTED))
    valid = checked.__reason.isnull() & checked[key].notnull()
    firsts = first_copies(checked, spec) if firsts is None else firsts
    rows = checked.left_join(firsts, checked[key] == firsts.__key).drop("__key")
    repeat = valid & rows.__first_row.notnull() & (rows.__row != rows.__first_row)
    same = fingerprint(rows, spec) == rows.__first_fp
    clash = repeat & ~same
    rows = rows.mutate(
        __reason=ibis.ifelse(
            clash, f"{key} repeats row " + rows.__first_row.cast("string") + " with other values", rows.__reason
        ),
        __column=ibis.ifelse(clash, headers[key], rows.__column),
        __value=ibis.ifelse(clash, rows[key], rows.__value),
        __verdict=ibis.cases(
            (repeat & same, DUPLICATE), (clash, REJECTED), (rows.__reason.notnull(), REJECTED), else_=IMPORTED
        ),
    ).drop("__first_row", "__first_fp")
    if earlier is not None or prior is not None:
        prior = prior_copies(earlier, spec) if prior is None and earlier is not None else prior
        assert prior is not None
        rows = rows.left_join(prior, rows[key] == prior.__key).drop("__key")
        clash = (rows.__verdict == IMPORTED) & rows.__prior_fp.notnull()
        same_prior = fingerprint(rows, spec) == rows.__prior_fp
        rows = rows.mutate(
            __verdict=ibis.cases((clash & same_prior, DUPLICATE), (clash, REJECTED), else_=rows.__verdict),
            __reason=ibis.ifelse(
                clash & ~same_prior,
                f"{key} already imported from " + rows.__prior_source + " with other values",
                rows.__reason,
            ),
            __column=ibis.ifelse(clash & ~same_prior, headers[key], rows.__column),
            __value=ibis.ifelse(clash & ~same_prior, rows[key], rows.__value),
        ).drop("__prior_fp", "__prior_source")
    return rows
