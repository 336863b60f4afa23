"""The rows of one file, parsed and checked once and numbered by their place in it, for the
import to count, list and write (issue 16: the import was 10-20x a plain copy of the file).

Where the time went: numbering rows with a ROW_NUMBER() window over the file's scan holds the
whole pipeline under it (reading, parsing, checking) to one thread, and on two threads it cost
twice the CPU of the same work unnumbered. So, on DuckDB, the parsed and checked rows are kept
in a temporary table instead: the import asks for insertion order (`keep_row_order`), so the
table holds them in file order, parsed on every core, and its rowid is the position in the
file: row N is rowid N - 1. Everything after reads that table, never the file again.

Repeated ids are found once, by GROUP BY over that table, and kept apart with the ids that
earlier imports hold and this file has too: both are few, so the verdicts the counts, the
rejects and the part read are a scan of the table and two small joins. When there are none (a
clean first import), no join at all: DuckDB keeps the table's order through a scan, a filter
and COPY (its documented order preservation, which a JOIN does not have), so the part is
written without sorting it again by `_row` (`Staged.ordered`). Other backends number rows with
the window and let the engine plan the rest.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from tierkit.backends import Backend
from tierkit.canonical import TableSpec
from tierkit.ingest.quarantine import (
    IMPORTED,
    REJECTED,
    ImportRules,
    checked_rows,
    first_copies,
    prior_copies,
    repeated_ids,
    verdicts,
)
from tierkit.tables.readers import MappedFile, unreadable


@dataclass(frozen=True)
class Staged:
    """The judged rows, and whether a scan of them gives them in file order (no ORDER BY needed)."""

    rows: ir.Table
    ordered: bool


@contextmanager
def staged_rows(
    engine: Backend, mapped: MappedFile, spec: TableSpec, rules: ImportRules, earlier: ir.Table | None, source: str
) -> Iterator[Staged]:
    """Every row of the file with its canonical values, `attributes`, `__row`, the first failed
    check (`__column`, `__value`, `__reason`), `__verdict` and `_source` (= `source`). The file
    is read here, once: a row the engine cannot read is an error naming the file."""
    from tierkit.backends.duckdb import DuckDBBackend
    from tierkit.backends.kept_tables import KeptTables

    if not isinstance(engine, DuckDBBackend):
        checked = checked_rows(mapped, spec, rules)
        yield Staged(verdicts(checked, spec, mapped.headers, earlier).mutate(_source=ibis.literal(source)), False)
        return
    temp = KeptTables(engine)
    kept, table, has_rows = temp.keep, temp.table, temp.has_rows

    try:
        try:
            rows = kept(checked_rows(mapped, spec, rules, number=False), "rows")  # in file order
        except Exception as exc:  # the engine met a row it cannot read: the file is the cause
            raise unreadable(mapped.source, exc) from None  # its message may quote personal data
        checked = temp.numbered(rows)
        firsts = prior = None
        if spec.key is not None and spec.key in checked.columns:
            repeats = table(kept(repeated_ids(checked, spec), "repeats"))  # read apart: no copy of the rows
            kept_firsts = kept(first_copies(checked, spec, repeats), "firsts")
            firsts = table(kept_firsts) if has_rows(kept_firsts) else None
            if earlier is not None:
                ids = checked.select(__id=checked[spec.key]).distinct()
                shared = earlier.semi_join(ids, earlier[spec.key] == ids.__id)
                kept_prior = kept(prior_copies(shared, spec), "prior")
                prior = table(kept_prior) if has_rows(kept_prior) else None
            if firsts is None and prior is not None:
                firsts = table(kept_firsts)  # none: `verdicts` must not look for them again
        if firsts is None and prior is None:  # no id repeats: what `verdicts` gives, without a join
            judged = checked.mutate(__verdict=ibis.ifelse(checked.__reason.isnull(), IMPORTED, REJECTED))
        else:
            judged = verdicts(checked, spec, mapped.headers, None, firsts, prior)
        yield Staged(judged.mutate(_source=ibis.literal(source)), firsts is None and prior is None)
    finally:
        temp.drop()
