"""Campaigns as use cases: draw a segment into treatment and control, and measure the result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tierkit.engine.grade import parse_as_of
from tierkit.errors import WorkspaceError
from tierkit.ops.campaigns import Campaign, create, load, report
from tierkit.runs.files import load_run
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
    return create(ws, load_run(ws, run), segment, holdout, seed, name, strata)


def campaign_report(
    workspace: Path | None,
    campaign_id: str,
    until: str | None = None,
    orders: Path | None = None,
    aa_rounds: int | None = None,
) -> dict[str, Any]:
    """Intent-to-treat (adjusted for the pre-period, within strata; raw beside it), delivery and
    the effect on the reached, overall and per tier; with `aa_rounds`, an A/A check too."""
    ws = Workspace.open(workspace)
    source = orders or ws.data_file("orders")
    if source is None:
        raise WorkspaceError(f"{ws.root}: no orders to measure with; give --orders")
    return report(ws, load(ws, campaign_id), source, parse_as_of(until) if until else None, aa_rounds)
