"""DuckDB SQL built from Ibis expressions: the dialect layer (splink's split of SQL built for a
dialect from the database that runs it).

This module is the one place that reaches into Ibis's internals (its DuckDB compiler, type
parser and Arrow result mapping); tests/unit/test_library_adapters.py fails loudly when an
Ibis release moves them.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.types as ir

from tierkit.backends import plan_cache
from tierkit.backends.sql_text import literal

if TYPE_CHECKING:  # pyarrow (0.1 s with numpy) when a result comes back as Arrow, not to write a file
    import pyarrow as pa


def exact_path(path: str | Path) -> str:
    """A path DuckDB reads as that very file: its readers treat * ? [ as a pattern, so that
    `orders[1].parquet` would read `orders1.parquet`; each becomes a class matching only itself."""
    return re.sub(r"([\[*?])", r"[\1]", str(path))


def parquet_source(path: Path) -> str:
    """read_parquet(...) of one file or of a folder of parts, in SQL."""
    if path.is_dir():
        return f"read_parquet({literal(exact_path(path) + '/*.parquet')}, union_by_name = true)"
    return f"read_parquet({literal(exact_path(path))})"


PLAIN_TYPES: dict[str, dt.DataType] = {  # DuckDB's names of the types files mostly hold, as Ibis types them
    "VARCHAR": dt.String(),
    "BIGINT": dt.Int64(),
    "INTEGER": dt.Int32(),
    "SMALLINT": dt.Int16(),
    "TINYINT": dt.Int8(),
    "DOUBLE": dt.Float64(),
    "FLOAT": dt.Float32(),
    "BOOLEAN": dt.Boolean(),
    "DATE": dt.Date(),
    "TIMESTAMP": dt.Timestamp(scale=6),
    "TIMESTAMP WITH TIME ZONE": dt.Timestamp(timezone="UTC", scale=6),
}
DECIMAL = re.compile(r"DECIMAL\((\d+),(\d+)\)")


def duckdb_type(name: str, nullable: bool) -> dt.DataType:
    """An Ibis type from DuckDB's name of it. The plain names directly: Ibis's parser (sqlglot's
    DuckDB dialect) costs 20-50 ms of every grading's start-up; anything else through it."""
    plain = PLAIN_TYPES.get(name)
    if plain is not None:
        return plain.copy(nullable=nullable)
    decimal = DECIMAL.fullmatch(name)
    if decimal is not None:
        return dt.Decimal(int(decimal[1]), int(decimal[2]), nullable=nullable)
    from ibis.backends.sql.datatypes import DuckDBType

    return DuckDBType.from_string(name, nullable=nullable)


def schema_of(described: list[tuple[Any, ...]]) -> ibis.Schema:
    """An Ibis schema from DuckDB's DESCRIBE rows (name, type, null, ...)."""
    return ibis.schema({column: duckdb_type(typ, null == "YES") for column, typ, null, *_ in described})


def to_sql(expr: ir.Expr) -> str:
    """The expression as one DuckDB SELECT; compiled once per plan (backends.plan_cache)."""
    table = expr.as_table()

    def compile_sql() -> str:  # Ibis's compilers load every dialect (0.1 s): only on a miss
        from ibis.backends.sql.compilers.duckdb import compiler

        return compiler.to_sqlglot(table).sql(dialect=compiler.dialect, copy=False)  # type: ignore[no-any-return]

    reads_memory = bool(table.op().find(ops.InMemoryTable))
    return plan_cache.compiled(table.op(), "duckdb", compile_sql, reads_memory)


def memtables(expr: ir.Expr) -> list[tuple[str, pa.Table]]:
    """In-memory tables the expression reads (name, data): the database registers them first."""
    return [(m.name, m.data.to_pyarrow(m.schema)) for m in expr.op().find(ops.InMemoryTable)]


@functools.cache
def _result_types() -> Any:
    """Ibis's Arrow mapping, except that DuckDB's NULL-typed columns (int32 there) are null, as
    Ibis's own backend has them; made on first use, so that pyarrow is imported only then."""
    import pyarrow as pa
    from ibis.formats.pyarrow import PyArrowData

    class ResultTypes(PyArrowData):  # type: ignore[misc]
        @classmethod
        def convert_column(cls, column: pa.Array, dtype: dt.DataType) -> pa.Array:
            return pa.nulls(len(column)) if dtype.is_null() else super().convert_column(column, dtype)

        @classmethod
        def convert_scalar(cls, scalar: pa.Scalar, dtype: dt.DataType) -> pa.Scalar:
            return pa.scalar(None) if dtype.is_null() else super().convert_scalar(scalar, dtype)

    return ResultTypes


def as_result(expr: ir.Expr, table: pa.Table) -> Any:
    """DuckDB's Arrow result typed as the expression says (a table, a column or a scalar)."""
    return expr.__pyarrow_result__(table, data_mapper=_result_types())
