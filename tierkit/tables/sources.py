"""A user's file made readable by the engines: format, encoding, delimiter, and a UTF-8 copy when needed.

The engines read UTF-8 CSV and Parquet. A GBK or UTF-16 CSV is decoded, and an Excel sheet
written out, once per process into a scratch folder that is removed at exit; `label` stays the
user's path so that every message names the file the user gave.

Two text layouts neither engine reads are written out the same way, as plain CSV: fields
separated by runs of spaces or tabs (CDNOW's own format: ` 00004 0001 19970101  2   29.33`;
DuckDB and Spark split on one character), and a file whose first line is data, not a header
(no field holds a letter), which gets the header column1, column2, ... so that `--map
column1=customer_id` can name its columns. `text_options` holds what the command was told
(`--delimiter`, `--date-format`) for the readers below it.
"""

from __future__ import annotations

import atexit
import csv
import hashlib
import io
import itertools
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from tierkit.errors import InputError
from tierkit.tables import encodings, workbooks
from tierkit.tables.lines import MAX_LINE_BYTES, check_lines
from tierkit.tables.locations import collapsed_hint, is_uri, uri_format
from tierkit.tables.parsing import DATE_FORMAT, check_date_format

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
WHITESPACE = "whitespace"  # runs of spaces and tabs, as `--delimiter whitespace` says it
SPELLED = {",": ",", ";": ";", "|": "|", "\\t": "\t", "\t": "\t", "tab": "\t", WHITESPACE: WHITESPACE}
SAMPLE_LINES = 20  # lines the sniffer compares to recognise a whitespace-separated file
NOT_A_LETTER = re.compile(r"[年月日万元]")  # in dates and amounts, not in header names
# `--delimiter` of the command running (None: sniffed); set by text_options
DELIMITER: ContextVar[str | None] = ContextVar("tierkit_delimiter", default=None)
_scratch: Path | None = None
# Python's csv module stops at 131,072 bytes a field by default: raised to the line limit (see
# lines: DuckDB's, checked before anything reads a file), so a long (legal) cell never ends the
# pass that sniffs the delimiter or names a broken row in a traceback.
csv.field_size_limit(max(csv.field_size_limit(), MAX_LINE_BYTES))


def delimiter_option(given: str) -> str:
    """The delimiter `--delimiter` names: ',', ';', '|', a tab (written '\\t', 'tab' or as one)
    or whitespace (runs of spaces and tabs)."""
    chosen = SPELLED.get(given if given in SPELLED else given.strip().lower())
    if chosen is None:
        raise InputError(f"--delimiter '{given}': use ',', ';', '|', '\\t' (tab) or whitespace")
    return chosen


@dataclass(frozen=True)
class TextOptions:
    """What a command said about its text files: --delimiter (None: sniffed) and --date-format
    (None: the known forms only). Kept with an import, to repeat it the same way."""

    delimiter: str | None = None
    date_format: str | None = None

    @classmethod
    def given(cls, delimiter: str | None = None, date_format: str | None = None) -> TextOptions:
        """The options as a user typed them, checked ('\\t' and 'tab' are a tab)."""
        return cls(
            delimiter_option(delimiter) if delimiter is not None else None,
            check_date_format(date_format) if date_format is not None else None,
        )

    def as_dict(self) -> dict[str, str]:
        """The options given, for a signature or a record (none given: empty)."""
        return {k: v for k, v in (("delimiter", self.delimiter), ("date_format", self.date_format)) if v is not None}


@contextmanager
def text_options(delimiter: str | None = None, date_format: str | None = None) -> Iterator[None]:
    """Read the text files opened inside with this delimiter (else sniffed) and this date format
    (else the known forms only): what a command's --delimiter and --date-format say, for the
    readers and parsers below it. Both are checked first."""
    chosen = delimiter_option(delimiter) if delimiter is not None else None
    fmt = check_date_format(date_format) if date_format is not None else None
    delimiter_token, format_token = DELIMITER.set(chosen), DATE_FORMAT.set(fmt)
    try:
        yield
    finally:
        DELIMITER.reset(delimiter_token)
        DATE_FORMAT.reset(format_token)


@dataclass(frozen=True)
class SourceFile:
    """Where the engine reads (`path`) and what messages call it (`label`); a URI (`uri`, for
    Spark: see `locations`) is its own label, and its `path` is never opened."""

    label: Path | str
    path: Path
    format: str  # csv or parquet, as the engine reads it
    encoding: str = "utf-8"
    delimiter: str = ","
    sheet: str | None = None
    header_added: bool = False  # the file has no header: `path` is a copy with column1, column2, ...
    uri: str | None = None  # s3a://..., hdfs://...: read by Spark as given, nothing checked locally

    @property
    def first_data_line(self) -> int:
        """The line of the user's file that data row 1 is on."""
        return 1 if self.header_added else 2

    @property
    def is_text(self) -> bool:
        return self.format == "csv"

    def instants(self) -> frozenset[str]:
        """Parquet timestamp columns stored as instants (with a time zone), by the file's own schema."""
        if self.is_text or self.uri is not None:  # a URI's: by Spark's schema (readers)
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


def open_source(path: str | Path, sheet: str | int | None = None, delimiter: str | None = None) -> SourceFile:
    """Check that `path` is a file we can read, and prepare it for the engines. `delimiter` (or
    the command's --delimiter) wins over the sniffer for text files. A URI (text, see
    `locations`) is not opened here: Spark reads it as given."""
    if isinstance(path, str) and is_uri(path):
        return _uri_source(path, delimiter)
    path = Path(path)
    if path.is_dir():
        if any(path.glob("*.parquet")):
            return SourceFile(path, path, "parquet")
        raise InputError(f"{path}: is a folder, not a file")
    if not path.exists():
        raise InputError(f"{path}: no such file{collapsed_hint(path)}")
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
    if path.stat().st_size <= 4 and path.read_bytes() in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        raise InputError(f"{path}: the file is empty (only a byte-order mark, no header)")
    encoding = encodings.detect(path)
    readable = path
    if encoding not in ("utf-8", "utf-8-sig"):
        readable = _copy_path(path, encoding)
        if not readable.exists():
            partial = readable.with_suffix(".partial")
            encodings.to_utf8(path, encoding, partial)
            partial.replace(readable)
    check_lines(readable, path)  # a line too long for the engines, or no line at all, named first
    given = delimiter if delimiter is not None else DELIMITER.get()
    chosen = delimiter_option(given) if given is not None else sniff_delimiter(readable, path)
    numbered = _numbered(readable, chosen)
    if chosen != WHITESPACE and numbered is None:
        return SourceFile(path, readable, "csv", encoding, chosen)
    plain = _copy_path(path, f"{encoding}|{chosen}|{numbered is not None}")
    if not plain.exists():
        partial = plain.with_suffix(".partial")
        _as_csv(readable, chosen, numbered, partial)
        partial.replace(plain)
    return SourceFile(
        path, plain, "csv", encoding, "," if chosen == WHITESPACE else chosen, header_added=numbered is not None
    )


def _uri_source(uri: str, delimiter: str | None) -> SourceFile:
    """A URI's format and delimiter, from its name and --delimiter alone (nothing to sniff)."""
    given = delimiter if delimiter is not None else DELIMITER.get()
    fmt, chosen = uri_format(uri, FORMATS, delimiter_option(given) if given is not None else None)
    return SourceFile(uri, Path(), fmt, delimiter=chosen, uri=uri)


def _split(line: str, delimiter: str) -> list[str]:
    if delimiter == WHITESPACE:
        return line.split()
    return next(csv.reader(io.StringIO(line), delimiter=delimiter), [])


def _numbered(path: Path, delimiter: str) -> list[str] | None:
    """column1, column2, ... when the first line is data (no field holds a letter), else None."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        fields = [NOT_A_LETTER.sub("", field) for field in _split(handle.readline(), delimiter)]
    if any(ch.isalpha() for field in fields for ch in field) or not any(ch.isdigit() for f in fields for ch in f):
        return None
    return [f"column{i}" for i in range(1, len(fields) + 1)]


def _as_csv(source: Path, delimiter: str, names: list[str] | None, target: Path) -> None:
    """`source` as CSV in `target`, streaming: fields split on runs of whitespace (one line per
    line, so line numbers hold), after a header of `names` when given."""
    with source.open(encoding="utf-8-sig", newline="") as lines, target.open("w", encoding="utf-8", newline="") as out:
        if names is not None:
            out.write(("," if delimiter == WHITESPACE else delimiter).join(names) + "\n")
        if delimiter != WHITESPACE:
            shutil.copyfileobj(lines, out, 1 << 20)
            return
        writer = csv.writer(out, lineterminator="\n")
        for line in lines:
            writer.writerow(line.split())


def sniff_delimiter(path: Path, label: Path) -> str:
    """The delimiter of the header line: the candidate that splits it most (quotes respected).

    Only the header decides: data rows are then held to it, so a ragged row is an error and not
    a reason to guess again. When none splits it, the file may be whitespace-separated: it is,
    when the first lines all split into the same number (2 or more) of fields on runs of spaces
    and tabs; when they split into different numbers ('order id  amount' over 'A1  100'), we
    cannot know what the columns are, and say so rather than read one column."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        lines = [line for line in itertools.islice(handle, SAMPLE_LINES) if line.strip()]
    first = lines[0] if lines else ""
    best, best_fields = ",", 1
    for candidate in DELIMITERS:
        fields = len(_split(first, candidate))
        if fields > best_fields:
            best, best_fields = candidate, fields
    if best_fields == 1 and label.suffix.lower() == ".tsv":
        return "\t"
    if best_fields > 1:
        return best
    widths = [len(line.split()) for line in lines]
    if not widths:
        return best
    if widths[0] > 1 and len(set(widths)) == 1:
        return WHITESPACE
    if widths[0] > 1 and any(width > 1 for width in widths[1:]):  # spaced header and data: not one column
        raise InputError(f"{label}: the delimiter was not recognised: whitespace? use --delimiter")
    return best
