"""DuckDB SQL written as text: quoting, and the few fixed queries a summary counts with.

Why apart from duckdb_dialect: a replayed grading (runs/replay.py) runs these without Ibis or
sqlglot imported; this module imports nothing.
"""

from __future__ import annotations


def literal(text: str) -> str:
    """A SQL string literal, whatever the text holds (quotes in folder names: bob's runs)."""
    return "'" + text.replace("'", "''") + "'"


def identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def checks_sql(relation: str, flags: list[str]) -> str:
    """Rows, rows without a customer id, and how many rows have each boolean column true."""
    empty = "count(*) FILTER (WHERE customer_id IS NULL OR customer_id = '')"
    sums = "".join(f", sum(CAST({identifier(flag)} AS BIGINT))" for flag in flags)
    return f"SELECT count(*), {empty}{sums} FROM {relation}"


def class_totals_sql(relation: str, columns: dict[str, str], value: str | None, exact: bool) -> str:
    """(tally, class as text, rows, total value) for each named column's classes, in one UNION
    ALL of GROUP BYs; `exact` adds a floating value at six decimals (a total that does not depend
    on the order threads add in)."""
    measure = identifier(value) if value else "1"
    total = f"sum(CAST({measure} AS DECIMAL(38, 6)))" if exact else f"sum({measure})"
    parts = [
        f"SELECT {literal(name)} AS tally, CAST({identifier(column)} AS VARCHAR) AS k, count(*) AS n, "
        f"{total} AS v FROM {relation} GROUP BY 2"
        for name, column in columns.items()
    ]
    return " UNION ALL ".join(parts)


def parquet_file(path: str) -> str:
    """One Parquet file as a relation."""
    return f"read_parquet({literal(path)})"
