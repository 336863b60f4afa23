"""/app/plans: a month's contact plan per owner and whether it happened (staff).

The figures are tierkit.app.coverage's; the page makes the plan on request (once per month and
run: a plan is kept as made) and offers it as CSV or XLSX, whole or per owner.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from starlette.background import BackgroundTask

from tierkit.app.coverage import PlanMissing, report, write_plan
from tierkit.app.downloads import download
from tierkit.app.plans import make_plan
from tierkit.errors import InputError
from tierkit.web.render import page
from tierkit.web.visitors import FormDep, ServiceDep, StaffDep

router = APIRouter(prefix="/app", include_in_schema=False)


def _this_month() -> str:
    return dt.date.today().strftime("%Y-%m")


@router.get("/plans", response_class=HTMLResponse)
def plans_page(
    request: Request,
    seen: StaffDep,
    served: ServiceDep,
    month: Annotated[str | None, Query(max_length=7)] = None,
) -> HTMLResponse:
    chosen = month or _this_month()
    found, problem, missing = None, None, False
    try:
        found = report(served.workspace.root, chosen)
    except PlanMissing:
        missing = True
    except InputError as err:
        problem = str(err)
    shown: dict[str, Any] = {"month": chosen, "found": found, "problem": problem, "missing": missing}
    return page(request, "plans.html", seen.lang, seen, here="plans", **shown)


@router.post("/plans", response_model=None)
def make_plan_page(seen: StaffDep, served: ServiceDep, form: FormDep) -> RedirectResponse:
    month = str(form.get("month") or "")
    make_plan(served.workspace.root, month)
    served.audit.record(seen.caller.name, seen.role, "plan", month, None, now=True)
    return RedirectResponse(f"/app/plans?month={month}", status_code=303)


@router.get("/plans/{month}.{fmt}", response_model=None)
def plan_download(
    month: str,
    fmt: Literal["csv", "xlsx"],
    seen: StaffDep,
    served: ServiceDep,
    owner: Annotated[str | None, Query(max_length=100)] = None,
) -> FileResponse:
    def write(folder: Path) -> tuple[Path, int]:
        target = folder / f"plan-{month}{'-' + owner if owner else ''}.{fmt}"
        return target, write_plan(served.workspace.root, month, owner or None, target)

    made = download(write)
    served.audit.record(seen.caller.name, seen.role, "export", f"plan.{month}.{fmt}", owner, now=True)
    return FileResponse(
        made.path, media_type=made.media_type, filename=made.path.name, background=BackgroundTask(made.discard)
    )
