"""A plain DuckDB connection set up for grading (time zone, memory cap, parallel settings), and
the summary's counts on it.

Apart from the backend (backends/duckdb.py) so that a replayed grading (runs/replay.py) opens
the very same connection and counts its summary without importing Ibis.
"""

from __future__ import annotations

from typing import Any

import duckdb

from tierkit.backends.base import ValueOutOfRange
from tierkit.backends.sql_text import checks_sql, class_totals_sql, literal
from tierkit.errors import TierkitError
from tierkit.settings import setting

DEFAULT_MEMORY_LIMIT = "2.5GB"


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


def engine_version() -> str:
    return str(duckdb.__version__)


def open_connection(memory_limit: str | None = None, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A new in-process database; past its memory cap DuckDB spills to disk instead of growing,
    so 100M orders grade in under 4 GB."""
    limit = memory_limit or setting("memory_limit") or DEFAULT_MEMORY_LIMIT
    try:
        return connect_raw(limit, threads)
    except duckdb.Error as exc:
        raise TierkitError(f"memory limit '{limit}' is not a size like 3GB or 500MB ({exc})") from exc


def flag_counts(raw: duckdb.DuckDBPyConnection, relation: str, flags: list[str]) -> tuple[int, int, list[int]]:
    """(rows, rows without a customer id, rows with each boolean column true): one scan."""
    found = raw.execute(checks_sql(relation, flags)).fetchone()
    assert found is not None
    return int(found[0]), int(found[1] or 0), [int(n or 0) for n in found[2:]]


def class_totals(
    raw: duckdb.DuckDBPyConnection, relation: str, columns: dict[str, str], value: str | None, exact: bool
) -> list[tuple[Any, ...]]:
    """(tally, class, rows, total value) per class of each named column (tally -> column; two
    tallies may count one column); a value past DECIMAL(38, 6) raises ValueOutOfRange."""
    counted = list(dict.fromkeys(columns.values()))
    try:
        rows = raw.execute(class_totals_sql(relation, counted, value, exact)).fetchall()
    except duckdb.ConversionException as exc:
        raise ValueOutOfRange(str(exc)) from exc
    return [(tally, k, n, v) for i, k, n, v in rows for tally, column in columns.items() if column == counted[i]]
