"""The overrides in force for a run: which customers a person has put in another tier."""

from __future__ import annotations

from tierkit.runs.files import Run, current_run_id, store_of
from tierkit.workspace import Workspace


def manual_tiers(ws: Workspace, run: Run, customer_id: str | None = None) -> dict[str, str]:
    """customer_id -> the tier a person set, for the overrides in force now. They apply to the
    published run only: an override is today's decision, and an older run shows what was graded
    then."""
    if run.run_id != current_run_id(ws):
        return {}
    from tierkit.store import overrides  # SQLAlchemy loads only when a card or list needs it

    return {k: o.tier for k, o in overrides.active(store_of(ws), customer_id=customer_id).items()}
