"""Options shared by the commands, declared once (typer `Annotated` aliases)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

WorkspaceOpt = Annotated[
    Path | None, typer.Option("--workspace", "-w", help="Workspace folder (default: $TIERKIT_WORKSPACE, else .)")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
EngineOpt = Annotated[str | None, typer.Option("--engine", help="duckdb (default) or spark.")]


class Lang(StrEnum):
    zh = "zh"
    en = "en"


LangOpt = Annotated[Lang | None, typer.Option("--lang", help="zh or en (default: the workspace's, else zh).")]
