"""Point lookups by customer id at contact time: a sorted Arrow file, memory-mapped, binary-searched.

A card must come back in milliseconds while the run holds millions of customers. The run's
Parquet (or the customers' personal data) is written once as an Arrow IPC file sorted by id,
beside its source, and memory-mapped: the operating system shares its pages between workers
and processes, nothing is parsed per lookup, and a lookup is ~20 comparisons and one row slice.
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from tierkit.backends import connect

if TYPE_CHECKING:  # a card's lookup never builds: Ibis is loaded only when a file is written
    import ibis.expr.types as ir

    from tierkit.backends import Backend

REMEMBERED = 1024  # rows (and positions) a table keeps of its last lookups
GALLOP = 256  # rows a search from a guess looks around it before it bisects what is left
RUN_LOOKUP = "lookup.arrow"  # a run's whole rows, sorted by id: the published run's cards
RUN_TIERS = ".tiers.arrow"  # a run's ids and tiers only: the tier history of cards
RUN_CACHES = (RUN_LOOKUP, RUN_TIERS)  # rebuilt from the run's result when missing or older


def build_sorted(backend: Backend, rows: ir.Table, key: str, target: Path) -> None:
    """Write `rows` ordered by `key` (rows without one left out) as one Arrow IPC file (one
    record batch), atomically. Keys sort by code point, as Python compares them in `find`."""
    table = backend.to_pyarrow(rows.filter(rows[key].notnull()).order_by(key)).combine_chunks()
    # one name per thread: a request may build the file while a background build of it runs
    staging = target.with_name(f".{target.name}.{os.getpid()}-{threading.get_ident()}.partial")
    with pa.OSFile(str(staging), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=max(table.num_rows, 1))
    os.replace(staging, target)


@contextmanager
def _building_in(folder: Path) -> Iterator[None]:
    """Within: no other process builds a lookup in `folder`. Why: each worker of `tierkit serve
    --workers 4` found a new run's lookup missing and built it, four times the CPU on a machine
    serving cards meanwhile. The lock is the folder's own (flock on its descriptor): no lock file
    to back up or erase, released by the system if the process dies."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; each worker builds its own, as before
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _mapped(column: pa.ChunkedArray) -> pa.Array:
    """The column as one array over the mapped file's own pages. `combine_chunks` copies even a
    single chunk: every column of a 700 MB file read into private memory at open (0.26 s of a
    `tierkit show`, and as much resident memory per serving process as the file's size)."""
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


class SortedTable:
    """Rows of an Arrow file sorted by `key`, found by binary search.

    The search compares the keys' UTF-8 bytes straight from the mapped file (byte order is code
    point order, as Python compares str), and a row is built column by column: both several times
    faster than Arrow scalars and a one-row slice. A card asks for the same row three or four times
    (the id, the graded row, the entitlements, the tier history), so the last rows found are kept:
    the file never changes under a table (a new run is a new file and a new table)."""

    def __init__(self, path: Path, key: str, table: pa.Table | None = None) -> None:
        """The file at `path` (mapped), or `table` (already sorted by `key`, in memory: `path` is
        then only its name)."""
        self.table = pa.ipc.open_file(pa.memory_map(str(path), "r")).read_all() if table is None else table
        self.key = key
        self.path = path
        self.keys = _mapped(self.table[key]) if self.table.num_rows else pa.array([], pa.string())
        self.rows = self.table.num_rows
        self._readers = {name: _reader(_mapped(self.table[name])) for name in self.table.column_names}
        self._raw = _raw_strings(self.keys)
        self._nested = any(pa.types.is_nested(field.type) for field in self.table.schema)
        self._found: dict[str, tuple[int, bool]] = {}  # key -> (position, present)
        self._built: dict[str, dict[str, Any]] = {}  # key -> its whole row, as Python values

    @classmethod
    def from_parquet(cls, parquet: Path, key: str, cache: Path, columns: list[str] | None = None) -> SortedTable:
        """The cached sorted copy of `parquet` (of its `columns` only, when named), built on first
        use (or when the source is newer)."""

        def stale() -> bool:
            return not cache.exists() or cache.stat().st_mtime_ns < parquet.stat().st_mtime_ns

        if stale():
            with _building_in(cache.parent):  # the workers of a server: one builds, the others wait
                if stale():
                    backend = connect("duckdb")
                    rows = backend.read_parquet(parquet)
                    build_sorted(backend, rows.select(*columns) if columns else rows, key, cache)
        return cls(cache, key)

    def _key_at(self, i: int) -> Any:
        if self._raw is not None:
            offsets, data = self._raw
            return bytes(data[offsets[i] : offsets[i + 1]]).decode("utf-8")
        return self.keys[i].as_py()

    def _comparable(self, value: str) -> tuple[Callable[[int], Any], Any]:
        """How keys are read for comparison (UTF-8 bytes from the mapped file where it can) and
        `value` in that form."""
        if self._raw is not None:
            offsets, data = self._raw
            return (lambda i: bytes(data[offsets[i] : offsets[i + 1]])), value.encode("utf-8", "surrogatepass")
        keys = self.keys
        return (lambda i: keys[i].as_py()), value

    def _position(self, value: str, near: int | None = None) -> int:
        """The first row whose key is not below `value`. `near`: where it probably is (a tier
        history looks a customer up in a dozen runs of mostly the same customers, so the place in
        one run is the place, or close to it, in the next): the search gallops out from there,
        about 2 log2(distance) comparisons instead of log2(rows); past GALLOP rows away (runs of
        other customers), the rest is bisected, a few comparisons more than without the guess."""
        key, wanted = self._comparable(value)
        low, high = 0, self.rows
        if near == self.rows and self.rows and key(self.rows - 1) < wanted:
            return self.rows  # past the last key, as the one before it (ids given in sequence)
        if near is not None and 0 <= near < self.rows:
            step, there = 1, key(near)
            if there == wanted and (near == 0 or key(near - 1) < wanted):
                return near
            if there < wanted:
                low = near + 1
                while step <= GALLOP and near + step < self.rows and key(near + step) < wanted:
                    low = near + step + 1
                    step *= 2
                high = min(near + step, self.rows) if step <= GALLOP else self.rows
            else:
                high = near
                while step <= GALLOP and near - step >= 0 and key(near - step) >= wanted:
                    high = near - step
                    step *= 2
                low = max(near - step + 1, 0) if step <= GALLOP else 0
        while low < high:
            mid = (low + high) // 2
            if key(mid) < wanted:
                low = mid + 1
            else:
                high = mid
        return low

    def _locate(self, value: str) -> tuple[int, bool]:
        """Where `value` is (or would be), and whether it is there; remembered."""
        found = self._found.get(value)
        if found is None:
            low = self._position(value)
            found = (low, low < self.rows and self._key_at(low) == value)
            if len(self._found) >= REMEMBERED:
                self._found.clear()
            self._found[value] = found
        return found

    def position(self, value: str) -> int:
        """Where `value` is, or would be (remembered, as `find`'s)."""
        return self._locate(value)[0]

    def positions(self, values: Sequence[str]) -> list[int]:
        """Where each of `values` (in ascending order) is or would be, each searched from the
        place of the one before (a run's customers new to a tier history's join: app/tier_merge)."""
        found: list[int] = []
        near: int | None = None
        for value in values:
            near = self._position(value, near)
            found.append(near)
        return found

    def find_near(self, value: str, near: int | None, columns: list[str]) -> tuple[int, dict[str, Any] | None]:
        """Where `value` is (or would be) and its `columns`, searched from `near` (the place found
        in another run: `_position`); None when absent. Not remembered: a history's runs are read
        once per card."""
        at = self._position(value, near)
        if at < self.rows and self._key_at(at) == value:
            return at, {name: self._readers[name](at) for name in columns}
        return at, None

    def find(self, value: str, columns: list[str] | None = None) -> dict[str, Any] | None:
        """The row with this key (only `columns`, when named: a wide row costs to convert)."""
        low, present = self._locate(value)
        if not present:
            return None
        built = self._built.get(value)
        if columns:
            if built is not None:
                return {name: built[name] for name in columns}
            return {name: self._readers[name](low) for name in columns}
        if built is None:
            built = {name: read(low) for name, read in self._readers.items()}
            if len(self._built) >= REMEMBERED:
                self._built.clear()
            self._built[value] = built
        # a copy: callers may change theirs (nested values too, when a column holds lists or structs)
        return copy.deepcopy(built) if self._nested else dict(built)

    def has(self, value: str) -> bool:
        return self._locate(value)[1]

    def find_all(self, value: str, limit: int = 100) -> list[dict[str, Any]]:
        """Every row with this key (at most `limit`), in file order."""
        low = self._position(value)
        high = low
        while high < self.rows and high - low < limit and self._key_at(high) == value:
            high += 1
        return self.table.slice(low, high - low).to_pylist() if high > low else []  # type: ignore[no-any-return]

    def near(self, value: str, count: int = 3) -> list[str]:
        """Ids a mistyped one probably meant: with the leading zeros an export dropped (`1` ->
        `00000001`), then its neighbours in sort order."""
        found: list[str] = []
        if value.isdigit():
            for width in sorted({len(str(self._key_at(i))) for i in (0, self.rows - 1)} if self.rows else set()):
                padded = value.zfill(width)
                if padded != value and self.find(padded) is not None:
                    found.append(padded)
        if found:
            return found
        at = self._position(value)
        for i in range(max(at - 1, 0), min(at + count, self.rows)):
            key = str(self._key_at(i))
            if key not in found and len(found) < count:
                found.append(key)
        return found


NUMBERS = {  # Arrow types whose values a memoryview reads as Python does: its format code
    pa.int8(): "b",
    pa.int16(): "h",
    pa.int32(): "i",
    pa.int64(): "q",
    pa.uint8(): "B",
    pa.uint16(): "H",
    pa.uint32(): "I",
    pa.uint64(): "Q",
    pa.float32(): "f",
    pa.float64(): "d",
}


def _reader(column: pa.Array) -> Callable[[int], Any]:
    """How a column's value at a row is read as Python. Text and numbers with no null are read
    from the mapped pages' buffers (a third of an Arrow scalar's cost: a card reads every column
    of its row); any other column (nulls, decimals, dates, flags) through Arrow's scalar."""
    if column.null_count == 0 and len(column):
        raw = _raw_strings(column)
        if raw is not None:
            offsets, data = raw
            return lambda i: bytes(data[offsets[i] : offsets[i + 1]]).decode("utf-8")
        code = NUMBERS.get(column.type)
        if code is not None:
            width = column.type.bit_width // 8
            start, end = column.offset * width, (column.offset + len(column)) * width
            return memoryview(column.buffers()[1]).cast("B")[start:end].cast(code).__getitem__  # type: ignore[call-overload,no-any-return]
    return lambda i: column[i].as_py()


def _raw_strings(keys: pa.Array) -> tuple[memoryview, memoryview] | None:
    """The offsets and UTF-8 bytes of a string array without nulls, to compare keys without
    building Arrow scalars; None for other key types (compared as Python values)."""
    if keys.null_count or len(keys) == 0 or keys.type not in (pa.string(), pa.large_string()):
        return None
    _validity, offsets, data = keys.buffers()
    if offsets is None or data is None:
        return None
    raw = memoryview(offsets).cast("q") if keys.type == pa.large_string() else memoryview(offsets).cast("i")
    return raw[keys.offset : keys.offset + len(keys) + 1], memoryview(data)
