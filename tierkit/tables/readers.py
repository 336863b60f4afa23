"""Read a CSV or Parquet file into a canonical Ibis table, or say exactly what is wrong.

Typing happens in Ibis (`try_cast`, see `typing`), so DuckDB and Spark type a file the same
way. One aggregate pass counts rows, failed casts and empty required cells; only when something
failed do we look for the first bad row, reading the file again in Python to name its number.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import ibis
import ibis.expr.types as ir

from tierkit.canonical import TABLES, TableSpec
from tierkit.errors import InputError, did_you_mean
from tierkit.tables import csv_layout
from tierkit.tables.attributes import attribute_columns, type_checks, typed_attributes
from tierkit.tables.check_outcome import INPUT_CHECKS
from tierkit.tables.headers import map_headers
from tierkit.tables.locations import ReadsUris, header_names, refuse_engine, unreachable
from tierkit.tables.parsing import CHINA_MINUTES, date_hint, stripped
from tierkit.tables.sources import SourceFile, open_source
from tierkit.tables.typing import type_column


class Backend(Protocol):
    """What reading a file needs of a backend (tierkit.backends.Backend has it): the readers
    take one and never import the backends, so reading a file needs no grading package."""

    def read_csv(self, path: Path, names: list[str], delimiter: str = ",") -> ir.Table: ...

    def read_parquet(self, path: Path) -> ir.Table: ...

    def to_pyarrow(self, expr: ir.Expr) -> Any: ...

    def execute_scalar(self, expr: ir.Scalar) -> Any: ...

    def first_row(self, table: ir.Table, outcome: str | None = None) -> dict[str, Any]: ...

    zoned_types: bool  # its views' types say which timestamps are instants (see source_instants)


@dataclass(frozen=True)
class SourceTable:
    """A canonical table with where it came from, for manifests and error messages."""

    spec: TableSpec
    path: Path | str  # a URI (text) when Spark read the input from one, see tables.locations
    table: ir.Table
    rows: int
    duplicates: int
    present: frozenset[str]  # canonical columns the file really has
    first: dt.date | None = None  # the earliest date in the time column
    warnings: tuple[str, ...] = field(default=())
    source: SourceFile | None = None  # None for the stand-in tables of `tierkit check`
    id_header: str = "customer_id"  # what the file calls customer_id, to find a row by it
    attributes: tuple[str, ...] = ()  # a customers file's other columns, typed (tables.attributes)
    added: tuple[int, str] | None = None  # rows added in tierkit (complaints taken): (rows, sha256)

    def value(self, table: ir.Table, name: str) -> ir.Value:
        """A canonical column of `table`, or a typed NULL when the file does not have it."""
        return table[name] if name in self.present else ibis.null(self.spec.column(name).type)

    def fingerprint(self) -> str | None:
        """sha256 of the file (or parts) read; of the added rows when there is no file at all (a
        run's manifest records added rows apart: runs.files.manifest_for). None for a URI: its
        bytes are where only Spark reads them, and reading them all again here to hash them
        would cost as much as the grading."""
        if isinstance(self.path, str):
            return None
        if self.added is not None and not self.path.exists():
            return self.added[1]
        return file_fingerprint(self.path)


def file_fingerprint(path: Path) -> str:
    """sha256 of a file, or of a folder of Parquet parts (their names and bytes, in name order)."""
    digest = hashlib.sha256()
    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    for part in files:
        if path.is_dir():
            digest.update(part.name.encode() + b"\0")
        with part.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def read_raw(engine: Backend, source: SourceFile) -> ir.Table:
    """The file as the engine sees it: CSV columns all text, Parquet columns typed."""
    if source.uri is not None:
        return _clean(source, _read_uri(engine, source, source.uri))
    names = csv_layout.header(source) if source.is_text else []  # repeated or blank names are errors
    try:
        raw = (
            engine.read_csv(source.path, names, source.delimiter)
            if source.is_text
            else engine.read_parquet(source.path)
        )
    except Exception as exc:  # the engines raise their own types; the file is the cause
        raise unreadable(source, exc) from None
    return _clean(source, raw)


def _read_uri(engine: Backend, source: SourceFile, uri: str) -> ir.Table:
    """A URI read by the engine itself (Spark), its text header checked as a local file's is."""
    if not isinstance(engine, ReadsUris):
        raise refuse_engine(uri)
    if source.is_text:
        csv_layout.checked_header(header_names(uri, engine.first_line(uri), source.delimiter), uri)
    return engine.read_uri(uri, source.format, source.delimiter)


def _clean(source: SourceFile, raw: ir.Table) -> ir.Table:
    if len(raw.columns) > csv_layout.MAX_COLUMNS:  # from the Parquet schema: nothing read yet
        raise InputError(
            f"{source.label}: {len(raw.columns):,} columns; tierkit reads at most {csv_layout.MAX_COLUMNS:,} "
            "(keep the columns you need)"
        )
    clean = {name.strip().lstrip("\ufeff"): name for name in raw.columns}
    if list(clean) != list(raw.columns):
        raw = raw.rename(clean)  # a BOM or padding around a header name
    return raw


def unreadable(source: SourceFile, exc: Exception) -> InputError:
    if source.uri is not None:  # Spark's reason, not py4j's call or the Java stack
        return unreachable(source.uri, str(exc))
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if source.is_text:
        return csv_layout.unreadable(source, first)
    return InputError(f"{source.label}: cannot be read: {first}")


def missing_id_error(source: SourceFile | None, column: str, count: int) -> InputError:
    """Orders without a customer_id cannot be graded: name the first such row."""
    if source is None:
        return InputError(f"customer_id: empty ({count} such rows)")
    where = _where(source, column, "")
    return InputError(f"{source.label}: {where}: customer_id: empty ({count} such rows)")


def _where(source: SourceFile, column: str, bad: str) -> str:
    return csv_layout.first_row_with(source, column, bad) if source.is_text and source.uri is None else "a row"


CLUES = {  # words in a header that make it the likeliest column for a required one
    "customer_id": ("id", "号", "卡", "账号", "编号", "会员", "客户", "买家", "customer", "member", "buyer", "user"),
    "ordered_at": ("日期", "时间", "date", "time", "day", "下单", "at"),
    "amount": ("金额", "价", "额", "amount", "price", "total", "sum", "money", "消费", "实付"),
    "at": ("日期", "时间", "date", "time"),
    "kind": ("类型", "类别", "kind", "type"),
}


def likeliest(required: str, unknown: list[str]) -> str | None:
    """The file's column a missing required one most likely is, by the words in its header."""
    clues = CLUES.get(required, ())
    scored = [(sum(clue in c.lower() for clue in clues), -i, c) for i, c in enumerate(unknown)]
    best = max(scored, default=(0, 0, None))
    return best[2] if best[0] > 0 else None


def _check_columns(path: Path | str, kind: str, spec: TableSpec, raw: ir.Table) -> None:
    columns = list(raw.columns)
    for required in spec.required:
        if required not in columns:
            unknown = [c for c in columns if c not in spec.names]
            guess = likeliest(required, unknown)
            hint = f"; if it is '{guess}', say so: --map '{guess}={required}'" if guess else ""
            raise InputError(
                f"{path}: missing required column '{required}' for {kind}{did_you_mean(required, unknown)}"
                f" (columns found: {', '.join(columns)}){hint}"
            )
    if raw["customer_id"].type().is_floating():
        raise InputError(f"{path}: customer_id is stored as a floating number; export IDs as text or integers")


@dataclass(frozen=True)
class MappedFile:
    """A source file with its headers mapped: canonical columns renamed, the others kept as they are."""

    source: SourceFile
    raw: ir.Table
    headers: dict[str, str]  # canonical name -> the header in the file
    extra: tuple[str, ...]  # columns that map to nothing: kept as attributes by `import`


def open_mapped(
    engine: Backend,
    kind: str,
    path: str | Path,
    maps: dict[str, str] | None = None,
    sheet: str | int | None = None,
    defaults: dict[str, str] | None = None,
) -> MappedFile:
    """Open `path` as a `kind` table: headers matched by synonyms (客户编号 -> customer_id), `maps`
    (--map) or `defaults` (the policy's column maps, for files that have those columns)."""
    spec = TABLES[kind]
    source = open_source(path, sheet)
    raw = read_raw(engine, source)
    mapped = map_headers(list(raw.columns), spec, source.label, maps, defaults)
    renamed = {canonical: column for column, canonical in mapped.items() if canonical != column}
    if renamed:
        clash = [c for c in renamed if c in raw.columns]
        if clash:
            raise InputError(f"{source.label}: columns '{clash[0]}' and '{renamed[clash[0]]}' both mean {clash[0]}")
        raw = raw.rename(renamed)
    _check_columns(source.label, kind, spec, raw)
    headers = {canonical: column for column, canonical in mapped.items()}
    headers.update({name: name for name in spec.names if name in raw.columns and name not in headers})
    extra = tuple(column for column in raw.columns if column not in spec.names)
    return MappedFile(source, raw, headers, extra)


def _counts(engine: Backend, source: SourceFile, raw: ir.Table, checks: dict[str, ir.Value]) -> dict[str, Any]:
    try:
        return engine.first_row(raw.aggregate(**checks), outcome=INPUT_CHECKS)
    except Exception as exc:  # e.g. Spark meeting a malformed CSV row only now, at the first query
        raise unreadable(source, exc) from None


def source_instants(engine: Backend, mapped_file: MappedFile) -> frozenset[str]:
    """The file's timestamp columns stored as instants, by header: from the engine's view when its
    types say it (DuckDB: no pyarrow import on `tierkit grade`), else from the Parquet schema."""
    source, raw = mapped_file.source, mapped_file.raw
    if source.uri and isinstance(engine, ReadsUris):
        return engine.instants_at(source.uri)
    if source.is_text:
        return frozenset()
    if engine.zoned_types:
        return frozenset(
            mapped_file.headers[c]
            for c in raw.columns
            if c in mapped_file.headers and raw[c].type().is_timestamp() and raw[c].type().timezone is not None
        )
    return source.instants()


def read_table(
    engine: Backend,
    kind: str,
    path: str | Path,
    maps: dict[str, str] | None = None,
    sheet: str | int | None = None,
    to_minutes: int = CHINA_MINUTES,
    defaults: dict[str, str] | None = None,
) -> SourceTable:
    """Read `path` as the canonical table `kind` (orders, customers, interactions, contacts).

    Strict: the first bad value stops the read with its row. `tierkit import` is the lenient
    path, which sets bad rows aside in a rejects file."""
    spec = TABLES[kind]
    mapped_file = open_mapped(engine, kind, path, maps, sheet, defaults)
    source, raw = mapped_file.source, mapped_file.raw
    typed: dict[str, ir.Value] = {}
    shown: dict[str, ir.Value] = {}
    checks: dict[str, ir.Value] = {"__rows": raw.count()}
    instants = source_instants(engine, mapped_file)
    for col in spec.columns:
        if col.name not in raw.columns:
            continue
        result = type_column(raw[col.name], col, source.is_text, to_minutes, mapped_file.headers[col.name] in instants)
        typed[col.name] = result.value
        if result.bad is not None and result.shown is not None:
            checks[f"__bad_{col.name}"] = result.bad.sum()
            shown[col.name] = result.shown.min(where=result.bad)
        if col.required and col.name != "customer_id":  # an empty id is checked on the result
            column = raw[col.name]
            if column.type().is_string():
                checks[f"__empty_{col.name}"] = (column.isnull() | (stripped(column) == "")).sum()
            else:  # rows minus non-null values: Parquet statistics answer it without a scan
                checks[f"__empty_{col.name}"] = raw.count() - column.count()
    checks.update({f"__show_{name}": value for name, value in shown.items()})
    attributes = attribute_columns(engine, raw, mapped_file.extra) if kind == "customers" else []
    checks.update(type_checks(attributes, to_minutes))
    if spec.time_column and spec.time_column in typed:
        checks["__first"] = typed[spec.time_column].min()  # from Parquet statistics: no scan
    if spec.key and spec.key in typed:
        checks["__keys"] = typed[spec.key].nunique()
        checks["__keyed"] = typed[spec.key].count()
    counts = _counts(engine, source, raw, checks)
    _raise_on_bad_values(mapped_file, kind, spec, counts)
    extra = typed_attributes(attributes, counts, to_minutes)
    typed = with_margin(spec, typed)
    table = raw.select(**typed, **extra)  # absent optional columns are typed NULLs, see SourceTable.value
    duplicates = counts["__keyed"] - counts["__keys"] if spec.key and counts.get("__keyed") else 0
    warnings: tuple[str, ...] = ()
    if duplicates:
        table, warnings = _duplicates(engine, source.label, kind, spec, table, duplicates)
    return SourceTable(
        spec,
        source.label,
        table,
        counts["__rows"],
        duplicates,
        frozenset(typed),
        counts.get("__first"),
        warnings,
        source,
        mapped_file.headers.get("customer_id", "customer_id"),
        tuple(extra),
    )


def with_margin(spec: TableSpec, typed: dict[str, ir.Value]) -> dict[str, ir.Value]:
    """Orders that give a cost (成本) instead of a margin (毛利): `profit` is amount - cost on
    each row whose profit the file does not give (a file with both keeps its own profit where
    it has one). In the canonical order of columns, as exact money."""
    if spec.name != "orders" or "cost" not in typed or "amount" not in typed:
        return typed
    margin = (typed["amount"] - typed["cost"]).cast(spec.column("profit").type)
    given = typed.get("profit")
    derived = {"profit": given.coalesce(margin) if given is not None else margin}
    return {name: {**typed, **derived}[name] for name in spec.names if name in {**typed, **derived}}


def _raise_on_bad_values(mapped: MappedFile, kind: str, spec: TableSpec, counts: dict[str, Any]) -> None:
    path, source = mapped.source.label, mapped.source
    if counts["__rows"] == 0:
        raise InputError(f"{path}: no data rows (an empty {kind} file)")
    for col in spec.columns:
        if counts.get(f"__bad_{col.name}"):
            bad = str(counts[f"__show_{col.name}"])
            raise InputError(
                f"{path}: {_where(source, mapped.headers[col.name], bad)}: {col.name}: '{bad}' is not a valid "
                f"{col.type.split('(')[0]} ({counts[f'__bad_{col.name}']} such rows)"
                + (f"; {date_hint()}" if col.type == "date" else "")
            )
        if counts.get(f"__empty_{col.name}"):
            raise InputError(
                f"{path}: {_where(source, mapped.headers[col.name], '')}: {col.name}: empty, and {kind} need it "
                f"({counts[f'__empty_{col.name}']} such rows)"
            )


def _duplicates(
    engine: Backend, path: Path | str, kind: str, spec: TableSpec, table: ir.Table, duplicates: int
) -> tuple[ir.Table, tuple[str, ...]]:
    """Customers must be unique; a repeated order id keeps one copy, and says so when copies differ."""
    key = spec.key or ""
    repeated = table.group_by(key).aggregate(copies=table.count()).filter(lambda t: t.copies > 1)
    if kind == "customers":
        example = engine.to_pyarrow(repeated.order_by(key).limit(1))[key][0].as_py()
        raise InputError(f"{path}: customer_id '{example}' appears more than once ({duplicates} repeated rows)")
    distinct_rows = engine.execute_scalar(table.distinct().count())
    differing = distinct_rows - (engine.execute_scalar(table.count()) - duplicates)
    note = f"{path}: {duplicates} rows repeat an earlier {key}; one copy of each is kept"
    if differing:
        example = engine.to_pyarrow(repeated.order_by(key).limit(1))[key][0].as_py()
        note += f" ({differing} copies differ from the kept one, e.g. {key} '{example}')"
    return _dedupe(table, spec), (note,)


def _dedupe(table: ir.Table, spec: TableSpec) -> ir.Table:
    """One row per id; which copy survives is fixed by an ordering over every column."""
    key = spec.key or ""
    order: list[ir.Value] = []
    for name in table.columns:
        if name != key:  # NULLs first on every engine (they sort differently by default)
            order += [table[name].notnull(), table[name]]
    rank = ibis.row_number().over(group_by=table[key], order_by=order)
    keep = table.mutate(__copy=rank)
    keep = keep.filter((keep[key].isnull()) | (keep["__copy"] == 0))
    return keep.drop("__copy")
