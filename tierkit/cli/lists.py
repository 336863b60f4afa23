"""`tierkit list birthdays`: the care list of a month, from the published run."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated, Any

import typer

from tierkit.cli.options import JsonOpt, LangOpt, WorkspaceOpt
from tierkit.cli.render import console, emit, err_console

list_app = typer.Typer(help="Care lists from the published run (生日关怀: birthdays of a month).")

MonthOpt = Annotated[str | None, typer.Option("--month", help="The month, YYYY-MM (default: this month).")]
TierOpt = Annotated[
    str | None, typer.Option("--tier", help="A tier, in effect after overrides (default: the top tier); 'all'.")
]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Write the list to a .csv or .xlsx file.")]

COLUMNS = ("day", "customer_id", "birth_date", "turns", "tier_label", "name", "phone")
HEADINGS = {
    "zh": dict(zip(COLUMNS, ("日", "客户", "生日", "满岁", "等级", "姓名", "电话"), strict=True)),
    "en": dict(zip(COLUMNS, ("Day", "Customer", "Born", "Turns", "Tier", "Name", "Phone"), strict=True)),
}


@list_app.command("birthdays")
def birthdays_command(
    month: MonthOpt = None,
    tier: TierOpt = None,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = None,
    lang: LangOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Customers of a tier (default: the top one) whose birthday is in a month, by day."""
    from tierkit.app import lists, workspaces
    from tierkit.app.customers import Caller

    lang_code = lang.value if lang is not None else workspaces.language(workspace)
    listed = lists.birthdays(workspace, month, tier, Caller(getpass.getuser(), "admin"), lang_code)
    if output is not None:
        count = lists.write_list(listed, output)
        err_console.print(f"{count} customers written to {output}")
        return
    emit(listed, json_out, lambda value: _print(value, lang_code))


def _print(listed: dict[str, Any], lang: str) -> None:
    from rich.table import Table

    items = listed["items"]
    heads = HEADINGS.get(lang, HEADINGS["en"])
    title = f"{listed['month']} · {listed['tier']} · {len(items)} · run {listed['run_id']}"
    table = Table(title=title, title_justify="left")
    shown = [c for c in COLUMNS if c not in ("name", "phone") or (items and c in items[0])]
    for column in shown:
        table.add_column(heads[column], justify="right" if column in ("day", "turns") else "left")
    for item in items:
        cells = {**item, "tier_label": item["tier_label"] + (" *" if item["manual"] else "")}
        table.add_row(*[str(cells.get(c) if cells.get(c) is not None else "") for c in shown])
    console.print(table)
    if any(item["manual"] for item in items):
        console.print("* " + ("人工调整的等级" if lang == "zh" else "tier set by a person (override)"))
