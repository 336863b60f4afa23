"""`tierkit plan`, `tierkit plan report`, `tierkit owners assign` and `tierkit owners reassign`: contact
plans, their coverage, and who owns each customer."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

from tierkit.cli.options import JsonOpt, WorkspaceOpt
from tierkit.cli.render import err_console, print_json

plan_app = typer.Typer(help="Contact plans per owner from the policy's cadence, and whether they happened.")
owners_app = typer.Typer(
    help="Who serves each customer (客户经理): assign owners to customers without one, or reassign one."
)
MonthOpt = Annotated[str, typer.Option("--month", help="The month, YYYY-MM.")]


@plan_app.callback(invoke_without_command=True)
def plan_command(
    ctx: typer.Context,
    month: Annotated[str | None, typer.Option("--month", help="The month, YYYY-MM.")] = None,
    owner: Annotated[str | None, typer.Option(help="One owner's plan only.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="plan.csv, .xlsx, .json or .parquet")] = None,
    workspace: WorkspaceOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Plan the month's contacts: for each owner, whom to contact, how often, by when, in order."""
    if ctx.invoked_subcommand is not None:
        return
    from tierkit.app.coverage import write_plan
    from tierkit.app.plans import make_plan
    from tierkit.errors import InputError

    if month is None:
        raise InputError("--month YYYY-MM is needed (e.g. tierkit plan --month 2026-10 -w WS --output plan.csv)")
    stored, rows, run, made = make_plan(workspace, month)
    written = write_plan(workspace, month, owner, output) if output is not None else None
    if json_out:
        print_json(
            {"month": month, "run_id": run.run_id, "plan": str(stored), "rows": rows, "made": made}
            | ({"output": str(output), "written": written} if output is not None else {})
        )
        return
    said = "made" if made else "already made (plans are kept as made: coverage is judged against them)"
    err_console.print(f"plan for {month} from run {run.run_id}: {rows:,} customers, {said}: {stored}", soft_wrap=True)
    if output is not None:
        err_console.print(f"wrote {written:,} rows to {output}", soft_wrap=True)


@plan_app.command("report")
def report_command(
    month: MonthOpt,
    priority: Annotated[
        str | None, typer.Option(help="Priority classes, e.g. A1,A2,A3 (default: highest cadence).")
    ] = None,
    workspace: WorkspaceOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Planned against logged contacts: priority coverage, per owner and class, never contacted, over-serviced."""
    from tierkit.app.coverage import report

    found = report(workspace, month, [p.strip() for p in priority.split(",") if p.strip()] if priority else None)
    if json_out:
        print_json(found)
        return
    cover = found["priority_coverage"]
    shown = "—" if cover is None else f"{cover:.1%}"
    print(
        f"{found['month']}  run {found['run_id']}  priority {', '.join(found['priority'])}: coverage {shown} "
        f"(target {found['target']:.0%}); never contacted {found['never_contacted']:,}; "
        f"over-serviced {found['over_serviced']:,}"
    )
    print(f"{'owner':<20} {'customers':>10} {'planned':>10} {'logged':>8} {'contacted':>10} {'priority':>9}")
    for o in found["by_owner"]:
        share = "—" if o["priority_coverage"] is None else f"{o['priority_coverage']:.0%}"
        planned = f"{o['planned_min']}-{o['planned_max']}"
        print(
            f"{o['owner']:<20} {o['customers']:>10,} {planned:>10} {o['logged']:>8,} {o['contacted']:>10,} {share:>9}"
        )
    print(f"{'class':<20} {'customers':>10} {'cadence':>10} {'per cust.':>10} {'never':>8} {'over':>6}")
    for c in found["by_class"]:
        cad = f"{c['cadence'][0]}-{c['cadence'][1]}"
        print(
            f"{c['label']:<20} {c['customers']:>10,} {cad:>10} {c['contacts_per_customer']:>10.2f} "
            f"{c['never_contacted']:>8,} {c['over_serviced']:>6,}"
        )


@owners_app.command("assign")
def assign_command(
    by: Annotated[str, typer.Option("--by", help="region or round-robin")] = "round-robin",
    owners: Annotated[
        str | None, typer.Option(help="Owners to deal to, e.g. 张三,李四 (default: those known).")
    ] = None,
    workspace: WorkspaceOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Give every customer without an owner one (by region, or round-robin by value); audited."""
    from tierkit.app.owners import assign
    from tierkit.errors import InputError

    if by not in ("region", "round-robin"):
        raise InputError(f"--by '{by}': use region or round-robin")
    names = [o.strip() for o in owners.split(",") if o.strip()] if owners else None
    found = assign(workspace, by, names, getpass.getuser())  # type: ignore[arg-type]
    if json_out:
        print_json(found)
        return
    err_console.print(
        f"assigned {found['assigned']:,} customers ({found['method']}): "
        + ", ".join(f"{k} {v:,}" for k, v in found["by_owner"].items()),
        soft_wrap=True,
    )


@owners_app.command("reassign")
def reassign_command(
    customer_id: Annotated[str, typer.Argument(help="The customer's id.")],
    owner: Annotated[str, typer.Argument(help="The new owner (客户经理).")],
    reason: Annotated[str, typer.Option("--reason", help="Why: kept with the assignment and audited.")],
    workspace: WorkspaceOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Give one customer another owner by hand, with the reason; plans made after follow it; audited."""
    from tierkit.app.customers import Caller
    from tierkit.app.owners import reassign

    found = reassign(workspace, customer_id, owner, reason, Caller(getpass.getuser(), "admin"))
    if json_out:
        print_json(found)
        return
    err_console.print(
        f"{found['customer_id']}: {found['previous_owner'] or '(none)'} -> {found['owner']}", soft_wrap=True
    )
