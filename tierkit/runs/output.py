"""Write graded results to CSV, XLSX, Parquet or JSON, all or nothing.

Text cells that a spreadsheet would run as a formula (starting with = + - @, tab or CR) are
prefixed with a quote in CSV and XLSX (CWE-1236). Files are written beside the target and
renamed into place, so a failure never leaves half a file under the requested name.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

from tierkit.backends.duckdb import DuckDBBackend
from tierkit.errors import InputError, did_you_mean, room_for
from tierkit.runs.atomic import atomic_path as atomic_path
from tierkit.runs.effect import as_listed, with_manual
from tierkit.runs.workbook import Readable, with_people, write_workbook

if TYPE_CHECKING:  # pyarrow (0.1 s with numpy) is imported where a table is built, not by `tierkit grade`
    import pyarrow as pa

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
    close_workbook(book)


def close_workbook(book: Any) -> None:
    """`book.close()`, which writes the zip; when that fails (a full disk), the half-written zip
    xlsxwriter left open is let go without writing, else its `__del__` tried again at exit and
    printed a second traceback ("Exception ignored in ZipFile.__del__") under the one-line error."""
    try:
        book.close()
    except Exception as exc:  # xlsxwriter's FileCreateError, raised during the OSError
        failed: BaseException | None = exc
        while failed is not None:
            tb = failed.__traceback__
            while tb is not None:
                for value in list(tb.tb_frame.f_locals.values()):
                    if isinstance(value, zipfile.ZipFile) and value.fp is not None:
                        handle, value.fp = value.fp, None
                        with contextlib.suppress(OSError):  # its buffer cannot be written either
                            handle.close()
                tb = tb.tb_next
            failed = failed.__context__
        raise


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


def _escaped(table: ir.Table) -> ir.Table:
    """Formula-like text quoted (for CSV and XLSX), every other column as it is."""
    columns = {}
    for name, kind in table.schema().items():
        value = table[name]
        if kind.is_string():
            value = ibis.ifelse(value.re_search(FORMULA_START), ibis.literal("'") + value, value)
        columns[name] = value
    return table.select(**columns)


def convert_parquet(
    source: Path,
    path: str | Path,
    fmt: str | None = None,
    tier: str | None = None,
    manual: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    readable: Readable | None = None,
) -> int:
    """Write a graded Parquet file as CSV, JSON, JSONL, XLSX or Parquet, atomically.

    DuckDB reads and writes in parallel and in bounded memory. With `manual` (overrides in force:
    customer -> tier) the tier columns are the tiers in effect, labelled from `labels`, beside the
    graded ones; `tier` keeps one tier (in effect) only. With `readable` (an export for people),
    XLSX is the manager's workbook (runs.workbook), names and phones join for staff, and CSV
    starts with a UTF-8 BOM so that Excel opens Chinese as Chinese. Returns the rows written.
    """
    path = Path(path)
    fmt = output_format(path, fmt)
    backend = DuckDBBackend.open()  # run files are converted in process, whichever engine graded them
    table = backend.read_parquet(source)
    if manual is not None:
        table = as_listed(with_manual(table, manual), labels or {})
    if tier is not None:
        known = [
            str(k) for k in backend.to_pyarrow(table.select("tier").distinct().order_by("tier"))["tier"].to_pylist()
        ]
        if tier not in known:
            raise InputError(
                f"--tier: no customer has tier '{tier}'{did_you_mean(tier, known)} (tiers: {', '.join(known)})"
            )
        table = table.filter(table.tier == tier)
    if readable is not None:
        table = with_people(table, readable)
    count = backend.execute_scalar(table.count())
    chosen = _escaped(table) if fmt in ("csv", "xlsx") else table
    with room_for(f"the export {path}"), atomic_path(path) as tmp:  # a full disk: one line, no half file
        if fmt == "xlsx" and readable is not None:
            write_workbook(backend, chosen, tmp, readable)
        elif fmt == "xlsx":
            _write_xlsx(backend.to_batches(chosen), list(table.columns), tmp)
        elif fmt == "csv" and readable is not None:
            with scratch_path(tmp.parent, ".csv") as plain:
                backend.copy_to(chosen, plain, fmt)
                with tmp.open("wb") as out, plain.open("rb") as body:
                    out.write(b"\xef\xbb\xbf")  # the BOM: Excel reads the file as UTF-8
                    shutil.copyfileobj(body, out, 1 << 20)
        else:
            backend.copy_to(chosen, tmp, fmt)
    return int(count or 0)
