"""`tierkit schedule`: the workspace's scheduled re-grading (tierkit.yaml `schedule:`), which
`tierkit serve` runs in the background: its status, and running a due one by hand."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer
from rich.markup import escape

from tierkit.cli.options import JsonOpt, WorkspaceOpt
from tierkit.cli.render import console, emit, err_console

schedule_app = typer.Typer(
    help="Scheduled re-grading (tierkit.yaml `schedule:`, cron): the last and next run; run a due one now."
)


def _when(text: str | None) -> str:
    """An ISO instant as people read it: 2026-03-01 02:00:00+08:00."""
    return dt.datetime.fromisoformat(text).isoformat(sep=" ", timespec="seconds") if text else "-"


def _took(slot: dict[str, Any]) -> str:
    if not slot["started_at"] or not slot["finished_at"]:
        return ""
    seconds = (dt.datetime.fromisoformat(slot["finished_at"]) - dt.datetime.fromisoformat(slot["started_at"])).seconds
    return f" in {seconds // 60} min {seconds % 60} s" if seconds >= 60 else f" in {seconds} s"


def _slot_line(slot: dict[str, Any]) -> str:
    head = f"{_when(slot['slot_local'])}  {slot['state']}"
    if slot["state"] == "done":
        return f"{head}: run {slot['run_id']} published{_took(slot)}"
    if slot["state"] in ("running", "interrupted"):
        return f"{head} (started {_when(slot['started_at'])} by {slot['holder']})"
    return f"{head}: {slot['error']}"


def _print_status(found: dict[str, Any]) -> None:
    if found["cron"] is None:
        console.print(
            f'no schedule: add e.g. schedule: "0 2 1 * *" to {escape(found["workspace"])}/tierkit.yaml',
            highlight=False,
            soft_wrap=True,
        )
    else:
        console.print(f"schedule   {escape(found['cron'])} ({found['timezone']})", highlight=False)
    last = found["last"]
    console.print(f"last       {escape(_slot_line(last)) if last else 'none yet'}", highlight=False, soft_wrap=True)
    if found["next"]:
        utc = _when(found["next_utc"]).removesuffix("+00:00")
        console.print(f"next       {_when(found['next'])} ({utc} UTC)", highlight=False)
        later = ", ".join(_when(u["at"]) for u in found["upcoming"][1:])
        if later:
            console.print(f"then       {later}", highlight=False, soft_wrap=True)
    if found["due"]:
        console.print(
            f"due now    yes: the slot of {_when(found['due_slot_local'])} has not run "
            "(tierkit serve runs it within its loop interval; or tierkit schedule run-due)",
            highlight=False,
            soft_wrap=True,
        )
    elif found["cron"] is not None:
        console.print("due now    no", highlight=False)
    lock = found["grading"]
    if lock is not None:
        state = "lapsed" if lock["lapsed"] else "grading now"
        console.print(
            f"lock       {state}: {escape(lock['holder'])} since {_when(lock['acquired_at'])}, "
            f"until {_when(lock['expires_at'])}",
            highlight=False,
            soft_wrap=True,
        )


@schedule_app.command("status")
def status_command(
    workspace: WorkspaceOpt = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many past slots to give with --json.")] = 10,
    json_out: JsonOpt = False,
) -> None:
    """The schedule, its last run (state, run, error), the next due time, and whether one is due now."""
    from tierkit.app import schedule

    emit(schedule.status(workspace, limit=limit), json_out, _print_status)


@schedule_app.command("run-due")
def run_due_command(
    workspace: WorkspaceOpt = None,
    retry: Annotated[bool, typer.Option("--retry", help="Grade the latest slot again if it failed.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Grade and publish now if a scheduled grading is due (for hosts without `tierkit serve`, e.g.
    from cron or a systemd timer); exit 1 when the grading failed."""
    from tierkit.app import schedule

    done = schedule.run_due_now(workspace, retry=retry)
    ran = done["ran"]
    if json_out:
        emit(done, True, _print_status)
    elif ran is None:
        console.print("nothing due", highlight=False)
        _print_status(done["status"])
    elif ran["state"] == "done":
        err_console.print(f"graded the slot of {_when(ran['slot_local'])}: run {ran['run_id']} published{_took(ran)}")
    if ran is not None and ran["state"] != "done":
        if not json_out:
            err_console.print(
                f"[red]error:[/red] the slot of {_when(ran['slot_local'])} failed: {escape(str(ran['error']))}",
                soft_wrap=True,
            )
        raise typer.Exit(1)
