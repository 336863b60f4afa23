"""`tierkit forget`, `tierkit subject-export`, `tierkit audit prune`: a person's data erased or
handed over, and the audit log kept no longer than it should be."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from tierkit.cli.options import JsonOpt, LangOpt, WorkspaceOpt
from tierkit.cli.progress import steps
from tierkit.cli.render import err_console, print_json

audit_app = typer.Typer(help="The audit log: who viewed, changed or exported what.")


def _say(text: str) -> None:
    err_console.print(text, soft_wrap=True, highlight=False, markup=False)


def forget_command(
    customer_id: Annotated[str, typer.Argument(help="The customer to erase (with the records `tierkit link` joined).")],
    reason: Annotated[str, typer.Option("--reason", help="Why: the request and its date (audited).")],
    by: Annotated[str | None, typer.Option("--by", help="Who asks (default: your login).")] = None,
    workspace: WorkspaceOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Erase a person's personal data (name, phone, e-mail, ID number, birth date, address, free
    text) from every place the workspace keeps it; ids, tiers and metrics stay."""
    from tierkit.app.forget import forget

    with steps(7, json_out) as say:
        done = forget(workspace, customer_id, reason, by, say)
    if json_out:
        print_json(done)
    else:
        counts = done["counts"]
        said = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items() if v) or "nothing left to change"
        records = len(done["records"])
        _say(f"erased customer {done['customer_id']} ({records} record{'s' if records != 1 else ''}): {said}")
        _say(f"kept: {done['kept']}; recorded in the audit log")
    for note in done["notes"]:
        _say(f"note: {note}")


def subject_export_command(
    customer_id: Annotated[str, typer.Argument(help="The customer whose data to hand over.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the JSON here (default: stdout).")
    ] = None,
    workspace: WorkspaceOpt = None,
    lang: LangOpt = None,
) -> None:
    """Everything the workspace holds on a person, as one JSON document (PIPL art. 45)."""
    from tierkit.app.subject import subject_export

    done = subject_export(workspace, customer_id, output, lang=lang.value if lang else None)
    if output is None:
        print(json.dumps(done["document"], ensure_ascii=False, indent=2))
        return
    counts: dict[str, Any] = done["counts"]
    data = ", ".join(f"{k} {v}" for k, v in counts.pop("data").items() if v)
    rest = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items() if v)
    _say(f"wrote {done['output']}: data rows: {data or 'none'}; {rest or 'nothing else'}")


@audit_app.command("prune")
def prune_command(
    before: Annotated[
        str | None, typer.Option("--before", help="Remove entries before this date (default: the retention setting).")
    ] = None,
    workspace: WorkspaceOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Remove audit entries older than TIERKIT_AUDIT_RETENTION_DAYS (or --before); erasures stay."""
    from tierkit.app.retention import prune_audit

    done = prune_audit(workspace, before)
    if json_out:
        print_json(done)
    else:
        _say(f"removed {done['removed']:,} audit entries from before {done['before']} (erasure records kept)")
