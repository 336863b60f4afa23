"""Read a CSV or Parquet file into a canonical Ibis table, or say exactly what is wrong.

Typing happens in Ibis (`try_cast`), so DuckDB and Spark type a file the same way. One
aggregate pass counts rows and failed casts; only when something failed do we look for the
first bad row, reading the file again in Python to name its row number.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

import ibis
import ibis.expr.types as ir

from tierkit.engine.backend import Engine
from tierkit.errors import InputError, did_you_mean
from tierkit.tables.schema import TABLES, TableSpec

FORMATS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True)
class SourceTable:
    """A canonical table with where it came from, for manifests and error messages."""

    spec: TableSpec
    path: Path
    table: ir.Table
    rows: int
    duplicates: int
    present: frozenset[str]  # canonical columns the file really has
    first: dt.date | None = None  # the earliest date in the time column

    def value(self, table: ir.Table, name: str) -> ir.Value:
        """A canonical column of `table`, or a typed NULL when the file does not have it."""
        return table[name] if name in self.present else ibis.null(self.spec.column(name).type)

    def fingerprint(self) -> str:
        return file_fingerprint(self.path)


def file_fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _raw(engine: Engine, path: Path) -> ir.Table:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"{path}: unknown file type '{path.suffix}' (use .csv or .parquet)")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty")
    try:
        return engine.read_csv(path) if fmt == "csv" else engine.read_parquet(path)
    except Exception as exc:  # the engines raise their own types; the file is the cause
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: cannot be read as {fmt}: {first}") from None


def missing_id_error(path: Path, count: int) -> InputError:
    """Orders without a customer_id cannot be graded: name the first such row."""
    return InputError(f"{path}: {_first_bad_row(path, 'customer_id', '')}: customer_id: empty ({count} such rows)")


def _first_bad_row(path: Path, column: str, bad: str) -> str:
    """'row N' of the first data row whose `column` holds `bad` (CSV only)."""
    if FORMATS.get(path.suffix.lower()) != "csv":
        return "a row"
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        if column not in header:
            return "a row"
        index = header.index(column)
        for number, row in enumerate(reader, start=1):
            if index < len(row) and row[index].strip() == bad.strip():
                return f"row {number} (line {reader.line_num})"
    return "a row"


def read_table(engine: Engine, kind: str, path: str | Path) -> SourceTable:
    """Read `path` as the canonical table `kind` (orders, customers, interactions, contacts)."""
    spec = TABLES[kind]
    path = Path(path)
    raw = _raw(engine, path)
    columns = list(raw.columns)
    for required in spec.required:
        if required not in columns:
            unknown = [c for c in columns if c not in spec.names]
            raise InputError(
                f"{path}: missing required column '{required}' for {kind}{did_you_mean(required, unknown)}"
                f" (columns found: {', '.join(columns)})"
            )
    typed: dict[str, ir.Value] = {}
    checks: dict[str, ir.Value] = {"__rows": raw.count()}
    for col in spec.columns:
        if col.name not in columns:
            continue
        source = raw[col.name]
        if col.type == "string":
            # CSV cells are text typed by hand and padded by spreadsheets; Parquet strings are
            # typed data and pass as they are (trimming 10M ids costs more than grading them).
            is_text_file = FORMATS.get(path.suffix.lower()) == "csv"
            typed[col.name] = source.strip() if is_text_file else source.cast("string")
            continue
        if source.type().is_string():
            text = source.strip()
            text = ibis.ifelse(text == "", ibis.null("string"), text)
            value = text.try_cast("timestamp").date() if col.type == "date" else text.try_cast(col.type)
            checks[col.name] = (text.notnull() & value.isnull()).sum()
            checks[f"__bad_{col.name}"] = text.min(where=text.notnull() & value.isnull())
            typed[col.name] = value
        elif col.type == "date" and source.type().is_timestamp():
            typed[col.name] = source.date()
        else:
            typed[col.name] = source.cast(col.type)
    if spec.time_column and spec.time_column in typed:
        checks["__first"] = typed[spec.time_column].min()  # from Parquet statistics: no scan
    if spec.key and spec.key in typed:
        checks["__keys"] = typed[spec.key].nunique()
        checks["__keyed"] = typed[spec.key].count()
    counts = engine.to_pyarrow(raw.aggregate(**checks)).to_pylist()[0]
    if counts["__rows"] == 0:
        raise InputError(f"{path}: no data rows (an empty {kind} file)")

    for col in spec.columns:
        if counts.get(col.name):
            bad = counts[f"__bad_{col.name}"]
            where = _first_bad_row(path, col.name, bad)
            raise InputError(
                f"{path}: {where}: {col.name}: '{bad}' is not a valid {col.type.split('(')[0]}"
                f" ({counts[col.name]} such rows)"
            )
    table = raw.select(**typed)  # absent optional columns are typed NULLs, see SourceTable.value
    duplicates = 0
    if spec.key and spec.key in typed and counts.get("__keyed"):
        duplicates = counts["__keyed"] - counts["__keys"]
    if duplicates and kind == "customers":
        raise InputError(f"{path}: {duplicates} customer_id values appear more than once")
    if duplicates:
        table = _dedupe(table, spec)
    return SourceTable(spec, path, table, counts["__rows"], duplicates, frozenset(typed), counts.get("__first"))


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
