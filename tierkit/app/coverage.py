"""Did the plan happen: contacts logged in a month against that month's plan, per owner and per class.

The seeds' measures: the share of priority customers contacted at least once in the month
(**priority coverage**, target 60%), the average contacts per customer of each class (ABC客户每月
拜访频率) against its cadence, customers never contacted, and over-servicing (customers of a
class contacted more often than its maximum). Priority customers are the classes with the
highest cadence (A cells, VIP), or those named (`--priority`). All counted by the engine over the
stored plan and the month's contacts (tierkit.app.contact_log).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tierkit.app.contact_log import contacts
from tierkit.app.plans import Month, cadence, plan_file, plan_run
from tierkit.backends import connect
from tierkit.errors import InputError
from tierkit.policy.labels import tier_labels
from tierkit.runs.card import run_policy
from tierkit.runs.output import convert_parquet, output_format, scratch_path
from tierkit.settings import DEFAULT_LANG
from tierkit.workspace import Workspace

TARGET = 0.6  # the seeds' target for priority coverage


class PlanMissing(InputError):
    """The month has no plan yet for the published run (make one: tierkit plan, POST /plans)."""


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def report(workspace: Path | None, month_text: str, priority: list[str] | None = None) -> dict[str, Any]:
    """`{month, run_id, priority, priority_coverage, target, by_owner, by_class, never_contacted,
    over_serviced}` for the month's stored plan."""
    ws = Workspace.open(workspace)
    month = Month.parse(month_text)
    run = plan_run(ws, month)
    stored = plan_file(ws, month, run)
    if not stored.exists():
        raise PlanMissing(
            f"no plan for {month} and run {run.run_id}: make it first (tierkit plan -w {ws.root} --month {month})"
        )
    policy = run_policy(run)
    rates = cadence(policy)
    top = max(low for low, _ in rates.values())
    chosen = priority or sorted(t for t, (low, _) in rates.items() if low == top)
    unknown = [t for t in chosen if t not in rates]
    if unknown:
        raise InputError(f"--priority {', '.join(unknown)}: not a planned tier (planned: {', '.join(rates)})")
    backend = connect("duckdb")
    plan = backend.read_parquet(stored)
    seen = contacts(backend, ws, month.first, month.after)
    made = seen.group_by("customer_id").aggregate(logged=seen.count())
    rows = plan.left_join(made, "customer_id").drop("customer_id_right")
    rows = rows.mutate(
        logged=rows.logged.fill_null(0),
        priority_class=rows.tier.isin(chosen),
    )
    rows = rows.mutate(reached=(rows.logged > 0).cast("int64"), over=(rows.logged > rows.planned_max).cast("int64"))
    per_owner = rows.group_by("owner").aggregate(
        customers=rows.count(),
        planned_min=rows.planned_min.sum(),
        planned_max=rows.planned_max.sum(),
        logged=rows.logged.sum(),
        contacted=rows.reached.sum(),
        priority_customers=rows.priority_class.cast("int64").sum(),
        priority_contacted=(rows.priority_class.cast("int64") * rows.reached).sum(),
        never_contacted=(1 - rows.reached).sum(),
    )
    per_class = rows.group_by("tier").aggregate(
        customers=rows.count(),
        logged=rows.logged.sum(),
        contacted=rows.reached.sum(),
        never_contacted=(1 - rows.reached).sum(),
        over_serviced=rows.over.sum(),
        planned_min=rows.planned_min.max(),
        planned_max=rows.planned_max.max(),
    )
    owners = backend.to_pyarrow(per_owner.order_by("owner")).to_pylist()
    classes = backend.to_pyarrow(per_class).to_pylist()
    order = [str(t) for t in run.manifest.get("tiers") or []]
    classes.sort(key=lambda c: (order.index(c["tier"]) if c["tier"] in order else len(order), c["tier"]))
    labels = tier_labels(policy, order, ws.setting("lang", DEFAULT_LANG))
    priority_n = sum(int(o["priority_customers"] or 0) for o in owners)
    priority_hit = sum(int(o["priority_contacted"] or 0) for o in owners)
    return {
        "month": str(month),
        "run_id": run.run_id,
        "priority": chosen,
        "priority_coverage": _share(priority_hit, priority_n),
        "target": TARGET,
        "by_owner": [
            {
                "owner": o["owner"],
                "customers": int(o["customers"]),
                "planned_min": int(o["planned_min"] or 0),
                "planned_max": int(o["planned_max"] or 0),
                "logged": int(o["logged"] or 0),
                "contacted": int(o["contacted"] or 0),
                "priority_coverage": _share(int(o["priority_contacted"] or 0), int(o["priority_customers"] or 0)),
                "never_contacted": int(o["never_contacted"] or 0),
            }
            for o in owners
        ],
        "by_class": [
            {
                "class": c["tier"],
                "label": labels.get(c["tier"], c["tier"]),
                "customers": int(c["customers"]),
                "cadence": [int(c["planned_min"]), int(c["planned_max"])],
                "contacts_per_customer": round(int(c["logged"] or 0) / int(c["customers"]), 2),
                "contacted": int(c["contacted"] or 0),
                "never_contacted": int(c["never_contacted"] or 0),
                "over_serviced": int(c["over_serviced"] or 0),
            }
            for c in classes
        ],
        "never_contacted": sum(int(o["never_contacted"] or 0) for o in owners),
        "over_serviced": sum(int(c["over_serviced"] or 0) for c in classes),
    }


def write_plan(workspace: Path | None, month_text: str, owner: str | None, output: Path) -> int:
    """The stored plan (one owner's, or all) as CSV, XLSX, JSON or Parquet, in priority order."""
    ws = Workspace.open(workspace)
    month = Month.parse(month_text)
    stored = plan_file(ws, month, plan_run(ws, month))
    backend = connect("duckdb")
    rows = backend.read_parquet(stored)
    if owner is not None:
        known = sorted(str(o) for o in backend.to_pyarrow(rows.select("owner").distinct())["owner"].to_pylist())
        if owner not in known:
            raise InputError(f"--owner '{owner}' has no customer in the plan of {month} (owners: {', '.join(known)})")
        rows = rows.filter(rows.owner == owner)
    output_format(output)
    with scratch_path(output.parent if output.parent.exists() else Path("."), ".parquet") as scratch:
        backend.write_parquet(rows.order_by([rows.owner, rows.priority]), scratch)
        return convert_parquet(scratch, output)
