"""DuckDB as a database layer: Ibis expressions compiled to DuckDB SQL and run on a plain
connection, the way splink separates SQL built for a dialect from the database that runs it.

Why not the Ibis DuckDB backend on the grading path: importing it imports pandas, and its
first query pays for hooks and conversions; together about 0.4 s of every `tierkit grade`,
most of what DuckDB needs for a whole GROUP BY over 10M orders. The backend is still made on
demand, over this same connection, for code that wants its table API (linking, import staging).
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.types as ir
import pyarrow as pa
from ibis.backends.sql.compilers.duckdb import compiler
from ibis.backends.sql.datatypes import DuckDBType
from ibis.formats.pyarrow import PyArrowData

_views = itertools.count()


def literal(text: str) -> str:
    """A SQL string literal, whatever the text holds (quotes in folder names: bob's runs)."""
    return "'" + text.replace("'", "''") + "'"


def exact_path(path: str | Path) -> str:
    """A path DuckDB reads as that very file: its readers treat * ? [ as a pattern, so that
    `orders[1].parquet` would read `orders1.parquet`; each becomes a class matching only itself."""
    return re.sub(r"([\[*?])", r"[\1]", str(path))


def identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class _ResultTypes(PyArrowData):
    """DuckDB returns NULL-typed columns as int32; Ibis calls them null (as its backend does)."""

    @classmethod
    def convert_column(cls, column: pa.Array, dtype: dt.DataType) -> pa.Array:
        return pa.nulls(len(column)) if dtype.is_null() else super().convert_column(column, dtype)

    @classmethod
    def convert_scalar(cls, scalar: pa.Scalar, dtype: dt.DataType) -> pa.Scalar:
        return pa.scalar(None) if dtype.is_null() else super().convert_scalar(scalar, dtype)


def connect_raw(memory_limit: str, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A connection set up as Ibis sets up its own (UTC, no scanning of Python variables), plus
    the memory cap and the parallel-friendly settings grading relies on."""
    raw = duckdb.connect()
    raw.execute("SET TimeZone = 'UTC'")
    raw.execute("SET python_enable_replacements = false")
    raw.execute(f"SET memory_limit = {literal(memory_limit)}")
    # Output order comes from an explicit ORDER BY; without the insertion-order guarantee
    # DuckDB runs more of the plan in parallel.
    raw.execute("SET preserve_insertion_order = false")
    raw.execute("SET enable_progress_bar = false")  # our own progress display owns the terminal
    if threads:
        raw.execute(f"SET threads = {int(threads)}")
    return raw


class DuckDBDatabase:
    """Views over files, typed as Ibis tables, and compiled expressions run on one connection."""

    def __init__(self, raw: duckdb.DuckDBPyConnection) -> None:
        self.raw = raw
        self._memtables: set[str] = set()

    def view(self, select: str, kind: str) -> ir.Table:
        """A temporary view of `select`, as an Ibis table with DuckDB's types."""
        name = f"tierkit_{kind}_{next(_views)}"
        self.raw.execute(f"CREATE TEMP VIEW {identifier(name)} AS {select}")
        return ibis.table(self.schema(name), name=name)

    def schema(self, name: str) -> ibis.Schema:
        rows = self.raw.sql(f"DESCRIBE {identifier(name)}").fetchall()
        return ibis.schema(
            {column: DuckDBType.from_string(typ, nullable=null == "YES") for column, typ, null, *_ in rows}
        )

    def read_parquet(self, path: Path) -> ir.Table:
        """One Parquet file, or every part in a folder (parts may differ in their optional columns)."""
        if path.is_dir():
            pattern = literal(exact_path(path) + "/*.parquet")
            return self.view(f"SELECT * FROM read_parquet({pattern}, union_by_name = true)", "parquet")
        return self.view(f"SELECT * FROM read_parquet({literal(exact_path(path))})", "parquet")

    def read_csv(self, path: Path, names: list[str], delimiter: str) -> ir.Table:
        columns = ", ".join(f"{literal(name)}: 'VARCHAR'" for name in names)
        return self.view(
            f"SELECT * FROM read_csv({literal(exact_path(path))}, header = true, delim = {literal(delimiter)}, "
            f"quote = '\"', escape = '\"', auto_detect = false, columns = {{{columns}}})",
            "csv",
        )

    def sql(self, expr: ir.Expr) -> str:
        """The expression as one DuckDB SELECT; in-memory tables it reads are registered first."""
        for memtable in expr.op().find(ops.InMemoryTable):
            if memtable.name not in self._memtables:
                self.raw.register(memtable.name, memtable.data.to_pyarrow(memtable.schema))
                self._memtables.add(memtable.name)
        query = compiler.to_sqlglot(expr.as_table())
        return query.sql(dialect=compiler.dialect, copy=False)  # type: ignore[no-any-return]

    def to_pyarrow(self, expr: ir.Expr) -> Any:
        table = self.raw.sql(self.sql(expr)).to_arrow_table()
        return expr.__pyarrow_result__(table, data_mapper=_ResultTypes)

    def to_batches(self, expr: ir.Expr, rows: int) -> pa.RecordBatchReader:
        schema = expr.as_table().schema().to_pyarrow()
        # Temp views and tables belong to this connection, so no cursor() of its own: the stream
        # ends early if another query runs on the connection before it is read to the end.
        cursor = self.raw.execute(self.sql(expr))
        return pa.RecordBatchReader.from_batches(schema, cursor.fetch_record_batch(rows))

    def write_parquet(self, expr: ir.Expr, path: Path) -> None:
        self.raw.execute(f"COPY ({self.sql(expr)}) TO {literal(str(path))} (FORMAT parquet)")

    def execute(self, sql: str) -> Any:
        return self.raw.execute(sql)
