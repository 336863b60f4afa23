"""Backends: where the same Ibis expressions run. DuckDB in-process by default, PySpark on demand.

The public face is `connect(name)` and the `Backend` type; Spark is imported only when asked
for, with an install hint when it is missing (splink's way).
"""

from __future__ import annotations

from tierkit.backends.base import Backend, StandIn
from tierkit.errors import TierkitError

BACKENDS: tuple[str, ...] = ("duckdb", "spark")

__all__ = ["BACKENDS", "Backend", "StandIn", "connect"]


def connect(name: str = "duckdb", threads: int | None = None, memory_limit: str | None = None) -> Backend:
    """A backend by its `--engine` name. DuckDB's memory is capped (the memory_limit setting)."""
    if name == "duckdb":
        from tierkit.backends.duckdb import DuckDBBackend

        return DuckDBBackend.open(memory_limit, threads)
    if name == "spark":
        from tierkit.backends.spark import SparkBackend

        return SparkBackend.open()
    raise TierkitError(f"unknown engine '{name}' (use one of: {', '.join(BACKENDS)})")
