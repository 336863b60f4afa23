"""PySpark through the Ibis PySpark backend: the same expressions as on DuckDB, on a cluster.

Spark is imported only when asked for, with an install hint when it is missing, and one
session is shared per process (a Spark session costs seconds to start).
"""

from __future__ import annotations

import itertools
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir

from tierkit.backends.base import Backend
from tierkit.errors import TierkitError
from tierkit.settings import setting
from tierkit.tables.sources import plain_name

_spark_session: Any = None
_views = itertools.count()
# Python's whitespace, as a Java regular expression (\s there is [ \t\n\x0B\f\r], the same set)
_EDGE_SPACE = r"^\s+|\s+$"


def _trim_whitespace_exactly() -> None:
    """Ibis 12 compiles `strip()` for Spark as TRIM(' \t\n\r\v\f' FROM x), and Spark reads the
    literal's \v and \f as the letters v and f: 'golf' became 'gol', an id 'f001' became '001'.
    Strip with a regular expression instead, which trims exactly what DuckDB trims."""
    from ibis.backends.sql.compilers.pyspark import PySparkCompiler

    def visit_strip(self: Any, op: Any, *, arg: Any) -> Any:
        return self.f.regexp_replace(arg, _EDGE_SPACE, "")

    PySparkCompiler.visit_Strip = visit_strip  # type: ignore[method-assign]


class SparkBackend(Backend):
    name = "spark"

    def __init__(self, backend: Any) -> None:
        self._ibis = backend

    @classmethod
    def open(cls) -> SparkBackend:
        _trim_whitespace_exactly()
        return cls(ibis.pyspark.connect(spark_session()))

    @property
    def con(self) -> Any:
        return self._ibis

    @property
    def session(self) -> Any:
        """The SparkSession (splink's SparkAPI takes it)."""
        return self._ibis._session

    def read_csv(self, path: Path, names: list[str], delimiter: str = ",") -> ir.Table:
        return self._ibis.read_csv(  # type: ignore[no-any-return]
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
        if path.is_dir():
            return self._ibis.read_parquet(_hadoop_exact(path), mergeSchema="true")  # type: ignore[no-any-return]
        return self._ibis.read_parquet(_hadoop_exact(path))  # type: ignore[no-any-return]

    def read_parts(self, paths: list[Path]) -> ir.Table:
        """Spark reads several paths in one go (Ibis's reader takes one): a temporary view of them."""
        frame = self.session.read.parquet(*[_hadoop_exact(p) for p in paths], mergeSchema="true")
        name = f"tierkit_parts_{next(_views)}"
        frame.createOrReplaceTempView(name)
        return self._ibis.table(name)  # type: ignore[no-any-return]

    def to_pyarrow(self, expr: ir.Expr) -> Any:
        return self._ibis.to_pyarrow(expr)

    def to_batches(self, expr: ir.Expr, rows: int = 65_536) -> Any:
        return self._ibis.to_pyarrow_batches(expr, chunk_size=rows)


def _hadoop_exact(path: Path) -> str:
    """A path Spark reads as that very file: Hadoop takes * ? [ ] { } as a pattern, and a
    backslash makes each one itself (see duckdb_dialect.exact_path for DuckDB's way)."""
    return re.sub(r"([\[\]*?{}\\])", r"\\\1", str(path))


def spark_session() -> Any:
    """The process-wide local Spark session (UTC, temp warehouse, loopback only)."""
    global _spark_session
    if _spark_session is not None:
        return _spark_session
    try:
        from pyspark.sql import SparkSession
    except ImportError as err:
        raise TierkitError("the spark engine needs PySpark: pip install 'tierkit[spark]' (pyspark < 4.1)") from err
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    warehouse = tempfile.mkdtemp(prefix="tierkit-spark-")
    builder = (
        SparkSession.builder.appName("tierkit")
        .master(setting("spark_master") or "local[2]")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", warehouse)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", setting("spark_partitions") or "8")
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
