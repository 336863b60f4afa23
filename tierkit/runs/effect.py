"""The tier in effect: a person's override while it lasts, else the graded tier.

One definition for every reader of a run (card, `show`, lists, exports, counts), so that
no front end serves the graded tier's service to a customer someone has moved by hand. The
run's file is never changed: overrides live in the workspace store and are joined at read time.
"""

from __future__ import annotations

from collections.abc import Mapping

import ibis
import ibis.expr.types as ir

MANUAL = "__manual"


def with_manual(result: ir.Table, manual: Mapping[str, str]) -> ir.Table:
    """The run's rows with `__manual`: the override's tier, or NULL."""
    import pyarrow as pa

    table = ibis.memtable(
        pa.table(
            {"customer_id": list(manual), MANUAL: [str(t) for t in manual.values()]},
            schema=pa.schema([("customer_id", pa.string()), (MANUAL, pa.string())]),
        )
    )
    return result.left_join(table, "customer_id").drop("customer_id_right")


def tier_in_effect(rows: ir.Table) -> ir.StringValue:
    """The override's tier where there is one, else the graded tier (rows from `with_manual`)."""
    return rows[MANUAL].coalesce(rows.tier.cast("string"))  # type: ignore[no-any-return]


def as_listed(rows: ir.Table, labels: Mapping[str, str]) -> ir.Table:
    """Rows from `with_manual` as a list shows them: `tier` and `tier_label` in effect, the graded
    ones as `automatic_tier` and `automatic_tier_label`, and `manual`."""
    manual = rows[MANUAL]
    label = (
        ibis.cases(*[(manual == k, v) for k, v in labels.items()], else_=rows.tier_label) if labels else rows.tier_label
    )
    listed = rows.mutate(
        automatic_tier=rows.tier.cast("string"),
        automatic_tier_label=rows.tier_label,
        tier=tier_in_effect(rows),
        tier_label=label,
        manual=manual.notnull(),
    )
    return listed.drop(MANUAL)


def counts_in_effect(graded: Mapping[str, int], moves: Mapping[str, tuple[str, str]]) -> dict[str, int]:
    """Customers per tier once overrides apply: `moves` maps customer -> (graded, manual)."""
    counts = {str(k): int(v) for k, v in graded.items()}
    for before, after in moves.values():
        if before == after:
            continue
        counts[before] = counts.get(before, 0) - 1
        counts[after] = counts.get(after, 0) + 1
    return counts
