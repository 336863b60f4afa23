"""`tierkit alerts` (the inbox, delivery, the dead-letter list, the log) and `tierkit webhooks`."""

from __future__ import annotations

import getpass
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from tierkit.cli.options import JsonOpt, WorkspaceOpt
from tierkit.cli.render import console, emit, err_console

alerts_app = typer.Typer(help="What published runs changed for customers: the inbox, webhook delivery, dead letters.")
webhooks_app = typer.Typer(help="Where alerts are POSTed (signed JSON), with retries and a dead-letter list.")


@alerts_app.command("list")
def list_command(
    owner: Annotated[str | None, typer.Option(help="One owner's alerts.")] = None,
    event: Annotated[
        str | None, typer.Option(help="tier_up, tier_down, churn_risk, tag_added, key_customer_lost")
    ] = None,
    run: Annotated[str | None, typer.Option(help="One run's alerts (an id, 'current', 'previous').")] = None,
    unread: Annotated[bool, typer.Option("--unread", help="Only alerts nobody has read.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many, newest first.")] = 20,
    workspace: WorkspaceOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The alerts, newest first, with their reasons."""
    from tierkit.app import alerts
    from tierkit.app.customers import Caller
    from tierkit.app.serving import ServedWorkspace

    served = ServedWorkspace.open(workspace)
    try:
        caller = Caller(getpass.getuser(), "admin")
        found = alerts.inbox(served, caller, owner=owner, event=event, run=run, unread=unread, limit=limit)
    finally:
        served.close()
    emit(found, json_out, _print_alerts)


def _print_alerts(found: dict[str, Any]) -> None:
    counts = ", ".join(f"{event} {n:,}" for event, n in found["by_event"].items()) or "none"
    console.print(f"{found['total']:,} alerts ({counts}); {found['unread']:,} unread")
    for alert in found["alerts"]:
        who = f" [{escape(alert['owner'])}]" if alert["owner"] else ""
        console.print(f"#{alert['id']} {alert['event']} {escape(alert['customer_id'])}{who}", soft_wrap=True)
        for reason in alert["reasons"]:
            console.print(f"    {escape(reason)}", soft_wrap=True)


@alerts_app.command("deliver")
def deliver_command(
    wait: Annotated[
        bool, typer.Option(help="Wait for retries until nothing is pending (--no-wait: send what is due).")
    ] = True,
    workspace: WorkspaceOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Send pending alerts to the webhooks; returns when all are delivered or dead-lettered."""
    from tierkit.app.webhooks import deliver

    done = deliver(workspace, wait=wait)
    emit(
        done,
        json_out,
        lambda d: err_console.print(
            f"{d['delivered']:,} events delivered in {d['posts']:,} POSTs; {d['dead_letter']:,} in the dead-letter "
            f"list; {d['pending']:,} pending"
        ),
    )


@alerts_app.command("dead")
def dead_command(workspace: WorkspaceOpt = None, json_out: JsonOpt = False) -> None:
    """The dead-letter list: events whose delivery failed after every retry."""
    from tierkit.app.webhooks import dead_letters

    rows = dead_letters(workspace)
    emit(rows, json_out, lambda r: _table(r, ["webhook_id", "event", "customer_id", "attempts", "last_error"]))


@alerts_app.command("retry")
def retry_command(
    hook: Annotated[str | None, typer.Option("--webhook", help="Only this webhook's dead letters.")] = None,
    workspace: WorkspaceOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Put the dead-letter list back to pending (attempts from zero); `alerts deliver` sends it."""
    from tierkit.app.webhooks import send_again

    again = send_again(workspace, hook)
    emit(
        {"pending_again": again},
        json_out,
        lambda d: err_console.print(f"{d['pending_again']:,} deliveries pending again"),
    )


@alerts_app.command("log")
def log_command(
    hook: Annotated[str | None, typer.Option("--webhook", help="Only this webhook's POSTs.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 20,
    workspace: WorkspaceOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The delivery log: every POST, its status or error, and how long it took."""
    from tierkit.app.webhooks import delivery_log

    rows = delivery_log(workspace, hook, limit)
    emit(
        rows, json_out, lambda r: _table(r, ["at", "webhook_id", "events", "attempt", "status", "error", "duration_ms"])
    )


def _table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    table = Table(*columns)
    for row in rows:
        table.add_row(*(escape("" if row.get(c) is None else str(row[c])) for c in columns))
    console.print(table)


@webhooks_app.command("add")
def add_command(
    url: Annotated[str, typer.Argument(help="http:// or https:// URL that receives the POSTs.")],
    events: Annotated[str, typer.Option(help="Comma-separated events (default: all).")] = "",
    batch: Annotated[int, typer.Option(help="Events per POST (1: one event object per POST).")] = 100,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for an answer.")] = 10.0,
    retries: Annotated[int, typer.Option(help="Retries before the dead-letter list.")] = 5,
    backoff: Annotated[float, typer.Option(help="Seconds before the first retry, doubled after each.")] = 2.0,
    workspace: WorkspaceOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Add a webhook; prints its signing secret once (keep it: it is never shown again)."""
    from tierkit.app.webhooks import add

    options = {"batch": batch, "timeout": timeout, "retries": retries, "backoff": backoff}
    hook = add(workspace, url, events.split(","), getpass.getuser(), **options)
    if json_out:
        emit({"id": hook["id"], "secret": hook["secret"], "url": hook["url"], "events": hook["events"]}, True, print)
        return
    err_console.print(f"webhook {hook['id']} → {escape(hook['url'])} ({', '.join(hook['events'])})", soft_wrap=True)
    err_console.print("signing secret (shown once; X-Tierkit-Signature is HMAC-SHA256 of TIMESTAMP.BODY with it):")
    console.print(hook["secret"], soft_wrap=True)


@webhooks_app.command("list")
def hooks_command(workspace: WorkspaceOpt = None, json_out: JsonOpt = False) -> None:
    """The webhooks (never their secrets) and their deliveries by state."""
    from tierkit.app.webhooks import listed

    rows = listed(workspace)
    shown = [
        {
            **row,
            "events": ",".join(row["events"]),
            "deliveries": ", ".join(f"{k} {v}" for k, v in sorted(row["deliveries"].items())),
        }
        for row in rows
    ]
    emit(rows, json_out, lambda _: _table(shown, ["id", "url", "events", "batch", "active", "deliveries"]))


@webhooks_app.command("remove")
def remove_command(
    hook_id: Annotated[str, typer.Argument(help="The webhook's id (wh_...).")],
    workspace: WorkspaceOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Stop sending to a webhook (its log stays)."""
    from tierkit.app.webhooks import remove

    done = remove(workspace, hook_id, getpass.getuser())
    emit(done, json_out, lambda d: err_console.print(f"webhook {d['id']} removed"))
