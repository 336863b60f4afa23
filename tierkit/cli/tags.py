"""`tierkit tags set` and `tierkit tags remove`: tags a person gives, from the command line."""

from __future__ import annotations

import datetime as dt
import getpass
from typing import Annotated

import typer

from tierkit.cli.options import WorkspaceOpt
from tierkit.cli.render import err_console

tags_app = typer.Typer(help="Tags people give (集团关键人, a blacklisted complainer), audited, with expiry.")


@tags_app.command("set")
def set_command(
    customer_id: Annotated[str, typer.Argument(help="The customer.")],
    tag: Annotated[str, typer.Argument(help="The tag, e.g. 集团关键人 or serial_complainer.")],
    reason: Annotated[str, typer.Option(help="Why (kept and audited).")],
    expires: Annotated[str | None, typer.Option(help="Until when: 2027-06-30 or 2027-06-30T18:00+08:00.")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Give customers a tag by hand; the card shows it with who gave it and why."""
    from tierkit.app import tags

    until = _instant(expires) if expires else None
    tags.give_many(workspace, [customer_id], tag, reason, until, getpass.getuser())
    err_console.print(f"{customer_id}: tagged '{tag}'" + (f" until {until.isoformat()}" if until else ""))


@tags_app.command("remove")
def remove_command(customer_id: str, tag: str, workspace: WorkspaceOpt = None) -> None:
    """End a tag a person gave."""
    from tierkit.app import tags

    tags.remove_one(workspace, customer_id, tag, getpass.getuser())
    err_console.print(f"removed '{tag}' from {customer_id}")


def _instant(text: str) -> dt.datetime:
    """A date means the end of that day in China time; a time without a zone is China time too."""
    from tierkit.errors import InputError

    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return dt.datetime.combine(day, dt.time(23, 59, 59), dt.timezone(dt.timedelta(hours=8)))
        value = dt.datetime.fromisoformat(text)
    except ValueError as err:
        raise InputError(
            f"--expires '{text}': not a date like 2027-06-30 or a time like 2027-06-30T18:00+08:00"
        ) from err
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))
