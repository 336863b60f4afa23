"""The input tables of one grading: which files, read how (the policy's `inputs:`, --map, --sheet).

Strict reading (see tables.readers): the first bad value is an error naming its file and row.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import ibis

from tierkit.backends import Backend
from tierkit.canonical import TABLES
from tierkit.engine.inputs import Inputs
from tierkit.errors import InputError, did_you_mean
from tierkit.policy.inputs import InputRules
from tierkit.tables.readers import SourceTable, read_raw, read_table
from tierkit.tables.sources import FORMATS, open_source

if TYPE_CHECKING:  # pyarrow only where rows are given in memory: not on a plain `tierkit grade`
    import pyarrow as pa


def read_inputs(
    engine: Backend,
    orders: str | Path,
    customers: str | Path | None = None,
    interactions: str | Path | None = None,
    contacts: str | Path | None = None,
    rules: InputRules | None = None,
    maps: dict[str, str] | None = None,
    sheet: str | None = None,
) -> Inputs:
    """The source tables, read as the policy's `inputs:` says (column maps, time zone).

    `maps` (--map COLUMN=canonical) apply to every file that has the column and win over the
    policy's maps; each must name a column of some file. `sheet` picks the sheet of workbooks."""
    rules, maps = rules or InputRules(), maps or {}
    paths = {"orders": orders, "customers": customers, "interactions": interactions, "contacts": contacts}
    if sheet is not None and not any(p is not None and _is_workbook(Path(p)) for p in paths.values()):
        raise InputError(f"--sheet '{sheet}': no input file is an Excel workbook (.xlsx, .xlsm)")

    def read(kind: str, path: str | Path | None) -> SourceTable | None:
        if path is None:
            return None
        given = {column: name for column, name in maps.items() if name in TABLES[kind].names}
        columns = {**rules.columns.get(kind, {}), **given}
        xlsx_sheet = sheet if _is_workbook(Path(path)) else None
        return read_table(engine, kind, path, sheet=xlsx_sheet, to_minutes=rules.offset, defaults=columns or None)

    if maps:  # a map naming no column is the likelier cause of a "missing column": say it first
        _check_maps(maps, {kind: _headers(engine, p, sheet) for kind, p in paths.items() if p is not None})
    tables = {kind: read(kind, path) for kind, path in paths.items()}
    first = tables["orders"]
    assert first is not None
    return Inputs(first, tables["customers"], tables["interactions"], tables["contacts"], engine)


def _is_workbook(path: Path) -> bool:
    return FORMATS.get(path.suffix.lower()) == "xlsx"


def _headers(engine: Backend, path: str | Path, sheet: str | None) -> list[str]:
    """The columns of a file (a URI stays text: Path() would collapse its '//')."""
    source = open_source(path, sheet if _is_workbook(Path(path)) else None)
    return [c for c in read_raw(engine, source).columns if c not in ("attributes", "_source", "_row")]


def _check_maps(maps: dict[str, str], headers: dict[str, list[str]]) -> None:
    """Every --map names a column of a file of a table that has the canonical column."""
    every = list(dict.fromkeys(h for columns in headers.values() for h in columns))
    for column, canonical in maps.items():
        if column not in every:
            raise InputError(
                f"--map names '{column}', which no input file has{did_you_mean(column, every)} "
                f"(columns: {', '.join(every)})"
            )
        if not any(column in columns and canonical in TABLES[kind].names for kind, columns in headers.items()):
            owners = [kind for kind in TABLES if canonical in TABLES[kind].names]
            raise InputError(
                f"--map '{column}={canonical}': {canonical} is a column of {' and '.join(owners)}, "
                f"and no {' or '.join(owners)} file given has a column '{column}'"
            )


def rows_digest(rows: pa.Table) -> str:
    """sha256 of rows as Arrow IPC bytes: the same rows give the same digest in every run."""
    import hashlib

    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, rows.schema) as writer:
        writer.write_table(rows)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


def with_rows(inputs: Inputs, kind: str, rows: pa.Table, label: str) -> Inputs:
    """Inputs with more rows of one table (complaints taken in tierkit, beside the imported
    interactions), typed as the canonical table; a table the files lack is made from them."""
    spec = TABLES[kind]
    given = [c.name for c in spec.columns if c.name in rows.column_names]
    memo = ibis.memtable(rows.select(given))
    added = memo.select(**{name: memo[name].cast(spec.column(name).type) for name in given})
    current: SourceTable | None = inputs.table(kind)
    made_here = (rows.num_rows + (current.added[0] if current and current.added else 0), rows_digest(rows))
    if current is None:
        first = min(rows[spec.time_column or ""].to_pylist()) if rows.num_rows else None
        table = SourceTable(spec, Path(label), added, rows.num_rows, 0, frozenset(given), first, added=made_here)
    else:
        old = current.table
        types = {c: old[c].type() for c in old.columns} | {c: added[c].type() for c in given if c not in old.columns}
        old = old.mutate(**{c: ibis.null(types[c]) for c in given if c not in old.columns})
        aligned = added.select(
            **{c: (added[c] if c in given else ibis.null(types[c])).cast(types[c]) for c in old.columns}
        )
        table = dataclasses.replace(
            current,
            table=old.union(aligned),
            rows=current.rows + rows.num_rows,
            present=current.present | frozenset(given),
            added=made_here,
        )
    found = {name: inputs.table(name) for name in ("orders", "customers", "interactions", "contacts")}
    found[kind] = table
    orders = found["orders"]
    assert orders is not None
    return Inputs(orders, found["customers"], found["interactions"], found["contacts"], inputs.backend)
