"""A customer's history for the card: recent orders and interactions (paged), the tier in each
run (a small timeline), and the last contacts with what came of them.

Read at contact time from the workspace's own files and runs, so the agent sees the rows that
made the grade. Orders and interactions are read with a filter on the customer id, which the
Parquet statistics of an imported file turn into a few row groups, not a scan.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tierkit.app.customers import Caller, graded_row
from tierkit.app.serving import ServedWorkspace
from tierkit.backends import Backend, connect
from tierkit.errors import RequestError
from tierkit.policy.labels import tier_labels
from tierkit.store import complaints as complaint_log
from tierkit.store import contacts as contact_log

if TYPE_CHECKING:  # annotations only: the card's history reads no file through Ibis
    import ibis.expr.types as ir

SHOWN = {
    "orders": ("order_id", "ordered_at", "amount", "category", "channel", "discount", "due_at", "paid_at"),
    "interactions": ("interaction_id", "at", "kind", "channel", "topic", "satisfaction", "resolved"),
}
TIMELINE = 12  # runs on the card's timeline, newest last


def _table(backend: Backend, path: Path, kind: str) -> ir.Table:
    from tierkit.tables.readers import read_table

    if path.suffix.lower() == ".parquet" or path.is_dir():
        return backend.read_parquet(path)
    return read_table(backend, kind, path).table


def rows_of(
    served: ServedWorkspace, customer_id: str, kind: str, caller: Caller, limit: int = 20, offset: int = 0
) -> dict[str, Any]:
    """One page of a customer's orders or interactions, newest first: `{items, total, limit, offset}`."""
    if kind not in SHOWN:
        raise RequestError(f"no history of '{kind}' (orders, interactions)")
    graded_row(served.snapshot(), customer_id)
    source = served.workspace.data_file(kind)
    if source is None:
        return {"items": [], "total": 0, "limit": limit, "offset": offset}
    backend = connect("duckdb")
    table = _table(backend, source, kind)
    mine = table.filter(table.customer_id.cast("string") == customer_id)
    time = "ordered_at" if kind == "orders" else "at"
    columns = [c for c in SHOWN[kind] if c in mine.columns]
    key = [c for c in (SHOWN[kind][0],) if c in mine.columns]
    page = mine.select(*columns).order_by([mine[time].desc(), *key]).limit(limit, offset=offset)
    items = [{k: _plain(v) for k, v in row.items()} for row in backend.to_pyarrow(page).to_pylist()]
    total = int(backend.execute_scalar(mine.count()) or 0)
    served.audit.record(caller.name, caller.role, f"view_{kind}", customer_id, str(offset))
    return {"items": items, "total": total, "limit": limit, "offset": offset}


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, int | float | str | bool):
        return value
    return str(value)


def timeline(
    served: ServedWorkspace, customer_id: str, lang: str, current: str | None = None, near: int | None = None
) -> list[dict[str, Any]]:
    """The customer's tier in each of the last runs whose lookups are read (`recent_tiers`)."""
    return recent_tiers(served, customer_id, lang, current, near)[0]


def recent_tiers(
    served: ServedWorkspace, customer_id: str, lang: str, current: str | None = None, near: int | None = None
) -> tuple[list[dict[str, Any]], int]:
    """The customer's tier in each of the last runs, ordered by as-of date, and how many of them
    are left out for now: a run whose lookup a serving process is still building (a grading
    just done) is read in the background, not waited for. A run the customer is not in says so
    (`tier` None: not yet a customer, or no longer in the data). The runs' tiers are read from
    one table of them joined by customer (app/tier_history.py); until it is built, from each
    run's lookup. `current`: the run the card shows, else the one this process serves (a new
    one once it is ready). `near`: where the customer is in the card's run: in a run of mostly
    the same customers, the same place or close to it, and so is the place in each run the place
    to look in the next (`SortedTable.find_near`)."""
    recent = served.runs()[-TIMELINE:]
    current = current or served.snapshot().run.run_id
    ids = tuple(run.run_id for run in recent)
    joined = served.histories.get(ids, lambda: [served.snapshot(run_id) for run_id in ids], served.history_ready)
    # the runs the join holds in one lookup (app/tier_history.py); any other (a run graded since,
    # or all while the join is built) on its own
    known = joined.of(customer_id) if joined is not None else {}
    labelled = joined.labels(lang) if joined is not None else {}
    moments: list[dict[str, Any]] = []
    for run in recent:
        run_id = run.run_id
        if run_id in labelled:
            tier, named = known[run_id], labelled[run_id]
        else:
            snapshot = served.history_run(run_id)
            if snapshot is None:
                continue
            near, row = snapshot.table.find_near(customer_id, near, ["tier"])
            tier, named = (str(row["tier"]) if row else None), tier_labels(snapshot.policy, [], lang)
        moments.append(
            {
                "run_id": run_id,
                "as_of": run.manifest["as_of"],
                "tier": tier,
                "tier_label": named.get(tier, tier) if tier else None,
                "current": run_id == current,
            }
        )
    return moments, len(recent) - len(moments)


def contacts(served: ServedWorkspace, customer_id: str, limit: int = 5) -> list[dict[str, Any]]:
    if served.last_contacted(customer_id) is None:  # most customers: no contact, no query
        return []
    return contact_log.of_customer(served.store, customer_id, limit)


def complaints(served: ServedWorkspace, customer_id: str, limit: int = 5) -> list[dict[str, Any]]:
    """The last complaints, newest first, with status and resolution: those taken in the store
    and those in the imported interactions (kind `complaint`; `resolved` gives the status)."""
    mine = customer_id in served.complained()  # most customers: none taken, no query
    taken = complaint_log.of_customer(served.store, customer_id, limit) if mine else []
    found: list[dict[str, Any]] = [
        {
            "id": c.id,
            "at": c.at.isoformat(),
            "topic": c.topic,
            "channel": c.channel,
            "status": c.status,
            "resolution": c.resolution,
            "resolved_at": c.resolved_at.isoformat() if c.resolved_at else None,
            "source": "store",
        }
        for c in taken
    ]
    imported = served.complaint_file()
    for row in imported.find_all(customer_id) if imported is not None else []:
        resolved = row.get("resolved")
        found.append(
            {
                "id": None,
                "at": str(row["at"]),
                "topic": row.get("topic"),
                "channel": row.get("channel"),
                "status": None if resolved is None else ("resolved" if resolved else "open"),
                "resolution": None,
                "resolved_at": None,
                "source": "imported",
            }
        )
    return sorted(found, key=lambda c: str(c["at"]), reverse=True)[:limit]
