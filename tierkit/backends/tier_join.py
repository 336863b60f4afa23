"""The recent runs' tiers joined by customer, in DuckDB over Arrow tables in memory (the SQL of
tierkit/app/tier_history.py: only the backends speak to a database engine)."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pyarrow as pa


def join_tiers(
    sources: Sequence[int | pa.Table], before: pa.Table | None, tiers: Sequence[str]
) -> tuple[pa.Table, tuple[str, ...]]:
    """(customer_id, t0, t1, ...) sorted by id, one column per source: an int is the column `t{i}`
    of `before` (a join made before, whose codes are `tiers`), a table its (customer_id, tier)
    read now. A code k is `tiers[k - 1]` of the tiers returned (those given, then new ones); 0:
    not in that run. Customers of no source are left out."""
    fresh = [s for s in sources if isinstance(s, pa.Table)]
    con = duckdb.connect(config={"threads": 1})  # in the background of a server: one core at most
    try:
        for i, table in enumerate(fresh):
            con.register(f"r{i}", table)
        every = " UNION ALL ".join(
            f"SELECT customer_id, CAST(tier AS VARCHAR) AS tier, {i} AS run FROM r{i}" for i in range(len(fresh))
        )
        known = list(tiers) if before is not None and len(fresh) < len(sources) else []
        if fresh:
            named = con.sql(f"SELECT DISTINCT tier FROM ({every}) WHERE tier IS NOT NULL ORDER BY 1").fetchall()
            known += [str(r[0]) for r in named if str(r[0]) not in known]
        if len(known) > 255:
            raise ValueError(f"{len(known)} tiers: more than a code of one byte holds")
        tables = []
        if len(fresh) < len(sources):
            assert before is not None
            con.register("before", before)
            tables.append("before")
        if fresh:
            codes = ", ".join(
                f"CAST(coalesce(max(list_position($tiers, tier)) FILTER (WHERE run = {i}), 0) AS UTINYINT) AS n{i}"
                for i in range(len(fresh))
            )
            con.execute(
                f"CREATE TEMP TABLE fresh AS SELECT customer_id, {codes} FROM ({every}) "
                "WHERE customer_id IS NOT NULL GROUP BY customer_id",
                {"tiers": known},
            )
            tables.append("fresh")
        columns, read = [], 0
        for i, source in enumerate(sources):
            if isinstance(source, pa.Table):
                columns.append(f"coalesce(fresh.n{read}, 0)::UTINYINT AS t{i}")
                read += 1
            else:
                columns.append(f"coalesce(before.t{source}, 0)::UTINYINT AS t{i}")
        if len(tables) == 2:
            rows = "before FULL JOIN fresh ON before.customer_id = fresh.customer_id"
            key = "coalesce(before.customer_id, fresh.customer_id)"
        else:
            rows, key = tables[0], f"{tables[0]}.customer_id"
        anyone = " OR ".join(f"t{i} > 0" for i in range(len(sources)))
        joined = con.sql(
            f"SELECT * FROM (SELECT {key} AS customer_id, {', '.join(columns)} FROM {rows}) "
            f"WHERE {anyone} ORDER BY customer_id"
        ).fetch_arrow_table()
    finally:
        con.close()
    if joined.num_rows:  # one record batch: the lookup reads each column from one buffer
        joined = pa.Table.from_batches(joined.combine_chunks().to_batches(max_chunksize=joined.num_rows))
    return joined, tuple(known)
