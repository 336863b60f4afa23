"""A run graded since, merged into the joined tiers of the runs before it, with Arrow alone.

Why: when a grading adds a run, the tier history's join (app/tier_history.py) was made again
in DuckDB from the join before and the new run: a hash aggregate, a full join and a sort of a
million ids, 0.84 CPU s at a million customers, in every worker, taken from the cores serving
cards (docs/benchmarks.md, round four). But both tables are already sorted by id and a new run
holds mostly the customers of the runs before: each of its customers is found in the join by
hash (`index_in`), its tier's code is set in a new column, and the few customers new to the
join are put in their places by a search of the sorted ids. Not here: a run with many
customers new to the join (a first join, a shop that doubled); the join in SQL does that.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tierkit.runs.lookup import SortedTable

NEWCOMERS_SHARE = 8  # at most one row in this many new to the join: each is a search of the ids


def merge_runs(
    sources: Sequence[int | pa.Table], before: SortedTable, tiers: Sequence[str]
) -> tuple[pa.Table, tuple[str, ...]] | None:
    """What `tierkit.backends.tier_join.join_tiers(sources, before.table, tiers)` gives (the same
    tiers; a new tier's code may differ), when the sources are columns of `before` and runs'
    tables (customer_id sorted and unique, as a run's lookup is), merged one after the other;
    None when a run brings more than one customer in NEWCOMERS_SHARE new to the join (or its
    ids are not unique), or there is nothing of `before` to keep."""
    if all(isinstance(s, pa.Table) for s in sources):
        return None
    joined, known, width = before, tuple(tiers), before.table.num_columns - 1
    names: list[str] = []
    for source in sources:
        if isinstance(source, pa.Table):
            added = _added(joined, known, source)
            if added is None:
                return None
            joined, known = SortedTable(before.path, "customer_id", added[0]), added[1]
            names.append(f"t{width}")
            width += 1
        else:
            names.append(f"t{source}")
    table = joined.table.select(["customer_id", *names])
    table = table.rename_columns(["customer_id", *(f"t{i}" for i in range(len(names)))])
    anyone = np.logical_or.reduce([c.to_numpy() for c in table.columns[1:]])
    if not anyone.all():  # customers only in the runs dropped from the history
        table = table.filter(pa.array(anyone))
    if table.num_rows:  # one record batch: the lookup reads each column from one buffer
        table = pa.Table.from_batches(table.combine_chunks().to_batches(max_chunksize=table.num_rows))
    return table, known


def _added(before: SortedTable, tiers: tuple[str, ...], run: pa.Table) -> tuple[pa.Table, tuple[str, ...]] | None:
    """`before` with one more column, the code of each customer's tier in `run` (0: not in it),
    and the customers new to it in their places; the tiers of the codes, new ones last."""
    ids = before.keys
    new_ids = run["customer_id"].combine_chunks().cast(ids.type)
    if len(new_ids) > 1 and pc.any(pc.equal(new_ids[1:], new_ids[:-1])).as_py():
        return None
    rows = before.rows
    if len(new_ids) >= rows and new_ids.slice(0, rows).equals(ids):
        # the join's customers, then the newcomers after them (ids given in sequence): no search
        at = pa.concat_arrays([pa.array(np.arange(rows, dtype=np.int32)), pa.nulls(len(new_ids) - rows, pa.int32())])
    else:
        at = pc.index_in(new_ids, value_set=ids)  # each customer's row in the join; null: new to it
    newcomer = pc.is_null(at)
    arrivals = new_ids.filter(newcomer)
    if len(arrivals) * NEWCOMERS_SHARE > len(new_ids):
        return None
    tier = run["tier"].combine_chunks().cast(pa.string())
    known = list(tiers)
    known += sorted(str(t) for t in pc.unique(tier.drop_null()).to_pylist() if t not in known)
    if len(known) > 255:
        raise ValueError(f"{len(known)} tiers: more than a code of one byte holds")
    codes = pc.fill_null(pc.add(pc.index_in(tier, value_set=pa.array(known, pa.string())), 1), 0)
    codes = codes.cast(pa.uint8()).to_numpy(zero_copy_only=False)
    count = len(arrivals)
    # where each newcomer goes: after the join's rows below it and the newcomers before it
    places = np.asarray(before.positions(arrivals.to_pylist()), dtype=np.int64) + np.arange(count)
    kept = np.ones(rows + count, dtype=bool)
    kept[places] = False
    old_rows = np.flatnonzero(kept)  # the join's row i goes to old_rows[i]
    order = np.empty(rows + count, dtype=np.int64)
    order[old_rows] = np.arange(rows)
    order[places] = rows + np.arange(count)
    merged_ids = pa.concat_arrays([ids, arrivals]).take(pa.array(order))
    found = at.fill_null(0).to_numpy(zero_copy_only=False)
    old = ~newcomer.to_numpy(zero_copy_only=False)  # the run's customers the join has
    width = before.table.num_columns - 1
    columns: dict[str, pa.Array] = {"customer_id": merged_ids}
    for i in range(width):
        column = np.zeros(rows + count, dtype=np.uint8)
        column[old_rows] = before.table[f"t{i}"].combine_chunks().to_numpy(zero_copy_only=False)
        columns[f"t{i}"] = pa.array(column)
    column = np.zeros(rows + count, dtype=np.uint8)
    column[old_rows[found[old]]] = codes[old]
    column[places] = codes[~old]
    columns[f"t{width}"] = pa.array(column)
    return pa.table(columns), tuple(known)
