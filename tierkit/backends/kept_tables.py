"""Temporary tables an import keeps on DuckDB while it judges one file's rows (ingest/staging.py).

An import reads the file once into a temporary table, in file order, and numbers each row by its
rowid: a ROW_NUMBER() window would hold reading and parsing to one thread. The SQL for that lives
here, in the backends layer, which alone speaks to a database engine.
"""

from __future__ import annotations

import itertools

import ibis.expr.types as ir

from tierkit.backends.duckdb import DuckDBBackend

_names = itertools.count()


class KeptTables:
    """The temporary tables of one import, dropped together by `drop` (newest first)."""

    def __init__(self, engine: DuckDBBackend) -> None:
        self.engine = engine
        self.names: list[str] = []

    def keep(self, expr: ir.Table, what: str) -> str:
        """`expr` computed once into a temporary table; its name."""
        name = f"__import_{what}_{next(_names)}"
        self.engine.execute(f"CREATE TEMP TABLE {name} AS {self.engine.sql(expr)}")
        self.names.append(name)
        return name

    def table(self, name: str) -> ir.Table:
        return self.engine.view(f"SELECT * FROM {name}", "kept")

    def numbered(self, name: str) -> ir.Table:
        """The kept rows with `__row`, their 1-based place in the file (the table's rowid + 1)."""
        return self.engine.view(f"SELECT *, rowid + 1 AS __row FROM {name}", "checked")

    def has_rows(self, name: str) -> bool:
        return bool(self.engine.execute(f"SELECT count(*) FROM {name}").fetchone()[0])

    def drop(self) -> None:
        for name in reversed(self.names):
            self.engine.execute(f"DROP TABLE IF EXISTS {name}")
        self.names.clear()
