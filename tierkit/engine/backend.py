"""Engines: where the same Ibis expressions run. DuckDB in-process by default, PySpark on demand.

Spark is imported only when asked for, with an install hint when it is missing, and one
session is shared per process (a Spark session costs seconds to start).
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import duckdb
import ibis
import ibis.expr.types as ir

from tierkit.engine.duckdb_sql import DuckDBDatabase, connect_raw
from tierkit.errors import TierkitError

EngineName = Literal["duckdb", "spark"]
ENGINES: tuple[str, ...] = ("duckdb", "spark")
_spark_session: Any = None


@dataclass
class Engine:
    """Where expressions run, plus the few things that differ per engine: how files are read.

    On DuckDB, expressions are compiled to SQL and run on a plain connection (`database`); the
    Ibis backend (`con`) is made over the same connection only when some code asks for it."""

    name: str
    backend: Any = None  # the Ibis backend: given for Spark, made on first use for DuckDB
    database: DuckDBDatabase | None = None

    @property
    def con(self) -> Any:
        if self.backend is None and self.database is not None:
            self.backend = ibis.duckdb.from_connection(self.database.raw)
        return self.backend

    def read_csv(self, path: Path, names: list[str], delimiter: str = ",") -> ir.Table:
        """Every CSV column arrives as text, split by one explicit dialect (RFC 4180) on every
        engine, with the header read by us (no sniffing: a ragged row is an error, not a guess);
        typing is done once, in Ibis, for all engines."""
        if self.database is not None:
            return self.database.read_csv(path, names, delimiter)
        from tierkit.tables.sources import plain_name

        return self.con.read_csv(
            str(plain_name(path)),
            header=True,
            inferSchema=False,
            multiLine=True,
            sep=delimiter,
            quote='"',
            escape='"',
            mode="FAILFAST",
            encoding="UTF-8",
        )

    def read_parquet(self, path: Path) -> ir.Table:
        """One Parquet file, or a folder of parts (what `tierkit import` writes)."""
        if self.database is not None:
            return self.database.read_parquet(path)
        if path.is_dir():
            return self.con.read_parquet(_hadoop_exact(path), mergeSchema="true")
        return self.con.read_parquet(_hadoop_exact(path))

    def to_pyarrow(self, expr: ir.Expr) -> Any:
        if self.database is not None:
            return self.database.to_pyarrow(expr)
        return self.con.to_pyarrow(expr)

    def write_parquet(self, expr: ir.Table, path: Path) -> None:
        """One Parquet file of the result. DuckDB writes it itself (COPY, in parallel, no Python
        in between); other engines stream Arrow batches into a single file."""
        if self.database is not None:
            self.database.write_parquet(expr, path)
            return
        import pyarrow.parquet as pq

        reader = self.to_batches(expr)
        with pq.ParquetWriter(path, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)

    def to_batches(self, expr: ir.Expr, rows: int = 65_536) -> Any:
        """A pyarrow RecordBatchReader streaming the result."""
        if self.database is not None:
            return self.database.to_batches(expr, rows)
        return self.con.to_pyarrow_batches(expr, chunk_size=rows)

    def execute_scalar(self, expr: ir.Scalar) -> Any:
        return self.to_pyarrow(expr.name("value").as_table())["value"][0].as_py()


def _hadoop_exact(path: Path) -> str:
    """A path Spark reads as that very file: Hadoop takes * ? [ ] { } as a pattern, and a
    backslash makes each one itself (see duckdb_sql.exact_path for DuckDB's way)."""
    return re.sub(r"([\[\]*?{}\\])", r"\\\1", str(path))


def spark_session() -> Any:
    """The process-wide local Spark session (UTC, temp warehouse, loopback only)."""
    global _spark_session
    if _spark_session is not None:
        return _spark_session
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise TierkitError("the spark engine needs PySpark: pip install 'tierkit[spark]' (pyspark < 4.1)") from None
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    warehouse = tempfile.mkdtemp(prefix="tierkit-spark-")
    builder = (
        SparkSession.builder.appName("tierkit")
        .master(os.environ.get("TIERKIT_SPARK_MASTER", "local[2]"))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", warehouse)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", os.environ.get("TIERKIT_SPARK_PARTITIONS", "8"))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={warehouse}")
        .config("spark.sql.ansi.enabled", "false")
    )
    jar = _similarity_jar()
    if jar:  # splink's string similarity functions (Jaro-Winkler...) for `tierkit link --engine spark`
        builder = builder.config("spark.jars", jar)
    _spark_session = builder.getOrCreate()
    _spark_session.sparkContext.setLogLevel("ERROR")
    _spark_session.sparkContext.setCheckpointDir(os.path.join(warehouse, "checkpoints"))
    return _spark_session


def _similarity_jar() -> str | None:
    try:
        from splink.internals.spark.jar_location import similarity_jar_location
    except ImportError:
        return None
    return str(similarity_jar_location())


DEFAULT_MEMORY_LIMIT = "2.5GB"


def connect(name: str = "duckdb", threads: int | None = None, memory_limit: str | None = None) -> Engine:
    """An engine. DuckDB's memory is capped (default 2.5GB, $TIERKIT_MEMORY_LIMIT): past it DuckDB
    spills to disk instead of growing, so 100M orders grade in under 4 GB."""
    if name == "duckdb":
        limit = memory_limit or os.environ.get("TIERKIT_MEMORY_LIMIT") or DEFAULT_MEMORY_LIMIT
        try:
            raw = connect_raw(limit, threads)
        except duckdb.Error as exc:
            raise TierkitError(f"memory limit '{limit}' is not a size like 3GB or 500MB ({exc})") from None
        return Engine("duckdb", database=DuckDBDatabase(raw))
    if name == "spark":
        session = spark_session()
        return Engine("spark", ibis.pyspark.connect(session))
    raise TierkitError(f"unknown engine '{name}' (use one of: {', '.join(ENGINES)})")
