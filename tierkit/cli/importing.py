"""`tierkit import KIND FILE...`: source files into the workspace, each imported whole or not at all."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from tierkit.app.maps import parse_file_maps, parse_maps
from tierkit.cli.options import DateFormatOpt, DelimiterOpt, JsonOpt, MapOpt, SheetOpt, WorkspaceOpt
from tierkit.cli.progress import steps
from tierkit.cli.render import err_console, print_json
from tierkit.errors import InputError


class TableKind(StrEnum):
    orders = "orders"
    customers = "customers"
    interactions = "interactions"
    contacts = "contacts"


__all__ = ["MapOpt", "SheetOpt", "import_command", "parse_maps"]  # cli.app takes them from here
FileMapOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--map",
        help="COLUMN=canonical, or FILE:COLUMN=canonical for one file, repeatable: which file column is which "
        "canonical column. A plain one applies to every file that has the column.",
    ),
]


def import_command(
    kind: Annotated[TableKind, typer.Argument(help="orders, customers, interactions or contacts")],
    files: Annotated[list[Path], typer.Argument(help="CSV, TSV, XLSX or Parquet files.")],
    workspace: WorkspaceOpt = None,
    map_: FileMapOpt = None,
    sheet: SheetOpt = None,
    delimiter: DelimiterOpt = None,
    date_format: DateFormatOpt = None,
    threshold: Annotated[float, typer.Option(help="Share of rejected rows above which a file is not imported.")] = 0.01,
    refunds: Annotated[
        bool | None,
        typer.Option("--refunds/--no-refunds", help="Negative amounts are refunds (default), or rejected."),
    ] = None,
    today: Annotated[str | None, typer.Option(help="Dates after this day are rejected (default: today).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Import source files into the workspace: mapped, typed, checked; bad rows to a rejects file.
    Every file is opened and mapped before any is imported: if one cannot be, none is."""
    from tierkit.app import importing

    maps = parse_file_maps(map_, kind.value, files)
    with steps(3 * len(files), json_out) as say:
        summary = importing.import_files(
            workspace, kind.value, files, maps, sheet, threshold, refunds, today, say, delimiter, date_format
        )
    if json_out:
        print_json(summary)
    else:
        _print_summary(summary)
        for note in summary.get("notes", []):  # e.g. customers erased before (tierkit forget)
            err_console.print(f"[yellow]note:[/yellow] {escape(note)}", highlight=False, soft_wrap=True)
    failures = [item for item in summary["files"] if item["status"] == "failed"]
    if summary.get("stopped"):  # one line per bad file; the last says that nothing was imported
        for item in failures[:-1]:
            said = escape(str(item["error"]))  # a message may hold [brackets]: never markup
            err_console.print(f"[red]error:[/red] {said}", highlight=False, soft_wrap=True, markup=True)
        total = len(summary["files"])
        if total == 1:
            raise InputError(failures[0]["error"])
        bad = ", ".join(Path(item["file"]).name for item in failures)
        raise InputError(
            f"{failures[-1]['error']} (nothing imported: {len(failures)} of {total} files cannot be: {bad})"
        )
    if failures:
        raise InputError(
            failures[0]["error"]
            if len(failures) == 1
            else f"{len(failures)} files not imported; first: {failures[0]['error']}"
        )


def _print_summary(summary: dict[str, Any]) -> None:
    for item in summary["files"]:
        if item["status"] in ("failed", "not imported"):
            continue
        if item["status"] == "not rechecked":
            err_console.print(f"[yellow]note:[/yellow] {item['error']}", highlight=False)
            continue
        line = (
            f"{item['file']}: {item['status']}: {item['read']:,} read, {item['imported']:,} imported, "
            f"{item['rejected']:,} rejected, {item['duplicates']:,} duplicates"
        )
        if item["refunds"]:
            line += f", {item['refunds']:,} refunds"
        err_console.print(line, highlight=False)
        if item["rejects_file"]:
            err_console.print(f"  rejected rows: {item['rejects_file']}", highlight=False)
