"""A user's file made readable by the engines: format, encoding, delimiter, and a UTF-8 copy when needed.

The engines read UTF-8 CSV and Parquet. A GBK or UTF-16 CSV is decoded, and an Excel sheet
written out, once per process into a scratch folder that is removed at exit; `label` stays the
user's path so that every message names the file the user gave.
"""

from __future__ import annotations

import atexit
import csv
import hashlib
import io
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tierkit.errors import InputError
from tierkit.tables import encodings, workbooks

FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
}
DELIMITERS = (",", "\t", ";", "|")
_scratch: Path | None = None


@dataclass(frozen=True)
class SourceFile:
    """Where the engine reads (`path`) and what messages call it (`label`)."""

    label: Path
    path: Path
    format: str  # csv or parquet, as the engine reads it
    encoding: str = "utf-8"
    delimiter: str = ","
    sheet: str | None = None

    @property
    def is_text(self) -> bool:
        return self.format == "csv"

    def instants(self) -> frozenset[str]:
        """Parquet timestamp columns stored as instants (with a time zone), by the file's own schema."""
        if self.is_text:
            return frozenset()
        import pyarrow as pa
        import pyarrow.parquet as pq

        first = next(iter(sorted(self.path.glob("*.parquet"))), None) if self.path.is_dir() else self.path
        if first is None:
            return frozenset()
        schema = pq.read_schema(first)
        return frozenset(f.name for f in schema if pa.types.is_timestamp(f.type) and f.type.tz is not None)


def _scratch_dir() -> Path:
    global _scratch
    if _scratch is None:
        _scratch = Path(tempfile.mkdtemp(prefix="tierkit-sources-"))
        atexit.register(shutil.rmtree, _scratch, True)
    return _scratch


def _copy_path(path: Path, what: str) -> Path:
    key = hashlib.sha256(f"{path.resolve()}|{path.stat().st_mtime_ns}|{what}".encode()).hexdigest()[:16]
    return _scratch_dir() / f"{key}.csv"


def plain_name(path: Path) -> Path:
    """`path`, or a link to it in the scratch folder when its name holds a character a reader may
    take as a pattern: Spark's multi-line CSV reader globs a path again after unescaping it."""
    if not re.search(r"[\[\]*?{}\\]", str(path)):
        return path
    link = _copy_path(path, "link").with_suffix(path.suffix)
    if not link.exists():
        link.symlink_to(path.resolve())
    return link


def open_source(path: str | Path, sheet: str | int | None = None) -> SourceFile:
    """Check that `path` is a file we can read, and prepare it for the engines."""
    path = Path(path)
    if path.is_dir():
        if any(path.glob("*.parquet")):
            return SourceFile(path, path, "parquet")
        raise InputError(f"{path}: is a folder, not a file")
    if not path.exists():
        raise InputError(f"{path}: no such file")
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"{path}: unknown file type '{path.suffix}' (use .csv, .tsv, .txt, .xlsx or .parquet)")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty")
    if fmt == "parquet":
        return SourceFile(path, path, "parquet")
    if fmt == "xlsx":
        chosen = None if sheet is None else str(sheet)
        target = _copy_path(path, f"sheet={chosen}")
        if not target.exists():
            workbooks.sheet_to_csv(path, sheet, target)
        if target.stat().st_size == 0:
            names = workbooks.sheet_names(path)
            shown = chosen or names[0]
            raise InputError(f"{path}: sheet '{shown}' is empty (sheets: {', '.join(names)}); choose one with --sheet")
        return SourceFile(path, target, "csv", "xlsx", ",", chosen)
    if path.read_bytes()[:4] in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff") and path.stat().st_size <= 4:
        raise InputError(f"{path}: the file is empty (only a byte-order mark, no header)")
    encoding = encodings.detect(path)
    readable = path
    if encoding not in ("utf-8", "utf-8-sig"):
        readable = _copy_path(path, encoding)
        if not readable.exists():
            partial = readable.with_suffix(".partial")
            encodings.to_utf8(path, encoding, partial)
            partial.replace(readable)
    return SourceFile(path, readable, "csv", encoding, sniff_delimiter(readable, path))


def sniff_delimiter(path: Path, label: Path) -> str:
    """The delimiter of the header line: the candidate that splits it most (quotes respected).

    Only the header decides: data rows are then held to it, so a ragged row is an error and not
    a reason to guess again."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        first = handle.readline()
    best, best_fields = ",", 1
    for candidate in DELIMITERS:
        fields = len(next(csv.reader(io.StringIO(first), delimiter=candidate), []))
        if fields > best_fields:
            best, best_fields = candidate, fields
    if best_fields == 1 and label.suffix.lower() == ".tsv":
        return "\t"
    return best
