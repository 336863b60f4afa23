"""Options shared by the commands, declared once (typer `Annotated` aliases)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperOption

_shown_type = TyperOption.display_type_rich


def _flag_type(self: TyperOption, ctx: object) -> str | None:
    """A flag takes no value: its help row says nothing where a value's type would be (`<bool>`)."""
    return None if getattr(self, "is_flag", False) else _shown_type(self, ctx)  # type: ignore[arg-type]


TyperOption.display_type_rich = _flag_type  # type: ignore[method-assign]

WorkspaceOpt = Annotated[
    Path | None, typer.Option("--workspace", "-w", help="Workspace folder (default: $TIERKIT_WORKSPACE, else .)")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
EngineOpt = Annotated[str | None, typer.Option("--engine", help="duckdb (default) or spark.")]


class Lang(StrEnum):
    zh = "zh"
    en = "en"


LangOpt = Annotated[Lang | None, typer.Option("--lang", help="zh or en (default: the workspace's, else zh).")]

MapOpt = Annotated[
    list[str] | None,
    typer.Option("--map", help="COLUMN=canonical, repeatable: which file column is which canonical column."),
]
SheetOpt = Annotated[str | None, typer.Option(help="Excel sheet, by name or 0-based index (default: the first).")]
DelimiterOpt = Annotated[
    str | None,
    typer.Option(help="Text files: ',', ';', '|', '\\t' (tab) or whitespace (runs of spaces); default: sniffed."),
]
DateFormatOpt = Annotated[
    str | None,
    typer.Option("--date-format", help="Dates in another form, strftime-style, e.g. '%d/%m/%Y'; tried first."),
]
