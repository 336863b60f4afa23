"""/plans: a month's contact plan (made once per month and run) and its coverage (staff)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from tierkit.api.deps import STAFF, ServiceDep, allow
from tierkit.app.coverage import report
from tierkit.app.plans import make_plan
from tierkit.errors import InputError, RequestError

router = APIRouter(prefix="/plans", tags=["plans"])


@router.post("/{month}", status_code=201, **allow(*STAFF))
def plan_month(month: str, service: ServiceDep) -> dict[str, Any]:
    """Make the month's plan from the published run (YYYY-MM); one made before is returned as it was."""
    try:
        stored, rows, run, made = make_plan(service.workspace.root, month)
    except InputError as err:
        raise RequestError(str(err)) from err
    return {"month": month, "run_id": run.run_id, "rows": rows, "made": made, "plan": stored.name}


@router.get("/{month}/report", **allow(*STAFF))
def plan_report(
    month: str,
    service: ServiceDep,
    priority: Annotated[list[str] | None, Query(description="Priority classes (default: highest cadence)")] = None,
) -> dict[str, Any]:
    """Planned against logged contacts: `month`, `priority_coverage`, `by_owner`, `by_class`, `never_contacted`."""
    try:
        return report(service.workspace.root, month, priority)
    except InputError as err:
        raise RequestError(str(err)) from err
