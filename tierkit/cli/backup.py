"""`tierkit backup`, `tierkit restore`, `tierkit verify`: a workspace as one archive, and checked."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tierkit.cli.options import JsonOpt, WorkspaceOpt
from tierkit.cli.render import err_console, print_json


def _size(count: int) -> str:
    return f"{count / 1e6:,.1f} MB" if count >= 100_000 else f"{count:,} bytes"


def backup_command(
    out: Annotated[Path, typer.Argument(help="The archive to write: OUT.tar.gz (compressed) or OUT.tar; a new file.")],
    workspace: WorkspaceOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Back up a workspace into one archive while it serves: runs, data, policy and the store."""
    from tierkit.app.backup import backup

    done = backup(workspace, out)
    if json_out:
        print_json(done)
    else:
        current = f", current {done['current_run']}" if done["current_run"] else ""
        err_console.print(
            f"wrote {done['archive']}: {done['files']} files, {_size(done['bytes'])}, {done['runs']} runs{current}, "
            f"store {done['store']} at revision {done['revision']}",
            soft_wrap=True,
            highlight=False,
            markup=False,
        )
    for warning in done["warnings"]:
        err_console.print(f"note: {warning}", soft_wrap=True, highlight=False, markup=False)
    if done["note"]:
        err_console.print(f"note: {done['note']}", soft_wrap=True, highlight=False, markup=False)


def restore_command(
    archive: Annotated[Path, typer.Argument(help="An archive `tierkit backup` wrote.")],
    workspace: WorkspaceOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Restore a backup into a new or empty folder (-w), every checksum checked first."""
    from tierkit.app.restore import restore

    done = restore(archive, workspace)
    if json_out:
        print_json(done)
    else:
        current = f", current {done['current_run']}" if done["current_run"] else ""
        err_console.print(
            f"restored {done['workspace']} from the backup of {done['created_at']}: {done['files']} files, "
            f"{done['runs']} runs{current}",
            soft_wrap=True,
            highlight=False,
            markup=False,
        )
    if done["note"]:
        err_console.print(f"note: {done['note']}", soft_wrap=True, highlight=False, markup=False)


def verify_command(workspace: WorkspaceOpt = None, json_out: JsonOpt = False) -> None:
    """Check every run and imported part against its checksums, the store's catalog and the
    current run; exit 1 when anything is wrong."""
    from tierkit.app.verify import verify

    done = verify(workspace)
    problems = done["problems"]
    if json_out:
        print_json([{"where": p["where"], "problem": p["problem"]} for p in problems])
    else:
        for problem in problems:
            print(problem["line"])
        verdict = f"{len(problems)} problem{'' if len(problems) == 1 else 's'}" if problems else "ok"
        err_console.print(
            f"{verdict}: {done['runs']} runs and {done['parts']} imported parts checked in {done['workspace']}",
            soft_wrap=True,
            highlight=False,
            markup=False,
        )
    if problems:
        raise typer.Exit(1)
