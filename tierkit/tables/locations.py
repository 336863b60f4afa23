"""Inputs given as URIs (`s3a://bucket/orders/`, `hdfs://nn/x.parquet`, `dbfs:/...`): handed to
Spark as they are, since only Spark (with the Hadoop connector of the scheme) reaches them.

A local file is checked and sniffed on the driver before an engine reads it (see `sources`):
its encoding, delimiter, header and a UTF-8 copy when needed. The driver cannot open a URI, so
what needs those local steps is refused in one line with the way out (convert to Parquet, or
give the file locally), and what does not is read by Spark directly: Parquet (a file or a folder
of parts), and UTF-8 delimited text whose delimiter is known without sniffing (`.csv`: a comma,
`.tsv`: a tab, or `--delimiter`). The header of such text is checked the way a local file's is,
from its first line as Spark reads it.

A URI must reach here as text: `Path('s3a://b/x')` is `s3a:/b/x` (the double slash collapsed),
so the commands take inputs as `str` and only local paths become `Path`.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from tierkit.errors import InputError

if TYPE_CHECKING:
    import ibis.expr.types as ir

# A scheme of two letters or more (so that C:// stays a Windows drive), or Databricks' dbfs:/
URI = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]+://|dbfs:/)")
# What Path() leaves of a URI ('s3a:/bucket/x'): named in the 'no such file' message
COLLAPSED = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]+:/[^/]")
CONVERT = "convert it to Parquet (or UTF-8 .csv) where it is, or give it by a local path"


def is_uri(location: object) -> bool:
    """Whether an input names a URI for Spark rather than a local path (a `Path` never does)."""
    return isinstance(location, str) and URI.match(location) is not None


def scheme(uri: str) -> str:
    return uri.split(":", 1)[0].lower()


def suffix(uri: str) -> str:
    """The extension of the URI's last name ('' for a folder: `s3a://bucket/orders/`)."""
    path = uri.split("?", 1)[0].split("#", 1)[0]
    return "" if path.endswith("/") else PurePosixPath(path).suffix.lower()


def collapsed_hint(path: object) -> str:
    """A note for a missing local path that is a URI whose '//' was lost on the way."""
    if COLLAPSED.match(str(path)):
        return " (a URI? give it with '//' to --engine spark, e.g. s3a://bucket/orders/)"
    return ""


@runtime_checkable
class ReadsUris(Protocol):
    """A backend that reads URIs itself (Spark): tierkit.backends.spark has it, DuckDB not."""

    def read_uri(self, uri: str, fmt: str, delimiter: str = ",") -> ir.Table: ...

    def first_line(self, uri: str) -> str | None: ...

    def instants_at(self, uri: str) -> frozenset[str]: ...


def refuse_engine(uri: str) -> InputError:
    """A URI on an engine that cannot read one (DuckDB needs its httpfs extension, downloaded
    at run time, which tierkit does not rely on)."""
    return InputError(
        f"{uri}: a URI input is read by --engine spark only (DuckDB would download its httpfs extension "
        "at run time): use --engine spark, or copy the file here and give its local path"
    )


def uri_format(uri: str, formats: dict[str, str], delimiter: str | None) -> tuple[str, str]:
    """(format, delimiter) Spark reads `uri` with, or the one-line reason it cannot: no suffix is
    a folder of Parquet parts; text needs a delimiter known without sniffing."""
    ext = suffix(uri)
    fmt = formats.get(ext, "parquet" if ext == "" else "")
    if fmt == "parquet":
        return "parquet", ","
    if fmt == "xlsx":
        raise InputError(f"{uri}: an Excel workbook is converted on the driver, which cannot open a URI; {CONVERT}")
    if fmt != "csv":
        raise InputError(f"{uri}: unknown file type '{ext}' (use .parquet, a folder of Parquet parts, .csv or .tsv)")
    chosen = delimiter if delimiter is not None else {".csv": ",", ".tsv": "\t"}.get(ext)
    if chosen is None:
        raise InputError(f"{uri}: a {ext} file's delimiter is sniffed on the driver; give --delimiter or {CONVERT}")
    if chosen == "whitespace":
        raise InputError(f"{uri}: whitespace-separated text is rewritten on the driver; {CONVERT}")
    return "csv", chosen


def header_names(uri: str, line: str | None, delimiter: str) -> list[str]:
    """The names on the header line of a text URI, as Spark read it (UTF-8). Text that is not
    UTF-8 (GBK, UTF-16) or has no header is refused: the driver converts those only locally."""
    if line is None or not line.strip():
        raise InputError(f"{uri}: line 1 is empty; the first line must be the header")
    if "\ufffd" in line or "\x00" in line:
        raise InputError(f"{uri}: line 1 is not UTF-8 (GBK or UTF-16?); the driver converts those locally; {CONVERT}")
    names = next(csv.reader(io.StringIO(line.lstrip("\ufeff")), delimiter=delimiter, quotechar='"'), [])
    if not any(ch.isalpha() for name in names for ch in name):
        raise InputError(f"{uri}: line 1 holds no column name (no header?); headers are added on the driver; {CONVERT}")
    return [name.strip() for name in names]


# Hadoop connectors by scheme, as docs/engines.md gives them (pyspark 4.0 ships Hadoop 3.4.1)
CONNECTORS = {
    "s3a": "spark.jars.packages=org.apache.hadoop:hadoop-aws:3.4.1",
    "abfs": "spark.jars.packages=org.apache.hadoop:hadoop-azure:3.4.1",
    "abfss": "spark.jars.packages=org.apache.hadoop:hadoop-azure:3.4.1",
    "wasbs": "spark.jars.packages=org.apache.hadoop:hadoop-azure:3.4.1",
    "gs": "spark.jars=<gcs-connector-hadoop3 jar>;spark.hadoop.fs.gs.impl="
    "com.google.cloud.hadoop.fs.gcs.GoogleHadoopFileSystem",
}
JAVA_REASON = re.compile(r"(?:^|[\s:])(?:[\w$]+\.)*[\w$]*(?:Exception|Error): (.+)")


def spark_reason(text: str) -> str:
    """What a Spark (or Hadoop) error says, without py4j's 'An error occurred while calling
    o58.parquet.' or the Java stack: the message of the first exception named in `text`."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    for line in lines:
        found = JAVA_REASON.search(line)
        if found:
            return re.sub(r"\s*SQLSTATE: \w+$", "", found.group(1)).strip()
    return re.sub(r"\s*SQLSTATE: \w+$", "", lines[0]).strip() if lines else "no reason given"


def unreachable(uri: str, text: str) -> InputError:
    """The one line for a URI Spark could not open: no such path, or no filesystem (connector)
    for its scheme, else Spark's own reason."""
    said = spark_reason(text)
    if "PATH_NOT_FOUND" in text or "Path does not exist" in text:
        return InputError(f"{uri}: no such file or folder (Spark: {said})")
    if "No FileSystem for scheme" in text or re.search(r"ClassNotFoundException: Class \S+FileSystem not found", text):
        name = scheme(uri)
        jar = CONNECTORS.get(name, f"spark.jars=<the Hadoop connector jar for {name}://>")
        return InputError(
            f"{uri}: Spark has no filesystem for {name}:// ({said}): put its Hadoop connector on Spark's class "
            f'path, e.g. TIERKIT_SPARK_CONF="{jar}", and its credentials properties (see docs/engines.md)'
        )
    return InputError(f"{uri}: Spark cannot read it: {said}")
