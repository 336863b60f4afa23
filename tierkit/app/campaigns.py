"""Campaigns as use cases: draw a segment into treatment and control, and measure the result."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tierkit.app.models import workbook_sheet
from tierkit.app.writing import writing
from tierkit.backends import connect
from tierkit.engine.grade import parse_as_of
from tierkit.errors import InputError, WorkspaceError
from tierkit.ops.campaigns import Campaign, create, load, report
from tierkit.runs.files import load_run
from tierkit.tables.readers import read_table
from tierkit.workspace import Workspace


def create_campaign(
    workspace: Path | None,
    segment: str,
    holdout: float = 0.1,
    seed: int = 1,
    name: str | None = None,
    run: str | None = None,
    strata: str = "tier",
) -> Campaign:
    """Draw the segment's customers of a run (default: the current one) into treatment and a
    control group holding out the same share of every stratum (a stable draw: the same seed
    gives the same groups); recorded."""
    ws = Workspace.open(workspace)
    with writing(ws, "campaign create"):
        return create(ws, load_run(ws, run), segment, holdout, seed, name, strata)


def campaign_report(
    workspace: Path | None,
    campaign_id: str,
    until: str | None = None,
    orders: Path | None = None,
    aa_rounds: int | None = None,
    maps: dict[str, str] | None = None,
    sheet: str | None = None,
) -> dict[str, Any]:
    """Intent-to-treat (adjusted for the pre-period, within strata; raw beside it), delivery and
    the effect on the reached, overall and per tier; with `aa_rounds`, an A/A check too.
    `maps` and `sheet` (--map, --sheet) say how to read `orders`, as in `grade`."""
    ws = Workspace.open(workspace)
    source = orders or ws.data_file("orders")
    if source is None:
        raise WorkspaceError(f"{ws.root}: no orders to measure with; give --orders")
    campaign, day = load(ws, campaign_id), parse_as_of(until) if until else None
    if not maps and sheet is None:
        return report(ws, campaign, source, day, aa_rounds)
    if orders is None:
        raise InputError("--map and --sheet say how to read --orders FILE: give it")
    with _mapped(orders, maps, sheet) as canonical:
        return report(ws, campaign, canonical, day, aa_rounds)


@contextmanager
def _mapped(orders: Path, maps: dict[str, str] | None, sheet: str | None) -> Iterator[Path]:
    """`orders` read with the maps and sheet (strictly: a bad value names its row in `orders`),
    as a canonical Parquet file in a scratch folder removed afterwards; the measuring reads
    canonical files, and knows no maps."""
    engine = connect("duckdb")
    table = read_table(engine, "orders", orders, maps, workbook_sheet(orders, sheet)).table
    with tempfile.TemporaryDirectory(prefix="tierkit-orders-") as folder:
        target = Path(folder) / f"{orders.stem}.parquet"
        engine.write_parquet(table, target)
        yield target
