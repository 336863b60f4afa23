"""Write graded results to CSV, XLSX, Parquet or JSON, all or nothing.

Text cells that a spreadsheet would run as a formula (starting with = + - @, tab or CR) are
prefixed with a quote in CSV and XLSX (CWE-1236). Files are written beside the target and
renamed into place, so a failure never leaves half a file under the requested name.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tierkit.errors import InputError, did_you_mean

FORMULA_START = r"^[=+\-@\t\r]"
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".json": "json", ".jsonl": "jsonl", ".xlsx": "xlsx"}


def output_format(path: Path, given: str | None = None) -> str:
    """The format of an output file, checked before any work: a folder or a missing parent is an error."""
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give a file name such as {path / 'graded.csv'}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        raise InputError(f"{path}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise InputError(f"{path}: cannot write in {parent}")
    fmt = given or FORMATS.get(path.suffix.lower())
    if fmt not in set(FORMATS.values()):
        raise InputError(f"{path}: unknown output type (use .csv, .xlsx, .parquet, .json or .jsonl)")
    return fmt


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; others (BI tools) must read it
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _write_xlsx(batches: Iterable[pa.RecordBatch], names: list[str], path: Path) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(
        str(path), {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    sheet = book.add_worksheet("customers")
    for col, name in enumerate(names):
        sheet.write_string(0, col, name)
    row_index = 1
    for batch in batches:
        for row in batch.to_pylist():
            for col, value in enumerate(row.values()):
                if value is None:
                    continue
                if isinstance(value, bool):
                    sheet.write_boolean(row_index, col, value)
                elif isinstance(value, int | float):
                    sheet.write_number(row_index, col, value)
                elif isinstance(value, Decimal):
                    sheet.write_number(row_index, col, float(value))
                else:
                    sheet.write_string(row_index, col, str(value))
            row_index += 1
    book.close()


@contextmanager
def scratch_path(folder: Path, suffix: str) -> Iterator[Path]:
    """A temporary file beside the output (same disk), removed whatever happens."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tierkit-", suffix=suffix, dir=folder)
    os.close(fd)
    try:
        yield Path(tmp)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def escape_formula(text: str) -> str:
    """A text cell as a spreadsheet should show it: a leading quote keeps it from running."""
    return "'" + text if re.match(FORMULA_START, text) else text


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _escaped_select(schema: pa.Schema) -> str:
    """A SELECT list that quotes formula-like text (for CSV and XLSX) and keeps the rest."""
    items = []
    for field in schema:
        name = _quoted(field.name)
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            items.append(
                f"CASE WHEN regexp_matches({name}, '{FORMULA_START}') THEN concat('''', {name}) "
                f"ELSE {name} END AS {name}"
            )
        else:
            items.append(name)
    return ", ".join(items)


COPY_OPTIONS = {
    "csv": "FORMAT csv, HEADER true",
    "json": "FORMAT json, ARRAY true",
    "jsonl": "FORMAT json",
    "parquet": "FORMAT parquet",
}


def convert_parquet(source: Path, path: str | Path, fmt: str | None = None, tier: str | None = None) -> int:
    """Write a graded Parquet file as CSV, JSON, JSONL, XLSX or Parquet, atomically.

    DuckDB reads and writes in parallel and in bounded memory. `tier` keeps one tier only.
    Returns the rows written.
    """
    import duckdb

    path = Path(path)
    fmt = output_format(path, fmt)
    schema = pq.read_schema(source)
    con = duckdb.connect()
    relation = parquet_source(source)
    if tier is not None:
        known = [row[0] for row in con.execute(f"SELECT DISTINCT tier FROM {relation} ORDER BY 1").fetchall()]
        if tier not in known:
            raise InputError(
                f"--tier: no customer has tier '{tier}'{did_you_mean(tier, [str(k) for k in known])}"
                f" (tiers: {', '.join(str(k) for k in known)})"
            )
        relation += f" WHERE tier = {_literal(tier)}"
    count = con.execute(f"SELECT count(*) FROM {relation}").fetchone()
    select = _escaped_select(schema) if fmt in ("csv", "xlsx") else "*"
    with atomic_path(path) as tmp:
        if fmt == "xlsx":
            cursor = con.execute(f"SELECT {select} FROM {relation}")
            _write_xlsx(cursor.fetch_record_batch(65_536), schema.names, tmp)
        else:
            con.execute(f"COPY (SELECT {select} FROM {relation}) TO {_literal(str(tmp))} ({COPY_OPTIONS[fmt]})")
    return int(count[0]) if count else 0


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def parquet_source(path: Path) -> str:
    """`read_parquet('...')` for DuckDB SQL, the path quoted whatever it holds (bob's runs), and
    read as that very file even when its name holds * ? or [."""
    from tierkit.backends.duckdb_dialect import exact_path

    return f"read_parquet({_literal(exact_path(path))})"
