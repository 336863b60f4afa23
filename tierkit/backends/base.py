"""What every backend offers: read files as Ibis tables, run expressions, write results.

Why a base class and not duck typing: the engine, the readers and the models call these
methods and nothing else, so a new backend (PostgreSQL, a warehouse) is this list to fill in,
and the shared engine tests run every backend through it (ibis's own design). The names say
*backend* because a database engine is SQLAlchemy's word in this code base (tierkit.store).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: `import tierkit.backends` loads no Ibis (a card needs none)
    import ibis.expr.types as ir


class ValueOutOfRange(ArithmeticError):
    """A value that does not fit the type a query casts it to (a double past DECIMAL(38, 6)):
    the backend's own exception, named the same on every backend."""


class Backend(ABC):
    """Where Ibis expressions run; `name` is what `--engine` calls it (duckdb, spark)."""

    name: str = ""
    runs: bool = True  # False for the stand-in of `tierkit check`: expressions are built, never run
    # its Parquet views type an instant (isAdjustedToUTC) as a timestamp with a zone and a local
    # time as one without: the view's schema says which columns are instants, no Parquet reader needed
    zoned_types: bool = False

    @property
    @abstractmethod
    def con(self) -> Any:
        """The Ibis backend (table API: create_table, read_parquet) for linking and import staging."""

    @abstractmethod
    def read_csv(self, path: Path, names: list[str], delimiter: str = ",") -> ir.Table:
        """Every column as text, split by one explicit RFC 4180 dialect on every backend (no
        sniffing: a ragged row is an error, not a guess); typing is done once, in Ibis."""

    @abstractmethod
    def read_parquet(self, path: Path) -> ir.Table:
        """One Parquet file, or a folder of parts (what `tierkit import` writes)."""

    @abstractmethod
    def to_pyarrow(self, expr: ir.Expr) -> Any:
        """The result as a pyarrow Table (or scalar's table)."""

    @abstractmethod
    def to_batches(self, expr: ir.Expr, rows: int = 65_536) -> Any:
        """A pyarrow RecordBatchReader streaming the result."""

    @abstractmethod
    def read_parts(self, paths: list[Path]) -> ir.Table:
        """Several Parquet files as one table, columns matched by name (parts may differ in
        their optional columns)."""

    def keep_row_order(self) -> None:
        """From now on, results keep the order rows were read in (import numbers rows by their
        place in the file). A backend that always does so has nothing to change."""
        return None

    def write_parquet(self, expr: ir.Table, path: Path) -> None:
        """One Parquet file of the result, streamed batch by batch (DuckDB writes it itself)."""
        import pyarrow.parquet as pq

        reader = self.to_batches(expr)
        with pq.ParquetWriter(path, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)

    def execute_scalar(self, expr: ir.Scalar) -> Any:
        return self.to_pyarrow(expr.name("value").as_table())["value"][0].as_py()

    def first_row(self, table: ir.Table, outcome: str | None = None) -> dict[str, Any]:
        """The first row of a (one-row) table as Python values: an input's counts and checks.
        `outcome` names how a replay compares it (backends/transcript.py); only DuckDB keeps one."""
        return self.to_pyarrow(table).to_pylist()[0]  # type: ignore[no-any-return]


class StandIn(Backend):
    """The backend of `tierkit check`: typed stand-in tables, so that a policy compiles exactly
    as it will on data, and nothing runs (models do not fit, constant filters are not decided)."""

    name = "none"
    runs = False

    def _nothing(self) -> Any:
        raise AssertionError("the stand-in backend of `tierkit check` runs nothing")

    @property
    def con(self) -> Any:
        return self._nothing()

    def read_csv(self, path: Path, names: list[str], delimiter: str = ",") -> ir.Table:
        return self._nothing()  # type: ignore[no-any-return]

    def read_parquet(self, path: Path) -> ir.Table:
        return self._nothing()  # type: ignore[no-any-return]

    def read_parts(self, paths: list[Path]) -> ir.Table:
        return self._nothing()  # type: ignore[no-any-return]

    def to_pyarrow(self, expr: ir.Expr) -> Any:
        return self._nothing()

    def to_batches(self, expr: ir.Expr, rows: int = 65_536) -> Any:
        return self._nothing()
