"""Who serves each customer (客户经理, 业务员): the customers file's owner, and the assignments made here.

An owner comes from the customers file (headers 客户经理, 业务员, 销售代表, 负责人, owner) or from
`tierkit owners assign`, which gives the customers without one an owner and keeps each
assignment in `data/owners.parquet` (customer_id, owner, method, by, at, reason: the latest wins
over the file's). Assigning is computed by the engine: by region (the owner who already serves
the most customers of the customer's region), or round-robin (customers ranked by value dealt to
the owners in turn, so that each gets a like share of value). One customer is given another
owner by hand with `reassign` (method "manual", with the reason: `tierkit owners reassign`,
`PUT /customers/{id}/owner`). Every assignment is audited. Nothing reads the owners once per
process: plans, alerts and reassignments read the file anew, so a new owner counts at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from tierkit.app.customers import Caller
from tierkit.app.serving import ServedWorkspace
from tierkit.app.writing import writing
from tierkit.backends import Backend, connect
from tierkit.errors import ConflictError, InputError, NotFoundError, ValueRefusedError
from tierkit.runs.files import current_run_id, load_run, store_of
from tierkit.store.audit import AuditLog
from tierkit.tables.readers import read_table
from tierkit.workspace import Workspace

ASSIGNMENTS = "owners.parquet"
Method = Literal["region", "round-robin"]
MAX_OWNER, MAX_REASON = 100, 2000
_WRITING = threading.Lock()  # one writer of the assignments file per process (and a file lock across them)


def _customers(backend: Backend, ws: Workspace) -> ir.Table:
    source = ws.data_file("customers")
    if source is None:
        raise InputError(f"{ws.root}: no customers imported (tierkit import customers FILE -w {ws.root})")
    rows = read_table(backend, "customers", source)
    table = rows.table
    return table.select(
        customer_id=table.customer_id.cast("string"),
        owner=rows.value(table, "owner").cast("string"),
        region=rows.value(table, "region").cast("string"),
    )


def owner_table(backend: Backend, ws: Workspace) -> ir.Table | None:
    """customer_id -> owner (NULL: none yet), the latest assignment over the customers file's."""
    try:
        people = _customers(backend, ws)
    except InputError:
        return None
    assigned = ws.data_dir / ASSIGNMENTS
    if not assigned.exists():
        return people.select("customer_id", "owner")
    made = backend.read_parquet(assigned)
    latest = made.mutate(n=ibis.row_number().over(group_by=made.customer_id, order_by=made["at"].desc()))
    latest = latest.filter(latest.n == 0).select("customer_id", assigned_owner="owner")
    joined = people.left_join(latest, "customer_id")
    return joined.select(customer_id=joined.customer_id, owner=joined.assigned_owner.coalesce(joined.owner))


def _value(backend: Backend, ws: Workspace) -> ir.Table | None:
    run_id = current_run_id(ws)
    if run_id is None:
        return None
    run = load_run(ws, run_id)
    metric = run.manifest.get("value_metric")
    result = backend.read_parquet(run.result)
    if not metric or metric not in result.columns:
        return None
    return result.select("customer_id", value=result[metric].cast("decimal(38, 2)"))


def assign(workspace: Path | None, by: Method, owners: list[str] | None, caller: str) -> dict[str, Any]:
    """Give every customer without an owner one; returns `{assigned, by_owner, method}`."""
    ws = Workspace.open(workspace)
    with _writing(ws):  # who has none is read and their owners written as one step
        return _assign(ws, by, owners, caller)


def _assign(ws: Workspace, by: Method, owners: list[str] | None, caller: str) -> dict[str, Any]:
    backend = connect("duckdb")
    current = owner_table(backend, ws)
    if current is None:
        raise InputError(f"{ws.root}: no customers imported (tierkit import customers FILE -w {ws.root})")
    known = sorted(str(o) for o in backend.to_pyarrow(current.select("owner").distinct())["owner"].to_pylist() if o)
    chosen = sorted(set(owners)) if owners else known
    if not chosen:
        raise InputError("no owner to assign: name them with --owners 张三,李四 (no customer has one yet)")
    people = _customers(backend, ws).select("customer_id", "region")
    rows = current.join(people, "customer_id")
    missing = rows.filter(rows.owner.isnull() | (rows.owner == ""))
    value = _value(backend, ws)
    if value is not None:
        missing = missing.left_join(value, "customer_id").drop("customer_id_right")
    else:
        missing = missing.mutate(value=ibis.null("decimal(38, 2)"))
    dealt = _round_robin(missing, chosen)
    if by == "region":
        dealt = _by_region(rows, dealt, chosen)
    found = backend.to_pyarrow(dealt.select("customer_id", "owner").order_by("customer_id"))
    now = dt.datetime.now(dt.UTC)
    made = pa.table(
        {
            "customer_id": found["customer_id"],
            "owner": found["owner"],
            "method": pa.array([by] * found.num_rows, pa.string()),
            "by": pa.array([caller] * found.num_rows, pa.string()),
            "at": pa.array([now] * found.num_rows, pa.timestamp("us", tz="UTC")),
            "reason": pa.nulls(found.num_rows, pa.string()),
        }
    )
    _append(ws, made, locked=True)
    counts: dict[str, int] = {}
    for owner in found["owner"].to_pylist():
        counts[str(owner)] = counts.get(str(owner), 0) + 1
    audit = AuditLog(store_of(ws))
    audit.record(caller, "admin", "assign_owners", by, f"{found.num_rows} customers", now=True)
    audit.close()
    return {"assigned": found.num_rows, "method": by, "by_owner": dict(sorted(counts.items()))}


def _round_robin(missing: ir.Table, owners: list[str]) -> ir.Table:
    """Customers by value (highest first, id breaking ties) dealt to `owners` in turn."""
    order = [missing.value.desc(), missing.customer_id]
    ranked = missing.mutate(turn=(ibis.row_number().over(order_by=order) % len(owners)).cast("int64"))
    names = ibis.memtable(pa.table({"turn": list(range(len(owners))), "owner_dealt": owners}))
    joined = ranked.join(names, "turn")
    return joined.select("customer_id", "region", owner=joined.owner_dealt)


def _by_region(rows: ir.Table, dealt: ir.Table, owners: list[str]) -> ir.Table:
    """The owner serving the most customers of the region (fewest customers overall, then name,
    breaking ties); a region nobody serves yet keeps its round-robin owner."""
    served = rows.filter(rows.owner.notnull() & (rows.owner != "") & rows.owner.isin(owners))
    per_region = served.group_by(["region", "owner"]).aggregate(n=ibis._.count())
    sizes = served.group_by("owner").aggregate(total=ibis._.count())
    ranked = per_region.join(sizes, "owner")
    ranked = ranked.mutate(
        pick=ibis.row_number().over(group_by=ranked.region, order_by=[ranked.n.desc(), ranked.total, ranked.owner])
    )
    best = ranked.filter(ranked.pick == 0).select("region", region_owner="owner")
    joined = dealt.left_join(best, "region")
    return joined.select(
        customer_id=joined.customer_id, region=joined.region, owner=joined.region_owner.coalesce(joined.owner)
    )


def reassign(
    workspace: Path | ServedWorkspace | None, customer_id: str, owner: str, reason: str, caller: Caller
) -> dict[str, Any]:
    """Give one customer another owner by hand, with the reason (method "manual"; the latest
    assignment wins, so plans and alerts made after it follow the new owner); audited
    (`reassign_owner`: "old -> new: reason"). Returns `{customer_id, owner, previous_owner}`."""
    ws = workspace.workspace if isinstance(workspace, ServedWorkspace) else Workspace.open(workspace)
    owner, reason = owner.strip(), reason.strip()
    if not owner or len(owner) > MAX_OWNER:
        raise ValueRefusedError(f"owner: give a name of 1 to {MAX_OWNER} characters")
    if not reason or len(reason) > MAX_REASON:
        raise ValueRefusedError(f"a reassignment needs a reason (1 to {MAX_REASON} characters)")
    backend = connect("duckdb")
    with _writing(ws):  # the owner read and the assignment written as one step
        current = owner_table(backend, ws)
        if current is None:
            raise NotFoundError(f"customer '{customer_id}' is unknown: the workspace has no customers imported")
        found = backend.to_pyarrow(current.filter(current.customer_id == customer_id).select("owner").limit(1))
        if found.num_rows == 0:
            raise NotFoundError(f"customer '{customer_id}' is not one of the workspace's customers")
        before = found["owner"][0].as_py() or None
        if before == owner:
            raise ConflictError(f"customer '{customer_id}' is already served by {owner}")
        now = dt.datetime.now(dt.UTC)
        made = pa.table(
            {
                "customer_id": pa.array([customer_id], pa.string()),
                "owner": pa.array([owner], pa.string()),
                "method": pa.array(["manual"], pa.string()),
                "by": pa.array([caller.name], pa.string()),
                "at": pa.array([now], pa.timestamp("us", tz="UTC")),
                "reason": pa.array([reason], pa.string()),
            }
        )
        _append(ws, made, locked=True)
    detail = f"{before or '(none)'} -> {owner}: {reason}"
    if isinstance(workspace, ServedWorkspace):
        workspace.audit.record(caller.name, caller.role, "reassign_owner", customer_id, detail, now=True)
    else:
        audit = AuditLog(store_of(ws))
        audit.record(caller.name, caller.role, "reassign_owner", customer_id, detail, now=True)
        audit.close()
    return {"customer_id": customer_id, "owner": owner, "previous_owner": before}


@contextlib.contextmanager
def _writing(ws: Workspace) -> Iterator[None]:
    """The assignments file to ourselves: the workspace's write lock (app.writing: other
    processes and threads) and then a lock in this process (where the system has no file locks),
    so that two workers never lose each other's assignment."""
    ws.data_dir.mkdir(parents=True, exist_ok=True)
    with writing(ws, "owners"), _WRITING:
        yield


def _append(ws: Workspace, made: pa.Table, locked: bool = False) -> None:
    """Add assignments to the file; one written before reasons were kept reads with NULL ones."""
    import pyarrow.parquet as pq

    if not locked:
        with _writing(ws):
            _append(ws, made, locked=True)
        return
    target = ws.data_dir / ASSIGNMENTS
    if target.exists():
        made = pa.concat_tables([pq.read_table(target), made], promote_options="permissive")
    scratch = target.with_suffix(".tmp")
    pq.write_table(made, scratch)
    scratch.replace(target)  # readers see the old file or the new, never half of one
