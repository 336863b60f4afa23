"""The library internals tierkit relies on, checked where they are used: a release of Ibis or
splink that moves them fails here, by name, not somewhere deep in a grading or a link."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis
import pyarrow as pa
import pytest

from tierkit.backends import duckdb_dialect
from tierkit.backends.duckdb import DuckDBBackend


def test_ibis_compiles_an_expression_to_duckdb_sql_and_types_the_result(tmp_path: Path) -> None:
    table = ibis.table({"customer_id": "string", "amount": "decimal(18, 2)", "day": "date"}, name="orders")
    expr = table.group_by("customer_id").aggregate(total=table.amount.sum(), last=table.day.max())
    sql = duckdb_dialect.to_sql(expr)
    assert sql.startswith("SELECT") and '"orders"' in sql and "SUM" in sql.upper()
    schema = duckdb_dialect.schema_of([("a", "DECIMAL(18,2)", "YES"), ("b", "VARCHAR", "NO")])
    assert schema["a"].is_decimal() and schema["a"].scale == 2 and not schema["b"].nullable


def test_results_come_back_typed_as_the_expression_says() -> None:
    backend = DuckDBBackend.open()
    memtable = ibis.memtable(pa.table({"x": [1, 2, 3]}))
    assert duckdb_dialect.memtables(memtable)[0][1].num_rows == 3
    assert backend.execute_scalar(memtable.x.sum()) == 6
    nothing = memtable.mutate(n=ibis.null()).select("n").limit(1)
    assert backend.to_pyarrow(nothing).schema.field("n").type == pa.null()  # DuckDB says int32
    day = backend.execute_scalar(ibis.literal(dt.date(2024, 6, 30)))
    assert day == dt.date(2024, 6, 30)


def test_splink_internals_linking_uses_are_where_the_adapter_looks() -> None:
    from splink import DuckDBAPI, Linker, SettingsCreator
    from splink import comparison_library as cl

    from tierkit.ingest.identity import splink_adapter

    records = pa.table({"unique_id": ["1", "2", "3"], "name": ["a", "b", "a"]})
    settings = SettingsCreator(link_type="dedupe_only", comparisons=[cl.ExactMatch("name")])
    frame = DuckDBAPI().register(records, table_name="adapter_records")
    linker = Linker(frame, settings)
    splink_adapter.set_match_prior(linker, 0.25)
    assert splink_adapter.match_prior(linker) == 0.25
    levels = splink_adapter.comparisons(linker)[0].comparison_levels
    scored = [level for level in levels if not level.is_null_level]
    assert len(scored) == 2
    scored[0].m_probability, scored[0].u_probability = 0.9, 0.05  # what training.sanitize repairs
    assert (scored[0].m_probability, scored[0].u_probability) == (0.9, 0.05)


def test_spark_similarity_jar_is_where_splink_keeps_it() -> None:
    from tierkit.backends.spark import _similarity_jar

    jar = _similarity_jar()
    assert jar is not None and jar.endswith(".jar") and Path(jar).exists()


@pytest.mark.parametrize(
    "name",
    [
        "VARCHAR",
        "BIGINT",
        "INTEGER",
        "SMALLINT",
        "TINYINT",
        "DOUBLE",
        "FLOAT",
        "BOOLEAN",
        "DATE",
        "TIMESTAMP",
        "TIMESTAMP WITH TIME ZONE",
        "DECIMAL(18,2)",
        "DECIMAL(38,6)",
        "DECIMAL(4,0)",
        "HUGEINT",
        "UBIGINT",
        "TIME",
        "BLOB",
        "TIMESTAMP_NS",
        "INTERVAL",
        "VARCHAR[]",
        "STRUCT(a INTEGER, b VARCHAR)",
    ],
)
@pytest.mark.parametrize("nullable", [True, False])
def test_duckdb_type_names_read_as_ibis_reads_them(name: str, nullable: bool) -> None:
    """The plain names tierkit reads itself (no sqlglot parse at start-up) type as Ibis's own
    DuckDB parser types them, nullability included; the rest go through that parser."""
    from ibis.backends.sql.datatypes import DuckDBType

    from tierkit.backends.duckdb_dialect import duckdb_type

    assert duckdb_type(name, nullable) == DuckDBType.from_string(name, nullable=nullable)
    assert duckdb_type(name, nullable).nullable is nullable
